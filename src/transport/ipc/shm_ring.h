// SPDX-License-Identifier: Apache-2.0
// A single-consumer ring of fixed-size slots in memory shared by two processes, with futex
// wake-ups after a short spin.
//
// Both processes map the same RingControl and slot array. Indices are free-running uint32
// counters (capacity is a power of two). Each side keeps its own copy of the index it owns (the
// producer's head, the consumer's tail) and only reads the other side's index from shared memory,
// validating it: the peer may be malicious or dead, so a RingView never trusts what it reads and
// never blocks without a timeout.
//
// Thread safety: one producer thread at a time (callers serialise pushes) and one consumer at a
// time (callers serialise pops); Wait, HasData and Wake may be called from any thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace inferd::ipc {

// Lives in shared memory. The three groups sit on separate cache lines.
struct RingControl {
  alignas(64) std::atomic<uint32_t> head;  // Written by the producer.
  alignas(64) std::atomic<uint32_t> tail;  // Written by the consumer.
  alignas(64) std::atomic<uint32_t> seq;   // Futex word: bumped by every wake-up.
  std::atomic<uint32_t> waiters;           // Consumers asleep (or about to sleep) on seq.
};
static_assert(sizeof(RingControl) == 192);
static_assert(std::atomic<uint32_t>::is_always_lock_free);

// Bytes a ring with this slot size and capacity occupies (control block + slots), 64-aligned.
size_t RingBytes(size_t slot_bytes, uint32_t capacity);

class RingView {
 public:
  RingView() = default;
  // `base` points at RingBytes(slot_bytes, capacity) bytes of shared memory.
  RingView(std::byte* base, size_t slot_bytes, uint32_t capacity);

  // Producer. Copies `slot` (slot_bytes) into the next slot and publishes it, then wakes a
  // sleeping consumer. RESOURCE_EXHAUSTED when the ring is full; DATA_LOSS when the consumer's
  // published tail is impossible (the peer corrupted the ring).
  absl::Status Push(const void* slot);

  // Consumer. Copies the next slot into `slot` and releases it. Returns false when empty;
  // DATA_LOSS when the producer's published head is impossible.
  absl::StatusOr<bool> Pop(void* slot);
  // Whether a slot is waiting (true also when the head is corrupt, so that Pop reports it).
  bool HasData() const;
  // Consumer: returns when HasData(), after `timeout`, or when woken by Wake(); spins for `spin`
  // first. Spurious returns are allowed; callers loop.
  void Wait(absl::Duration spin, absl::Duration timeout);
  // Wakes the consumer without publishing anything (shutdown).
  void Wake();
  // Wake(), only when someone sleeps on the ring.
  void WakeSleepers();

  bool valid() const { return control_ != nullptr; }

 private:
  RingControl* control_ = nullptr;
  std::byte* slots_ = nullptr;
  size_t slot_bytes_ = 0;
  uint32_t capacity_ = 0;
  uint32_t head_ = 0;  // Producer's own head.
  uint32_t tail_ = 0;  // Consumer's own tail.
};

// How long a waiter spins before it sleeps: at least `base`; when the recent waits (a moving
// average of what Observe was told) are short enough that twice the average fits under `cap`,
// twice the average. A waiter that sleeps pays a futex wake-up (tens of microseconds on a VM);
// one that expects its answer within `cap` spins through it instead. `cap` <= `base` turns the
// adaptation off. Thread-safe.
class AdaptiveSpin {
 public:
  AdaptiveSpin(absl::Duration base, absl::Duration cap);

  absl::Duration Budget() const;
  void Observe(absl::Duration waited);

 private:
  const int64_t base_ns_;
  const int64_t cap_ns_;
  std::atomic<int64_t> average_ns_{-1};  // MovingAverageStep's; -1: nothing observed yet.
};

// Thin wrappers over futex(2) on a shared (not process-private) word.
void FutexWait(std::atomic<uint32_t>* word, uint32_t expected, absl::Duration timeout);
void FutexWakeAll(std::atomic<uint32_t>* word);

}  // namespace inferd::ipc
