// SPDX-License-Identifier: Apache-2.0
// The dynamic batcher: the Scheduler of a model whose config has `dynamic_batching`. Requests wait
// in a priority queue (BatchQueue) until a batch of a preferred size can be formed, the batch is
// full, or the oldest request has waited max_queue_delay; the batch then runs on whichever
// instance is free (GatheredBatch: one gather copy per request, outputs handed back as views).
// A batch of one runs as SingleRequestBatch, without any copy.
//
// The batcher has no thread of its own: it is driven by Enqueue, by the end of each batch and by
// wake-ups it asks its TaskExecutor for, and it reads time only from its Clock. Production uses a
// thread pool with one worker per instance; tests use a fake executor and a fake clock.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/btree_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "core/clock.h"
#include "scheduler/batch_queue.h"
#include "scheduler/gathered_batch.h"
#include "scheduler/scheduler.h"
#include "scheduler/task_executor.h"

namespace inferd {

struct DynamicBatcherOptions {
  std::string model_name;  // For error messages and thread names.
  int64_t model_version = 0;
  // Batch sizes, delay, priority levels and queue policies (its model_name is filled in).
  BatchQueueOptions batching;
  // Deliver responses in the order the requests arrived, whatever instance ran them.
  bool preserve_ordering = false;
  const Clock* clock = Clock::Real();
  // Null: the batcher owns a thread pool with one worker per instance. Otherwise it must outlive
  // the batcher and run the tasks it is given (the batcher's Drain waits for them).
  TaskExecutor* executor = nullptr;
  ExecutionObserver* observer = nullptr;  // May be null; must outlive the batcher.
};

// Use CreateDynamicBatcher(); the class is visible for tests.
//
// Thread safety: Enqueue and PendingCount from any thread; Drain from any thread except the
// executor's (a completion callback). Completion callbacks run on the executor's threads, or on
// the thread of an Enqueue or Drain call that found requests timed out or refused one, never with
// the batcher's lock held. With preserve_ordering they run one at a time, in arrival order.
class DynamicBatcher final : public Scheduler {
 public:
  DynamicBatcher(DynamicBatcherOptions options,
                 std::vector<std::unique_ptr<ModelInstance>> instances);
  ~DynamicBatcher() override;

  DynamicBatcher(const DynamicBatcher&) = delete;
  DynamicBatcher& operator=(const DynamicBatcher&) = delete;

  // Refuses a request at once when its priority level's queue is full (RESOURCE_EXHAUSTED naming
  // the model and max_queue_size) or the batcher is draining (UNAVAILABLE).
  void Enqueue(std::unique_ptr<InferPayload> payload) override;
  // Stops accepting requests, runs every queued one without waiting for its batch to fill, waits
  // for running batches, and stops the owned thread pool. Idempotent.
  void Drain() override;
  int64_t PendingCount() const override;

 private:
  struct Completion {
    uint64_t seq = 0;
    std::unique_ptr<InferPayload> payload;
    absl::Status status;
  };
  struct Job {
    int instance = 0;
    std::vector<BatchQueue::Entry> entries;
  };
  // What a locked step decided, carried out after the lock is released.
  struct Actions {
    std::vector<Job> jobs;
    std::vector<Completion> completions;
    int64_t wake_at_ns = BatchQueue::kNever;
  };
  struct Instance {
    std::unique_ptr<ModelInstance> model;
    GatherBuffers buffers;
  };

  // Applies timeouts, starts batches on free instances, and asks for a wake-up at the next
  // deadline.
  void PumpLocked(Actions& actions) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void Carry(Actions& actions);
  void Pump();
  void RunJob(Job job);
  // Hands completions to their callbacks (in arrival order with preserve_ordering).
  void Deliver(std::vector<Completion> completions);
  bool IdleLocked() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const DynamicBatcherOptions options_;
  std::vector<Instance> instances_;

  // Serializes Drain's shutdown of the owned executor.
  absl::Mutex join_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  std::unique_ptr<TaskExecutor> owned_executor_ ABSL_GUARDED_BY(join_mu_);
  TaskExecutor* executor_;

  mutable absl::Mutex mu_;
  BatchQueue queue_ ABSL_GUARDED_BY(mu_);
  std::vector<int> free_instances_ ABSL_GUARDED_BY(mu_);
  int64_t executing_ ABSL_GUARDED_BY(mu_) = 0;  // Requests in running batches.
  uint64_t next_seq_ ABSL_GUARDED_BY(mu_) = 0;
  int64_t armed_wake_ns_ ABSL_GUARDED_BY(mu_) = BatchQueue::kNever;
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;

  absl::Mutex order_mu_;
  absl::btree_map<uint64_t, Completion> ready_ ABSL_GUARDED_BY(order_mu_);
  uint64_t next_to_deliver_ ABSL_GUARDED_BY(order_mu_) = 0;
  bool delivering_ ABSL_GUARDED_BY(order_mu_) = false;
};

// Checks the options (instances present and not null, max_batch_size >= 0, preferred sizes in
// [1, max_batch_size], one queue policy per priority level, default level in range) and starts
// the batcher. INVALID_ARGUMENT naming the model otherwise.
absl::StatusOr<std::unique_ptr<Scheduler>> CreateDynamicBatcher(
    DynamicBatcherOptions options, std::vector<std::unique_ptr<ModelInstance>> instances);

}  // namespace inferd
