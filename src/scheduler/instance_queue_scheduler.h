// SPDX-License-Identifier: Apache-2.0
// The first form of scheduling: one FIFO per model version feeding one worker thread per model
// instance. Each worker takes the oldest request and runs it alone (SingleRequestBatch), so
// requests run in parallel up to the instance count and never two at once on one instance.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/synchronization/mutex.h"
#include "scheduler/scheduler.h"

namespace inferd {

// Use CreateInstanceQueueScheduler() (scheduler.h); the class is visible for the batcher and tests.
//
// Thread safety: Enqueue and PendingCount from any thread; Drain from any thread except a worker
// (a completion callback). Completion callbacks run on the thread that executed the request (a
// worker, or the caller's for an inline execution) or on the caller's thread when Enqueue refuses
// it, never with the scheduler's lock held.
//
// Inline execution (options.inline_max_ns > 0, payload.allow_inline): when nothing is queued, an
// instance is idle and the model's recent executions were short, Enqueue claims the instance and
// runs the request on the calling thread. The instance's worker leaves the queue to the others
// until the inline execution ends.
class InstanceQueueScheduler : public Scheduler {
 public:
  InstanceQueueScheduler(InstanceQueueSchedulerOptions options,
                         std::vector<std::unique_ptr<ModelInstance>> instances);
  ~InstanceQueueScheduler() override;

  InstanceQueueScheduler(const InstanceQueueScheduler&) = delete;
  InstanceQueueScheduler& operator=(const InstanceQueueScheduler&) = delete;

  // Starts one worker per instance. Called once, by the factory.
  void Start();

  void Enqueue(std::unique_ptr<InferPayload> payload) override;
  void Drain() override;
  int64_t PendingCount() const override;

 private:
  void WorkerLoop(size_t instance);
  // Runs one request on an instance, frees it, updates the execution-time estimate and completes
  // the request.
  void Execute(size_t instance, std::unique_ptr<InferPayload> payload);
  // An idle instance for an inline execution of `payload`, marked busy; nullopt when it must
  // queue.
  std::optional<size_t> ClaimInlineInstanceLocked(const InferPayload& payload)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // A worker's wait condition: a queued request and its instance free, or stopping with nothing
  // queued.
  bool WorkForLocked(size_t instance) const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const InstanceQueueSchedulerOptions options_;
  const std::vector<std::unique_ptr<ModelInstance>> instances_;

  // Waiters use absl::Condition (mu_.Await), so each wakes when its own condition holds.
  mutable absl::Mutex mu_;
  std::deque<std::unique_ptr<InferPayload>> queue_ ABSL_GUARDED_BY(mu_);
  // Per instance: executing, on its worker or inline.
  std::vector<bool> busy_ ABSL_GUARDED_BY(mu_);
  int64_t executing_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t inline_executing_ ABSL_GUARDED_BY(mu_) = 0;
  // Moving average of recent successful executions' duration (MovingAverageStep); -1 until the
  // first one. Kept only when inline execution is on.
  int64_t recent_execution_ns_ ABSL_GUARDED_BY(mu_) = -1;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  // Serializes Drain's joins, so a second Drain waits for the first to finish.
  absl::Mutex join_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  std::vector<std::thread> workers_ ABSL_GUARDED_BY(join_mu_);
};

}  // namespace inferd
