// SPDX-License-Identifier: Apache-2.0
#include "server/loaded_model.h"

#include "fmt/format.h"
#include "repository/model_config.h"

namespace inferd {

LoadedModel::LoadedModel(std::shared_ptr<const inference::ModelConfig> config, int64_t version)
    : config_(std::move(config)), version_(version) {}

LoadedModel::~LoadedModel() {
  if (scheduler_) scheduler_->Drain();
}

void LoadedModel::Drain() {
  if (scheduler_) scheduler_->Drain();
}

absl::StatusOr<std::shared_ptr<Servable>> ModelVersionFactory::Create(
    const inference::ModelConfig& config, const ServableLocation& location) {
  auto backend_name = ResolveBackendName(config.platform(), config.backend());
  if (!backend_name.ok()) return backend_name.status();
  auto backend = loader_->Get(*backend_name);
  if (!backend.ok()) {
    return absl::Status(backend.status().code(),
                        fmt::format("model '{}': {}", location.model_name,
                                    std::string(backend.status().message())));
  }
  ModelSpec spec = ModelSpecFromConfig(config);
  spec.version = location.version;
  spec.model_dir = location.model_dir;
  spec.version_dir = location.version_dir;

  auto model = std::make_shared<LoadedModel>(
      std::make_shared<const inference::ModelConfig>(config), location.version);
  auto backend_model = (*backend)->LoadModel(spec);
  if (!backend_model.ok()) return backend_model.status();
  model->backend_model_ = *std::move(backend_model);
  model->memory_bytes_ = model->backend_model_->MemoryBytes();

  std::vector<std::unique_ptr<ModelInstance>> instances;
  const int count = InstanceCount(config);
  for (int i = 0; i < count; ++i) {
    auto instance = model->backend_model_->CreateInstance(i);
    if (!instance.ok()) {
      return absl::Status(instance.status().code(),
                          fmt::format("model '{}' version {}: instance {}: {}",
                                      location.model_name, location.version, i,
                                      std::string(instance.status().message())));
    }
    instances.push_back(*std::move(instance));
  }
  InstanceQueueSchedulerOptions options;
  options.model_name = location.model_name;
  options.model_version = location.version;
  options.observer = &model->stats_;
  auto scheduler = CreateInstanceQueueScheduler(std::move(options), std::move(instances));
  if (!scheduler.ok()) return scheduler.status();
  model->scheduler_ = *std::move(scheduler);
  return model;
}

}  // namespace inferd
