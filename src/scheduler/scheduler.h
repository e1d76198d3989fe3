// SPDX-License-Identifier: Apache-2.0
// The scheduler of one loaded model version: takes validated requests, queues them, and runs them
// on the model's instances. The first form (InstanceQueueScheduler) runs each request alone on
// whichever instance is free; the dynamic batcher implements the same interface, so transports and
// the server never change when it arrives.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/statusor.h"
#include "core/clock.h"
#include "core/infer_payload.h"
#include "inferd/backend.h"

namespace inferd {

// What one execution of a batch cost, reported once per Execute call.
struct ExecutionRecord {
  int batch_size = 0;
  int64_t compute_input_ns = 0;   // gathering inputs
  int64_t compute_infer_ns = 0;   // the backend's Execute
  int64_t compute_output_ns = 0;  // handing outputs back
  bool ok = true;
};

// Receives execution records; the server implements it to keep statistics. Called from instance
// threads concurrently: implementations must be thread-safe.
class ExecutionObserver {
 public:
  virtual ~ExecutionObserver() = default;
  virtual void OnExecution(const ExecutionRecord& record) = 0;
};

class Scheduler {
 public:
  virtual ~Scheduler() = default;

  // Takes the request. Always finishes it through InferPayload::Complete, on success or failure:
  // a scheduler that is stopping completes it with UNAVAILABLE naming the model. Thread-safe.
  // When payload->allow_inline is set, a scheduler may execute the request on the calling thread
  // and complete it before Enqueue returns.
  virtual void Enqueue(std::unique_ptr<InferPayload> payload) = 0;

  // Stops accepting requests, lets every queued and running request finish, and joins the
  // instance threads. Idempotent. Must not be called from an instance thread (for example from a
  // completion callback).
  virtual void Drain() = 0;

  // Requests queued or executing now.
  virtual int64_t PendingCount() const = 0;
};

struct InstanceQueueSchedulerOptions {
  std::string model_name;  // for error messages and thread names
  int64_t model_version = 0;
  const Clock* clock = Clock::Real();
  ExecutionObserver* observer = nullptr;  // may be null; must outlive the scheduler
  // Inline execution: a request that allows it runs on the calling thread when the queue is
  // empty, an instance is idle, and the model's recent executions took at most this long (a
  // hand-off to an instance thread and back costs more than such an execution). 0: never.
  int64_t inline_max_ns = 0;
  // Requests waiting (not executing) beyond which Enqueue refuses at once with
  // RESOURCE_EXHAUSTED naming the model and the limit. 0: unbounded.
  int64_t max_queue_size = 0;
};

// A per-model FIFO feeding N instances, one thread per instance; each instance runs one request at
// a time, so requests run in parallel up to the instance count. Takes ownership of the instances.
absl::StatusOr<std::unique_ptr<Scheduler>> CreateInstanceQueueScheduler(
    InstanceQueueSchedulerOptions options, std::vector<std::unique_ptr<ModelInstance>> instances);

}  // namespace inferd
