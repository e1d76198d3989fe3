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
// (a completion callback). Completion callbacks run on the worker thread that executed the request
// (or on the caller's thread when Enqueue refuses it), never with the scheduler's lock held.
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
  void WorkerLoop(ModelInstance* instance);

  const InstanceQueueSchedulerOptions options_;
  const std::vector<std::unique_ptr<ModelInstance>> instances_;

  mutable absl::Mutex mu_;
  absl::CondVar work_available_;
  std::deque<std::unique_ptr<InferPayload>> queue_ ABSL_GUARDED_BY(mu_);
  int64_t executing_ ABSL_GUARDED_BY(mu_) = 0;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  // Serializes Drain's joins, so a second Drain waits for the first to finish.
  absl::Mutex join_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  std::vector<std::thread> workers_ ABSL_GUARDED_BY(join_mu_);
};

}  // namespace inferd
