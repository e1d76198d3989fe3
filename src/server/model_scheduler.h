// SPDX-License-Identifier: Apache-2.0
// Picks and builds the scheduler of a loaded model version from its config: the dynamic batcher
// when the config has `dynamic_batching`, else the instance-queue scheduler.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "inferd/backend.h"
#include "model_config.pb.h"
#include "scheduler/dynamic_batcher.h"
#include "scheduler/scheduler.h"

namespace inferd {

// The batcher's settings from `dynamic_batching` and `max_batch_size` (clock, executor and
// observer left at their defaults). Queue policies: priority_queue_policy[level] where given,
// else default_queue_policy.
DynamicBatcherOptions DynamicBatcherOptionsFromConfig(const inference::ModelConfig& config);

struct ModelSchedulerOptions {
  std::string model_name;
  int64_t model_version = 0;
  ExecutionObserver* observer = nullptr;  // May be null; must outlive the scheduler.
  int64_t inline_max_ns = 0;              // InstanceQueueSchedulerOptions::inline_max_ns.
  // The queue bound of a model whose config sets none (0: unbounded). The config's
  // parameters { key: "max_queue_size" value { string_value: "N" } } overrides it for any
  // scheduler ("0": unbounded); with dynamic batching, a queue policy's own max_queue_size wins.
  int64_t max_queue_size_default = 0;
};

// The model's queue bound: its "max_queue_size" parameter when present, else `server_default`.
// INVALID_ARGUMENT when the parameter is not a non-negative integer.
absl::StatusOr<int64_t> MaxQueueSizeFromConfig(const inference::ModelConfig& config,
                                               int64_t server_default);

absl::StatusOr<std::unique_ptr<Scheduler>> CreateModelScheduler(
    const inference::ModelConfig& config, ModelSchedulerOptions options,
    std::vector<std::unique_ptr<ModelInstance>> instances);

}  // namespace inferd
