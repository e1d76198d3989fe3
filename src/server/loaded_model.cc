// SPDX-License-Identifier: Apache-2.0
#include "server/loaded_model.h"

#include <malloc.h>

#include <algorithm>
#include <fstream>
#include <string>

#include "fmt/format.h"
#include "repository/model_config.h"
#include "server/classification.h"
#include "server/model_scheduler.h"

namespace inferd {
namespace {

// This process's resident memory (VmRSS in /proc/self/status), in bytes; 0 if unreadable.
int64_t ResidentBytes() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoll(line.substr(6)) * 1024;  // "... kB"
  }
  return 0;
}

}  // namespace

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
  for (const auto& output : config.output()) {
    if (output.label_filename().empty()) continue;
    auto labels = ReadLabelFile(location.model_dir, output.label_filename(), location.model_name,
                                output.name());
    if (!labels.ok()) return labels.status();
    model->labels_.emplace(output.name(), *std::move(labels));
  }
  // Memory the load added: the RSS growth across loading the model and creating its instances
  // (after the plugin was mapped), or what the backend reports, whichever is larger. Loads of
  // other models at the same time blur the RSS figure. A load's transient buffers (a model file
  // parsed and rewritten) are handed back to the system first, so they are neither kept nor
  // counted.
  malloc_trim(0);
  const int64_t rss_before = ResidentBytes();
  auto backend_model = (*backend)->LoadModel(spec);
  if (!backend_model.ok()) return backend_model.status();
  model->backend_model_ = *std::move(backend_model);

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
  malloc_trim(0);
  model->memory_bytes_ =
      std::max(ResidentBytes() - rss_before, model->backend_model_->MemoryBytes());
  ModelSchedulerOptions options;
  options.model_name = location.model_name;
  options.model_version = location.version;
  options.observer = &model->stats_;
  options.inline_max_ns = inline_max_ns_;
  options.max_queue_size_default = max_queue_size_default_;
  // The dynamic batcher when the config has dynamic_batching, else the instance queue.
  auto scheduler = CreateModelScheduler(config, std::move(options), std::move(instances));
  if (!scheduler.ok()) return scheduler.status();
  model->scheduler_ = *std::move(scheduler);
  return model;
}

}  // namespace inferd
