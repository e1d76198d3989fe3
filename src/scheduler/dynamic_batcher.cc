// SPDX-License-Identifier: Apache-2.0
#include "scheduler/dynamic_batcher.h"

#include <algorithm>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "absl/status/status.h"
#include "fmt/format.h"
#include "scheduler/single_request_batch.h"
#include "spdlog/spdlog.h"

namespace inferd {

DynamicBatcher::DynamicBatcher(DynamicBatcherOptions options,
                               std::vector<std::unique_ptr<ModelInstance>> instances)
    : options_(std::move(options)), executor_(options_.executor), queue_(options_.batching) {
  instances_.resize(instances.size());
  for (size_t i = 0; i < instances.size(); ++i) {
    instances_[i].model = std::move(instances[i]);
    // Popped from the back: instance 0 runs first when all are free.
    free_instances_.push_back(static_cast<int>(instances.size() - 1 - i));
  }
  if (executor_ == nullptr) {
    ThreadPoolExecutorOptions pool;
    pool.name = fmt::format("inferd-{}", options_.model_name);
    pool.threads = static_cast<int>(instances_.size());
    pool.clock = options_.clock;
    absl::MutexLock lock(&join_mu_);
    owned_executor_ = CreateThreadPoolExecutor(std::move(pool));
    executor_ = owned_executor_.get();
  }
}

DynamicBatcher::~DynamicBatcher() { Drain(); }

void DynamicBatcher::Enqueue(std::unique_ptr<InferPayload> payload) {
  Actions actions;
  absl::Status refused;
  {
    absl::MutexLock lock(&mu_);
    const int64_t now = options_.clock->NowNanos();
    payload->queue_start_ns = now;
    if (stopping_) {
      refused = absl::UnavailableError(fmt::format("model '{}' version {} is unloading",
                                                   options_.model_name, options_.model_version));
    } else {
      // Timed-out requests leave first, so they never hold a place a new request could take.
      PumpLocked(actions);
      refused = queue_.Push(payload, next_seq_, now);
      if (refused.ok()) {
        ++next_seq_;
        PumpLocked(actions);
      }
    }
  }
  if (!refused.ok()) {
    spdlog::debug("{}", std::string(refused.message()));
    InferPayload::Complete(std::move(payload), std::move(refused));
  }
  Carry(actions);
}

void DynamicBatcher::PumpLocked(Actions& actions) {
  const int64_t now = options_.clock->NowNanos();
  // A wake-up that is due no longer guards anything: the next deadline may be armed again.
  if (armed_wake_ns_ <= now) armed_wake_ns_ = BatchQueue::kNever;

  std::vector<BatchQueue::Entry> expired;
  queue_.ExpireTimedOut(now, &expired);
  for (BatchQueue::Entry& entry : expired) {
    const int64_t waited_us = (now - entry.enqueue_ns) / 1000;
    const int64_t timeout_us = (entry.expiry_ns - entry.enqueue_ns) / 1000;
    actions.completions.push_back(
        {entry.seq, std::move(entry.payload),
         absl::DeadlineExceededError(fmt::format(
             "inference request to model '{}' timed out after waiting {} us in the queue "
             "(timeout {} us)",
             options_.model_name, waited_us, timeout_us))});
  }

  while (!free_instances_.empty()) {
    std::vector<BatchQueue::Entry> batch = queue_.TakeBatch(now, /*flush=*/stopping_);
    if (batch.empty()) break;
    Job job;
    job.instance = free_instances_.back();
    free_instances_.pop_back();
    executing_ += static_cast<int64_t>(batch.size());
    job.entries = std::move(batch);
    actions.jobs.push_back(std::move(job));
  }

  // The queue delay only matters while an instance is free to take the batch; otherwise the end
  // of a running batch pumps again.
  const int64_t next = queue_.NextDeadline(/*include_delay=*/!free_instances_.empty());
  if (next < armed_wake_ns_) {
    armed_wake_ns_ = next;
    actions.wake_at_ns = next;
  }
}

void DynamicBatcher::Carry(Actions& actions) {
  if (actions.wake_at_ns != BatchQueue::kNever) {
    executor_->RunAt(actions.wake_at_ns, [this] { Pump(); });
  }
  if (!actions.completions.empty()) Deliver(std::move(actions.completions));
  for (Job& job : actions.jobs) {
    executor_->Run([this, job = std::move(job)]() mutable { RunJob(std::move(job)); });
  }
}

void DynamicBatcher::Pump() {
  Actions actions;
  {
    absl::MutexLock lock(&mu_);
    PumpLocked(actions);
  }
  Carry(actions);
}

void DynamicBatcher::RunJob(Job job) {
  Instance& instance = instances_[static_cast<size_t>(job.instance)];
  const size_t n = job.entries.size();
  std::vector<Completion> done;
  done.reserve(n);
  if (n == 1) {
    InferPayload& payload = *job.entries[0].payload;
    absl::Status status = ExecuteSingleRequest(*instance.model, payload, options_.model_name,
                                               *options_.clock, options_.observer);
    done.push_back({job.entries[0].seq, std::move(job.entries[0].payload), std::move(status)});
  } else {
    absl::InlinedVector<InferPayload*, 32> payloads;
    for (BatchQueue::Entry& entry : job.entries) payloads.push_back(entry.payload.get());
    std::vector<absl::Status> statuses =
        ExecuteGatheredBatch(*instance.model, payloads, options_.model_name, *options_.clock,
                             options_.observer, instance.buffers);
    for (size_t i = 0; i < n; ++i) {
      done.push_back({job.entries[i].seq, std::move(job.entries[i].payload),
                      std::move(statuses[i])});
    }
  }
  for (const Completion& c : done) {
    if (!c.status.ok()) {
      spdlog::debug("model '{}' version {}: request failed: {}", options_.model_name,
                    options_.model_version, c.status.ToString());
    }
  }
  Deliver(std::move(done));

  Actions actions;
  {
    absl::MutexLock lock(&mu_);
    free_instances_.push_back(job.instance);
    executing_ -= static_cast<int64_t>(n);
    PumpLocked(actions);
  }
  Carry(actions);
}

void DynamicBatcher::Deliver(std::vector<Completion> completions) {
  if (!options_.preserve_ordering) {
    for (Completion& c : completions) {
      InferPayload::Complete(std::move(c.payload), std::move(c.status));
    }
    return;
  }
  {
    absl::MutexLock lock(&order_mu_);
    for (Completion& c : completions) ready_.emplace(c.seq, std::move(c));
    // Another thread is delivering: it will deliver these too, in order.
    if (delivering_) return;
    delivering_ = true;
  }
  std::vector<Completion> next;
  while (true) {
    {
      absl::MutexLock lock(&order_mu_);
      for (auto it = ready_.begin(); it != ready_.end() && it->first == next_to_deliver_;
           it = ready_.erase(it)) {
        next.push_back(std::move(it->second));
        ++next_to_deliver_;
      }
      if (next.empty()) {
        delivering_ = false;
        return;
      }
    }
    for (Completion& c : next) InferPayload::Complete(std::move(c.payload), std::move(c.status));
    next.clear();
  }
}

bool DynamicBatcher::IdleLocked() const { return queue_.empty() && executing_ == 0; }

void DynamicBatcher::Drain() {
  Actions actions;
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
    PumpLocked(actions);
  }
  Carry(actions);
  {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(this, &DynamicBatcher::IdleLocked));
  }
  absl::MutexLock lock(&join_mu_);
  owned_executor_.reset();
}

