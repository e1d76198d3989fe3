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
  std::vector<Slot*> slots;
  {
    // slots_ is never resized again, so the pointers stay valid.
    absl::MutexLock lock(&mu_);
    slots_.resize(instances_.size());
    for (size_t i = 0; i < instances_.size(); ++i) {
      slots_[i].instance = instances_[i].get();
      slots.push_back(&slots_[i]);
    }
  }
  absl::MutexLock lock(&join_mu_);
  workers_.reserve(slots.size());
  for (Slot* slot : slots) workers_.emplace_back([this, slot] { WorkerLoop(slot); });
}

InstanceQueueScheduler::Slot* InstanceQueueScheduler::ClaimInlineSlotLocked(
    const InferPayload& payload) {
  if (!payload.allow_inline || options_.inline_max_ns <= 0 || !queue_.empty()) return nullptr;
  if (recent_execution_ns_ < 0 || recent_execution_ns_ > options_.inline_max_ns) return nullptr;
  for (Slot& slot : slots_) {
    if (!slot.busy) {
      slot.busy = true;
      return &slot;
    }
  }
  return nullptr;
}

void InstanceQueueScheduler::Enqueue(std::unique_ptr<InferPayload> payload) {
  payload->queue_start_ns = options_.clock->NowNanos();
  Slot* slot = nullptr;
  ModelInstance* instance = nullptr;
  {
    absl::MutexLock lock(&mu_);
    if (!stopping_) {
      slot = ClaimInlineSlotLocked(*payload);
      if (slot == nullptr) {
        queue_.push_back(std::move(payload));
        // A worker whose instance runs inline ignores the queue: wake them all then, so that one
        // with an idle instance takes the request.
        if (inline_executing_ > 0) {
          work_available_.SignalAll();
        } else {
          work_available_.Signal();
        }
        return;
      }
      instance = slot->instance;
      ++executing_;
      ++inline_executing_;
    }
  }
  if (slot == nullptr) {
    InferPayload::Complete(std::move(payload), absl::UnavailableError(fmt::format(
                                                   "model '{}' version {} is unloading",
                                                   options_.model_name, options_.model_version)));
    return;
  }
  Execute(*instance, slot, std::move(payload), /*is_inline=*/true);
  absl::MutexLock lock(&mu_);
  --inline_executing_;
  if (stopping_ && inline_executing_ == 0) inline_done_.SignalAll();
}

void InstanceQueueScheduler::Drain() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    work_available_.SignalAll();
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
  while (inline_executing_ > 0) inline_done_.Wait(&mu_);
}

int64_t InstanceQueueScheduler::PendingCount() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(queue_.size()) + executing_;
}

void InstanceQueueScheduler::Execute(ModelInstance& instance, Slot* slot,
                                     std::unique_ptr<InferPayload> payload, bool is_inline) {
  absl::Status status = ExecuteSingleRequest(instance, *payload, options_.model_name,
                                             *options_.clock, options_.observer);
  if (!status.ok()) {
    spdlog::debug("model '{}' version {}: request failed: {}", options_.model_name,
                  options_.model_version, status.ToString());
  }
  const int64_t duration = payload->compute_end_ns - payload->compute_start_ns;
  {
    // The instance is free before the response goes out, so that the client's next request
    // finds it idle. A worker takes the next queued request itself; after an inline execution,
    // the instance's worker may have to.
    absl::MutexLock lock(&mu_);
    slot->busy = false;
    --executing_;
    recent_execution_ns_ = recent_execution_ns_ < 0
                               ? duration
                               : recent_execution_ns_ + (duration - recent_execution_ns_) / 8;
    if (is_inline && !queue_.empty()) work_available_.SignalAll();
  }
  InferPayload::Complete(std::move(payload), std::move(status));
}

void InstanceQueueScheduler::WorkerLoop(Slot* slot) {
  NameCurrentThread(options_.model_name);
  while (true) {
    std::unique_ptr<InferPayload> payload;
    {
      absl::MutexLock lock(&mu_);
      // Work is there for this worker when its instance is not running a request inline.
      // Stopping: keep taking work until the queue is empty, then exit.
      while (!(!queue_.empty() && !slot->busy) && !(stopping_ && queue_.empty())) {
        work_available_.Wait(&mu_);
      }
      if (queue_.empty()) return;
      payload = std::move(queue_.front());
      queue_.pop_front();
      slot->busy = true;
      ++executing_;
    }
    Execute(*slot->instance, slot, std::move(payload), /*is_inline=*/false);
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
