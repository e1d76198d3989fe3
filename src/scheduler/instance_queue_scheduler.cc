// SPDX-License-Identifier: Apache-2.0
#include "scheduler/instance_queue_scheduler.h"

#include <pthread.h>

#include <string>
#include <utility>

#include "absl/status/status.h"
#include "core/moving_average.h"
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
    : options_(std::move(options)),
      instances_(std::move(instances)),
      busy_(instances_.size(), false) {}

InstanceQueueScheduler::~InstanceQueueScheduler() { Drain(); }

void InstanceQueueScheduler::Start() {
  absl::MutexLock lock(&join_mu_);
  workers_.reserve(instances_.size());
  for (size_t i = 0; i < instances_.size(); ++i) {
    workers_.emplace_back([this, i] { WorkerLoop(i); });
  }
}

std::optional<size_t> InstanceQueueScheduler::ClaimInlineInstanceLocked(
    const InferPayload& payload) {
  if (!payload.allow_inline || options_.inline_max_ns <= 0 || !queue_.empty()) return {};
  if (recent_execution_ns_ < 0 || recent_execution_ns_ > options_.inline_max_ns) return {};
  for (size_t i = 0; i < busy_.size(); ++i) {
    if (!busy_[i]) {
      busy_[i] = true;
      return i;
    }
  }
  return {};
}

bool InstanceQueueScheduler::WorkForLocked(size_t instance) const {
  return queue_.empty() ? stopping_ : !busy_[instance];
}

void InstanceQueueScheduler::Enqueue(std::unique_ptr<InferPayload> payload) {
  payload->queue_start_ns = options_.clock->NowNanos();
  std::optional<size_t> instance;
  bool full = false;
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      instance = ClaimInlineInstanceLocked(*payload);
      if (instance) {
        ++executing_;
        ++inline_executing_;
      } else if (options_.max_queue_size > 0 &&
                 static_cast<int64_t>(queue_.size()) >= options_.max_queue_size) {
        full = true;
      } else {
        queue_.push_back(std::move(payload));  // A worker whose instance is free wakes for it.
        return;
      }
    }
  }
  if (full) {
    // Overload is refused at once, as the dynamic batcher's queue policy does.
    InferPayload::Complete(
        std::move(payload),
        absl::ResourceExhaustedError(fmt::format(
            "inference request to model '{}' refused: the queue is full (max_queue_size {})",
            options_.model_name, options_.max_queue_size)));
    return;
  }
  if (!instance) {
    InferPayload::Complete(std::move(payload), absl::UnavailableError(fmt::format(
                                                   "model '{}' version {} is unloading",
                                                   options_.model_name, options_.model_version)));
    return;
  }
  Execute(*instance, std::move(payload));
  absl::MutexLock lock(&mu_);
  --inline_executing_;
}

void InstanceQueueScheduler::Drain() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  {
    absl::MutexLock lock(&join_mu_);
    for (std::thread& worker : workers_) {
      if (worker.joinable()) worker.join();
    }
    workers_.clear();
  }
  // Inline executions finish on their callers' threads, completion callback included.
  absl::MutexLock lock(&mu_);
  auto inline_done = [this]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    mu_.AssertReaderHeld();
    return inline_executing_ == 0;
  };
  mu_.Await(absl::Condition(&inline_done));
}

int64_t InstanceQueueScheduler::PendingCount() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(queue_.size()) + executing_;
}

void InstanceQueueScheduler::Execute(size_t instance, std::unique_ptr<InferPayload> payload) {
  absl::Status status = ExecuteSingleRequest(*instances_[instance], *payload, options_.model_name,
                                             *options_.clock, options_.observer);
  if (!status.ok()) {
    spdlog::debug("model '{}' version {}: request failed: {}", options_.model_name,
                  options_.model_version, status.ToString());
  }
  {
    // The instance is free before the response goes out, so that the client's next request
    // finds it idle (or its worker takes the next queued one).
    absl::MutexLock lock(&mu_);
    busy_[instance] = false;
    --executing_;
    if (options_.inline_max_ns > 0 && status.ok()) {
      recent_execution_ns_ = MovingAverageStep(
          recent_execution_ns_, payload->compute_end_ns - payload->compute_start_ns);
    }
  }
  InferPayload::Complete(std::move(payload), std::move(status));
}

void InstanceQueueScheduler::WorkerLoop(size_t instance) {
  NameCurrentThread(options_.model_name);
  auto work = [this, instance]() ABSL_NO_THREAD_SAFETY_ANALYSIS {
    mu_.AssertReaderHeld();
    return WorkForLocked(instance);
  };
  while (true) {
    std::unique_ptr<InferPayload> payload;
    {
      absl::MutexLock lock(&mu_);
      // Stopping: keep taking work until the queue is empty, then exit.
      mu_.Await(absl::Condition(&work));
      if (queue_.empty()) return;
      payload = std::move(queue_.front());
      queue_.pop_front();
      busy_[instance] = true;
      ++executing_;
    }
    Execute(instance, std::move(payload));
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
