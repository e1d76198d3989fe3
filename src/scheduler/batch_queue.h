// SPDX-License-Identifier: Apache-2.0
// The dynamic batcher's queue: requests by priority level, each level with its queue policy
// (max_queue_size, timeouts), and the rule that says which requests form the next batch and when.
// A plain data structure: no threads, no clock of its own (every call is given the time), not
// thread-safe; DynamicBatcher holds it under its lock.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/btree_set.h"
#include "absl/status/status.h"
#include "core/infer_payload.h"

namespace inferd {

// Triton's ModelQueuePolicy.
struct QueuePolicy {
  // On timeout: false rejects the request (DEADLINE_EXCEEDED); true keeps it, behind every request
  // of its level that has not timed out (timeout_action DELAY).
  bool delay_on_timeout = false;
  int64_t default_timeout_us = 0;  // 0: no timeout.
  // Whether a request's "timeout" parameter may shorten the default (never lengthen it; with no
  // default any request timeout applies). When false the parameter is ignored, as in Triton.
  bool allow_timeout_override = false;
  int64_t max_queue_size = 0;  // Requests queued at this level, timed-out ones included; 0: no limit.
};

struct BatchQueueOptions {
  std::string model_name;  // For error messages.
  // 0: the model does not batch and every batch is one request.
  int max_batch_size = 0;
  // Batch sizes (in batch elements) to form when possible; each in [1, max_batch_size].
  std::vector<int> preferred_batch_sizes;
  // How long the oldest request may wait for others to join its batch.
  int64_t max_queue_delay_ns = 0;
  // Levels 1..priority_levels, 1 the highest; 0 means a single level and request priorities are
  // ignored. A request's priority 0 or above priority_levels gets default_priority_level.
  int priority_levels = 0;
  int default_priority_level = 0;
  // One policy per level (index level-1), or one entry when priority_levels is 0.
  std::vector<QueuePolicy> level_policies = {QueuePolicy{}};
};

class BatchQueue {
 public:
  static constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

  struct Entry {
    uint64_t seq = 0;  // Arrival order; the caller's numbering, increasing.
    std::unique_ptr<InferPayload> payload;
    int64_t enqueue_ns = 0;
    int64_t expiry_ns = 0;  // 0: no timeout (or already timed out and delayed).
  };

  explicit BatchQueue(BatchQueueOptions options);

  // Queues `payload` (its priority and timeout_micros are read). RESOURCE_EXHAUSTED naming the
  // model and the limit when its level is full; then `payload` is left with the caller.
  absl::Status Push(std::unique_ptr<InferPayload>& payload, uint64_t seq, int64_t now_ns);

  // Applies timeouts at `now_ns`: requests of REJECT levels whose time has come are removed and
  // appended to `rejected`; those of DELAY levels move behind the level's other requests.
  void ExpireTimedOut(int64_t now_ns, std::vector<Entry>* rejected);

  // The next batch to run at `now_ns`, or an empty vector when it should wait. The head is the
  // first request in priority order (level by level; within a level, arrival order, timed-out
  // DELAY requests last); the batch is the head and the requests after it whose inputs have the
  // same shapes (except the batch dimension), in that order, while they fit in max_batch_size.
  // Requests of other shapes keep their places. Of that batch:
  //   - the longest prefix whose size is a preferred batch size runs at once;
  //   - otherwise all of it runs when it cannot grow (max_batch_size reached, or the next
  //     compatible request does not fit), when the oldest queued request has waited
  //     max_queue_delay, or when `flush` is set (draining);
  //   - otherwise it waits.
  std::vector<Entry> TakeBatch(int64_t now_ns, bool flush);

  // The earliest time at which ExpireTimedOut or TakeBatch may act differently: the earliest
  // timeout, and (when `include_delay`) the moment the oldest request's queue delay runs out.
  int64_t NextDeadline(bool include_delay) const;

  // Requests queued, timed-out DELAY ones included.
  int64_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  // The 1-based level a request of this priority goes to.
  int LevelFor(int64_t priority) const;

 private:
  struct Level {
    QueuePolicy policy;
    absl::btree_map<uint64_t, Entry> waiting;  // By arrival.
    absl::btree_map<uint64_t, Entry> delayed;  // Timed out under DELAY, by arrival.
    int64_t size() const { return static_cast<int64_t>(waiting.size() + delayed.size()); }
  };

  // Batch elements of a request.
  int BatchSizeOf(const InferPayload& payload) const;
  int64_t OldestEnqueueNs() const;

  BatchQueueOptions options_;
  std::vector<Level> levels_;  // Index level-1.
  // (expiry_ns, seq, level index) of waiting requests with a timeout.
  absl::btree_set<std::tuple<int64_t, uint64_t, int>> expiries_;
  int64_t size_ = 0;
};

// Whether two requests may share a batch: the same inputs in the same order, each with the same
// datatype and the same shape after the batch dimension (the whole shape when `batched` is false).
bool SameInputShapes(const InferPayload& a, const InferPayload& b, bool batched);

}  // namespace inferd
