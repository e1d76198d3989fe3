// SPDX-License-Identifier: Apache-2.0
// One loaded model version as the server runs it: the backend's model, its instances behind a
// scheduler, its config and statistics. Built by ModelVersionFactory for the lifecycle.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "backends/backend_loader.h"
#include "model_config.pb.h"
#include "repository/model_lifecycle.h"
#include "scheduler/scheduler.h"
#include "server/model_stats.h"

namespace inferd {

class LoadedModel final : public Servable {
 public:
  LoadedModel(std::shared_ptr<const inference::ModelConfig> config, int64_t version);
  ~LoadedModel() override;

  void Drain() override;

  const inference::ModelConfig& config() const { return *config_; }
  int64_t version() const { return version_; }
  Scheduler& scheduler() { return *scheduler_; }
  ModelStatsRecorder& stats() { return stats_; }
  int64_t memory_bytes() const { return memory_bytes_; }
  int64_t MemoryBytes() const override { return memory_bytes_; }
  // The labels of an output with a label_filename (one per class index), or null.
  const std::vector<std::string>* Labels(std::string_view output) const {
    auto it = labels_.find(output);
    return it == labels_.end() ? nullptr : &it->second;
  }

 private:
  friend class ModelVersionFactory;
  std::shared_ptr<const inference::ModelConfig> config_;
  int64_t version_;
  ModelStatsRecorder stats_;  // Outlives the scheduler (declared before it), which reports to it.
  std::unique_ptr<BackendModel> backend_model_;
  std::unique_ptr<Scheduler> scheduler_;  // Declared after the model: destroyed first.
  int64_t memory_bytes_ = 0;
  std::map<std::string, std::vector<std::string>, std::less<>> labels_;  // By output name.
};

// Builds LoadedModels: resolves the backend from platform/backend, reads the outputs' label files
// (classification.h), loads the model through the plugin, creates instance_group count instances
// and their scheduler.
class ModelVersionFactory final : public ServableFactory {
 public:
  // inline_max_ns: InstanceQueueSchedulerOptions::inline_max_ns for every model;
  // max_queue_size_default: ModelSchedulerOptions::max_queue_size_default.
  ModelVersionFactory(BackendLoader* loader, int64_t inline_max_ns,
                      int64_t max_queue_size_default = 0)
      : loader_(loader),
        inline_max_ns_(inline_max_ns),
        max_queue_size_default_(max_queue_size_default) {}
  absl::StatusOr<std::shared_ptr<Servable>> Create(const inference::ModelConfig& config,
                                                   const ServableLocation& location) override;

 private:
  BackendLoader* loader_;
  int64_t inline_max_ns_;
  int64_t max_queue_size_default_;
};

}  // namespace inferd
