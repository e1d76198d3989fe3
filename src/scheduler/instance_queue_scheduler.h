// SPDX-License-Identifier: Apache-2.0
// The first form of scheduling: one FIFO per model version feeding one worker thread per model
// instance. Each worker takes the oldest request and runs it alone (SingleRequestBatch), so
// requests run in parallel up to the instance count and never two at once on one instance.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
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
  struct Slot {
    ModelInstance* instance = nullptr;
    bool busy = false;  // Executing, on its worker or inline.
  };

  void WorkerLoop(Slot* slot);
  // Runs one request on the slot's instance, frees the slot, updates the execution-time estimate
  // and completes the request.
  void Execute(ModelInstance& instance, Slot* slot, std::unique_ptr<InferPayload> payload,
               bool is_inline);
  // An idle slot for an inline execution of `payload`, marked busy; null when it must queue.
  Slot* ClaimInlineSlotLocked(const InferPayload& payload) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const InstanceQueueSchedulerOptions options_;
  const std::vector<std::unique_ptr<ModelInstance>> instances_;

  mutable absl::Mutex mu_;
  absl::CondVar work_available_;
  absl::CondVar inline_done_;  // inline_executing_ fell to 0 while stopping.
  std::deque<std::unique_ptr<InferPayload>> queue_ ABSL_GUARDED_BY(mu_);
  std::vector<Slot> slots_ ABSL_GUARDED_BY(mu_);  // One per instance; sized once, in Start.
  int64_t executing_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t inline_executing_ ABSL_GUARDED_BY(mu_) = 0;
  // Moving average of recent executions' duration; -1 until the first one.
  int64_t recent_execution_ns_ ABSL_GUARDED_BY(mu_) = -1;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  // Serializes Drain's joins, so a second Drain waits for the first to finish.
  absl::Mutex join_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  std::vector<std::thread> workers_ ABSL_GUARDED_BY(join_mu_);
};

}  // namespace inferd
