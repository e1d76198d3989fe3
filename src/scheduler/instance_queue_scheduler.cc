// SPDX-License-Identifier: Apache-2.0
#include "scheduler/instance_queue_scheduler.h"

#include <pthread.h>

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "scheduler/single_request_batch.h"
#include "spdlog/spdlog.h"

namespace inferd {
namespace {

// Linux limits thread names to 15 characters.
constexpr size_t kMaxThreadNameLength = 15;

void NameCurrentThread(const std::string& model_name) {
  std::string name = fmt::format("inferd-{}", model_name);
  if (name.size() > kMaxThreadNameLength) name.resize(kMaxThreadNameLength);
  pthread_setname_np(pthread_self(), name.c_str());
}

}  // namespace

InstanceQueueScheduler::InstanceQueueScheduler(
    InstanceQueueSchedulerOptions options, std::vector<std::unique_ptr<ModelInstance>> instances)
    : options_(std::move(options)), instances_(std::move(instances)) {}

InstanceQueueScheduler::~InstanceQueueScheduler() { Drain(); }

void InstanceQueueScheduler::Start() {
  absl::MutexLock lock(&join_mu_);
  workers_.reserve(instances_.size());
  for (const auto& instance : instances_) {
    workers_.emplace_back([this, raw = instance.get()] { WorkerLoop(raw); });
  }
}

void InstanceQueueScheduler::Enqueue(std::unique_ptr<InferPayload> payload) {
  payload->queue_start_ns = options_.clock->NowNanos();
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      queue_.push_back(std::move(payload));
      work_available_.Signal();
      return;
    }
  }
  InferPayload::Complete(std::move(payload), absl::UnavailableError(fmt::format(
                                                 "model '{}' version {} is unloading",
                                                 options_.model_name, options_.model_version)));
}

void InstanceQueueScheduler::Drain() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    work_available_.SignalAll();
  }
  absl::MutexLock lock(&join_mu_);
  for (std::thread& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
  workers_.clear();
}

int64_t InstanceQueueScheduler::PendingCount() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(queue_.size()) + executing_;
}

void InstanceQueueScheduler::WorkerLoop(ModelInstance* instance) {
  NameCurrentThread(options_.model_name);
  while (true) {
    std::unique_ptr<InferPayload> payload;
    {
      absl::MutexLock lock(&mu_);
      while (queue_.empty() && !stopping_) work_available_.Wait(&mu_);
      // Stopping: keep taking work until the queue is empty, then exit.
      if (queue_.empty()) return;
      payload = std::move(queue_.front());
      queue_.pop_front();
      ++executing_;
    }

    absl::Status status = ExecuteSingleRequest(*instance, *payload, options_.model_name,
                                               *options_.clock, options_.observer);
    if (!status.ok()) {
      spdlog::debug("model '{}' version {}: request failed: {}", options_.model_name,
                    options_.model_version, status.ToString());
    }
    InferPayload::Complete(std::move(payload), std::move(status));

    absl::MutexLock lock(&mu_);
    --executing_;
  }
}

absl::StatusOr<std::unique_ptr<Scheduler>> CreateInstanceQueueScheduler(
    InstanceQueueSchedulerOptions options, std::vector<std::unique_ptr<ModelInstance>> instances) {
  if (instances.empty()) {
    return absl::InvalidArgumentError(
        fmt::format("model '{}' has no instances to schedule on", options.model_name));
  }
  for (const auto& instance : instances) {
    if (instance == nullptr) {
      return absl::InvalidArgumentError(
          fmt::format("model '{}' has a null instance", options.model_name));
    }
  }
  if (options.clock == nullptr) options.clock = Clock::Real();
  auto scheduler =
      std::make_unique<InstanceQueueScheduler>(std::move(options), std::move(instances));
  scheduler->Start();
  return scheduler;
}

}  // namespace inferd
