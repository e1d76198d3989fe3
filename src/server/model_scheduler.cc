// SPDX-License-Identifier: Apache-2.0
#include "server/model_scheduler.h"

#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "core/client_text.h"
#include "fmt/format.h"
#include "scheduler/instance_queue_scheduler.h"

namespace inferd {
namespace {

QueuePolicy ToQueuePolicy(const inference::ModelQueuePolicy& policy) {
  QueuePolicy out;
  out.delay_on_timeout = policy.timeout_action() == inference::ModelQueuePolicy::DELAY;
  out.default_timeout_us = static_cast<int64_t>(policy.default_timeout_microseconds());
  out.allow_timeout_override = policy.allow_timeout_override();
  out.max_queue_size = policy.max_queue_size();
  return out;
}

}  // namespace

DynamicBatcherOptions DynamicBatcherOptionsFromConfig(const inference::ModelConfig& config) {
  const inference::ModelDynamicBatching& db = config.dynamic_batching();
  DynamicBatcherOptions options;
  options.model_name = config.name();
  options.preserve_ordering = db.preserve_ordering();
  BatchQueueOptions& batching = options.batching;
  batching.max_batch_size = config.max_batch_size();
  batching.preferred_batch_sizes.assign(db.preferred_batch_size().begin(),
                                        db.preferred_batch_size().end());
  batching.max_queue_delay_ns = static_cast<int64_t>(db.max_queue_delay_microseconds()) * 1000;
  batching.priority_levels = static_cast<int>(db.priority_levels());
  batching.default_priority_level = static_cast<int>(db.default_priority_level());
  const QueuePolicy default_policy = ToQueuePolicy(db.default_queue_policy());
  batching.level_policies.clear();
  const int levels = batching.priority_levels > 0 ? batching.priority_levels : 1;
  for (int level = 1; level <= levels; ++level) {
    auto it = db.priority_queue_policy().find(static_cast<uint64_t>(level));
    batching.level_policies.push_back(
        batching.priority_levels > 0 && it != db.priority_queue_policy().end()
            ? ToQueuePolicy(it->second)
            : default_policy);
  }
  return options;
}

absl::StatusOr<int64_t> MaxQueueSizeFromConfig(const inference::ModelConfig& config,
                                               int64_t server_default) {
  auto it = config.parameters().find("max_queue_size");
  if (it == config.parameters().end()) return server_default;
  const std::string& text = it->second.string_value();
  int64_t value = 0;
  if (!absl::SimpleAtoi(text, &value) || value < 0) {
    return absl::InvalidArgumentError(fmt::format(
        "model '{}': parameter max_queue_size must be a non-negative integer, got {}",
        config.name(), QuoteClientText(text)));
  }
  return value;
}

absl::StatusOr<std::unique_ptr<Scheduler>> CreateModelScheduler(
    const inference::ModelConfig& config, ModelSchedulerOptions options,
    std::vector<std::unique_ptr<ModelInstance>> instances) {
  auto max_queue_size = MaxQueueSizeFromConfig(config, options.max_queue_size_default);
  if (!max_queue_size.ok()) return max_queue_size.status();
  if (config.has_dynamic_batching()) {
    DynamicBatcherOptions batcher = DynamicBatcherOptionsFromConfig(config);
    // A queue policy without its own bound gets the model's.
    for (QueuePolicy& policy : batcher.batching.level_policies) {
      if (policy.max_queue_size == 0) policy.max_queue_size = *max_queue_size;
    }
    batcher.model_name = options.model_name;
    batcher.model_version = options.model_version;
    batcher.observer = options.observer;
    return CreateDynamicBatcher(std::move(batcher), std::move(instances));
  }
  InstanceQueueSchedulerOptions queue;
  queue.model_name = options.model_name;
  queue.model_version = options.model_version;
  queue.observer = options.observer;
  queue.inline_max_ns = options.inline_max_ns;
  queue.max_queue_size = *max_queue_size;
  return CreateInstanceQueueScheduler(std::move(queue), std::move(instances));
}

}  // namespace inferd