int64_t DynamicBatcher::PendingCount() const {
  absl::MutexLock lock(&mu_);
  return queue_.size() + executing_;
}

absl::StatusOr<std::unique_ptr<Scheduler>> CreateDynamicBatcher(
    DynamicBatcherOptions options, std::vector<std::unique_ptr<ModelInstance>> instances) {
  const std::string& model = options.model_name;
  auto invalid = [&](const std::string& what) {
    return absl::InvalidArgumentError(fmt::format("model '{}': {}", model, what));
  };
  if (instances.empty()) {
    return absl::InvalidArgumentError(
        fmt::format("model '{}' has no instances to schedule on", model));
  }
  for (const auto& instance : instances) {
    if (instance == nullptr) return invalid("null model instance");
  }
  BatchQueueOptions& batching = options.batching;
  batching.model_name = model;
  if (batching.max_batch_size < 0) {
    return invalid(fmt::format("max_batch_size {} must be >= 0", batching.max_batch_size));
  }
  for (int size : batching.preferred_batch_sizes) {
    if (size < 1 || size > std::max(1, batching.max_batch_size)) {
      return invalid(fmt::format(
          "dynamic_batching.preferred_batch_size {} must be between 1 and max_batch_size ({})",
          size, batching.max_batch_size));
    }
  }
  if (batching.max_queue_delay_ns < 0) {
    return invalid("dynamic_batching.max_queue_delay_microseconds must be >= 0");
  }
  const size_t levels = static_cast<size_t>(std::max(1, batching.priority_levels));
  if (batching.priority_levels < 0 || batching.level_policies.size() != levels) {
    return invalid(fmt::format("{} queue policies for {} priority levels",
                               batching.level_policies.size(), levels));
  }
  if (batching.priority_levels > 0 && (batching.default_priority_level < 1 ||
                                       batching.default_priority_level > batching.priority_levels)) {
    return invalid(fmt::format(
        "dynamic_batching.default_priority_level {} must be between 1 and priority_levels ({})",
        batching.default_priority_level, batching.priority_levels));
  }
  if (options.clock == nullptr) options.clock = Clock::Real();
  return std::make_unique<DynamicBatcher>(std::move(options), std::move(instances));
}

}  // namespace inferd
