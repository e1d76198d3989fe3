// SPDX-License-Identifier: Apache-2.0
#include "scheduler/batch_queue.h"

#include <algorithm>
#include <utility>

#include "absl/container/inlined_vector.h"
#include "fmt/format.h"

namespace inferd {

bool SameInputShapes(const InferPayload& a, const InferPayload& b, bool batched) {
  if (a.inputs.size() != b.inputs.size()) return false;
  for (size_t i = 0; i < a.inputs.size(); ++i) {
    const TensorView& x = a.inputs[i];
    const TensorView& y = b.inputs[i];
    if (x.name != y.name || x.datatype != y.datatype || x.shape.size() != y.shape.size()) {
      return false;
    }
    const size_t first = batched && !x.shape.empty() ? 1 : 0;
    if (!std::equal(x.shape.begin() + first, x.shape.end(), y.shape.begin() + first)) return false;
  }
  return true;
}

BatchQueue::BatchQueue(BatchQueueOptions options) : options_(std::move(options)) {
  const int count = std::max(1, options_.priority_levels);
  levels_.resize(static_cast<size_t>(count));
  for (int i = 0; i < count; ++i) {
    if (static_cast<size_t>(i) < options_.level_policies.size()) {
      levels_[static_cast<size_t>(i)].policy = options_.level_policies[static_cast<size_t>(i)];
    }
  }
  std::sort(options_.preferred_batch_sizes.begin(), options_.preferred_batch_sizes.end());
}

int BatchQueue::LevelFor(int64_t priority) const {
  if (options_.priority_levels <= 0) return 1;
  if (priority <= 0 || priority > options_.priority_levels) {
    return std::max(1, options_.default_priority_level);
  }
  return static_cast<int>(priority);
}

int BatchQueue::BatchSizeOf(const InferPayload& payload) const {
  return options_.max_batch_size > 0 ? std::max(1, payload.batch_size) : 1;
}

absl::Status BatchQueue::Push(std::unique_ptr<InferPayload>& payload, uint64_t seq,
                              int64_t now_ns) {
  const int level_number = LevelFor(payload->priority);
  const int index = level_number - 1;
  Level& level = levels_[static_cast<size_t>(index)];
  const QueuePolicy& policy = level.policy;
  if (policy.max_queue_size > 0 && level.size() >= policy.max_queue_size) {
    if (options_.priority_levels > 0) {
      return absl::ResourceExhaustedError(fmt::format(
          "inference request to model '{}' refused: the queue of priority level {} is full "
          "(max_queue_size {})",
          options_.model_name, level_number, policy.max_queue_size));
    }
    return absl::ResourceExhaustedError(
        fmt::format("inference request to model '{}' refused: the queue is full (max_queue_size {})",
                    options_.model_name, policy.max_queue_size));
  }
  int64_t timeout_us = policy.default_timeout_us;
  const int64_t requested_us = payload->timeout_micros;
  if (policy.allow_timeout_override && requested_us > 0 &&
      (timeout_us == 0 || requested_us < timeout_us)) {
    timeout_us = requested_us;
  }
  Entry entry;
  entry.seq = seq;
  entry.enqueue_ns = now_ns;
  entry.expiry_ns = timeout_us > 0 ? now_ns + timeout_us * 1000 : 0;
  entry.payload = std::move(payload);
  if (entry.expiry_ns != 0) expiries_.emplace(entry.expiry_ns, seq, index);
  level.waiting.emplace(seq, std::move(entry));
  ++size_;
  return absl::OkStatus();
}

void BatchQueue::ExpireTimedOut(int64_t now_ns, std::vector<Entry>* rejected) {
  while (!expiries_.empty()) {
    const auto [expiry_ns, seq, index] = *expiries_.begin();
    if (expiry_ns > now_ns) break;
    expiries_.erase(expiries_.begin());
    Level& level = levels_[static_cast<size_t>(index)];
    auto it = level.waiting.find(seq);
    if (it == level.waiting.end()) continue;
    Entry entry = std::move(it->second);
    level.waiting.erase(it);
    if (level.policy.delay_on_timeout) {
      entry.expiry_ns = 0;
      level.delayed.emplace(seq, std::move(entry));
    } else {
      --size_;
      rejected->push_back(std::move(entry));
    }
  }
}

int64_t BatchQueue::OldestEnqueueNs() const {
  int64_t oldest = kNever;
  for (const Level& level : levels_) {
    if (!level.waiting.empty()) oldest = std::min(oldest, level.waiting.begin()->second.enqueue_ns);
    if (!level.delayed.empty()) oldest = std::min(oldest, level.delayed.begin()->second.enqueue_ns);
  }
  return oldest;
}

int64_t BatchQueue::NextDeadline(bool include_delay) const {
  int64_t next = expiries_.empty() ? kNever : std::get<0>(*expiries_.begin());
  if (include_delay && size_ > 0) {
    const int64_t oldest = OldestEnqueueNs();
    next = std::min(next, oldest + options_.max_queue_delay_ns);
  }
  return next;
}

std::vector<BatchQueue::Entry> BatchQueue::TakeBatch(int64_t now_ns, bool flush) {
  std::vector<Entry> batch;
  if (size_ == 0) return batch;

  struct Candidate {
    absl::btree_map<uint64_t, Entry>* map;
    absl::btree_map<uint64_t, Entry>::iterator it;
    int level_index;
  };
  absl::InlinedVector<Candidate, 32> candidates;
  const bool batched = options_.max_batch_size > 0;
  const InferPayload* head = nullptr;
  int total = 0;
  int best_preferred = 0;  // Candidates in the longest preferred-size prefix.
  bool full = false;
  for (size_t li = 0; li < levels_.size() && !full; ++li) {
    Level& level = levels_[li];
    for (auto* map : {&level.waiting, &level.delayed}) {
      for (auto it = map->begin(); it != map->end(); ++it) {
        const InferPayload& payload = *it->second.payload;
        if (head == nullptr) {
          head = &payload;
        } else if (!batched) {
          full = true;
          break;
        } else if (!SameInputShapes(*head, payload, /*batched=*/true)) {
          continue;
        }
        const int size = BatchSizeOf(payload);
        if (batched && total + size > options_.max_batch_size && !candidates.empty()) {
          full = true;
          break;
        }
        total += size;
        candidates.push_back({map, it, static_cast<int>(li)});
        if (std::binary_search(options_.preferred_batch_sizes.begin(),
                               options_.preferred_batch_sizes.end(), total)) {
          best_preferred = static_cast<int>(candidates.size());
        }
        if (!batched || total >= options_.max_batch_size) {
          full = true;
          break;
        }
      }
      if (full) break;
    }
  }

  size_t take = 0;
  if (best_preferred > 0) {
    take = static_cast<size_t>(best_preferred);
  } else if (full || flush || now_ns >= OldestEnqueueNs() + options_.max_queue_delay_ns) {
    take = candidates.size();
  }
  batch.reserve(take);
  for (size_t i = 0; i < take; ++i) {
    Candidate& c = candidates[i];
    Entry entry = std::move(c.it->second);
    if (entry.expiry_ns != 0) expiries_.erase({entry.expiry_ns, entry.seq, c.level_index});
    batch.push_back(std::move(entry));
  }
  // Erase after moving out: erasing from a btree invalidates the other candidates' iterators.
  for (size_t i = 0; i < take; ++i) candidates[i].map->erase(batch[i].seq);
  size_ -= static_cast<int64_t>(batch.size());
  return batch;
}

}  // namespace inferd
