// SPDX-License-Identifier: Apache-2.0
#include "transport/ipc/shm_ring.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <climits>
#include <cstring>

#include "core/moving_average.h"
#include "fmt/format.h"

namespace inferd::ipc {
namespace {

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::atomic_signal_fence(std::memory_order_seq_cst);
#endif
}

inline uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

void FutexWait(std::atomic<uint32_t>* word, uint32_t expected, absl::Duration timeout) {
  const int64_t ns = absl::ToInt64Nanoseconds(timeout);
  timespec ts{static_cast<time_t>(ns / 1000000000), static_cast<long>(ns % 1000000000)};
  // Shared futex (no FUTEX_PRIVATE_FLAG): the word lives in memory mapped by two processes.
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAIT, expected, &ts, nullptr, 0);
}

void FutexWakeAll(std::atomic<uint32_t>* word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t*>(word), FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
}

AdaptiveSpin::AdaptiveSpin(absl::Duration base, absl::Duration cap)
    : base_ns_(absl::ToInt64Nanoseconds(base)), cap_ns_(absl::ToInt64Nanoseconds(cap)) {}

absl::Duration AdaptiveSpin::Budget() const {
  const int64_t twice = 2 * average_ns_.load(std::memory_order_relaxed);
  return absl::Nanoseconds(twice > base_ns_ && twice <= cap_ns_ ? twice : base_ns_);
}

void AdaptiveSpin::Observe(absl::Duration waited) {
  if (cap_ns_ <= base_ns_) return;
  // Racing observers may lose a sample; the average only steers a spin.
  average_ns_.store(MovingAverageStep(average_ns_.load(std::memory_order_relaxed),
                                      absl::ToInt64Nanoseconds(waited)),
                    std::memory_order_relaxed);
}

size_t RingBytes(size_t slot_bytes, uint32_t capacity) {
  const size_t bytes = sizeof(RingControl) + slot_bytes * capacity;
  return (bytes + 63) / 64 * 64;
}

RingView::RingView(std::byte* base, size_t slot_bytes, uint32_t capacity)
    : control_(reinterpret_cast<RingControl*>(base)),
      slots_(base + sizeof(RingControl)),
      slot_bytes_(slot_bytes),
      capacity_(capacity) {}

absl::Status RingView::Push(const void* slot) {
  const uint32_t tail = control_->tail.load(std::memory_order_acquire);
  const uint32_t used = head_ - tail;
  if (used > capacity_) {
    return absl::DataLossError(fmt::format(
        "ring corrupted: the consumer's tail {} is {} slots behind the head {} (capacity {})", tail,
        used, head_, capacity_));
  }
  if (used == capacity_) {
    return absl::ResourceExhaustedError(fmt::format("ring full ({} slots)", capacity_));
  }
  std::memcpy(slots_ + static_cast<size_t>(head_ % capacity_) * slot_bytes_, slot, slot_bytes_);
  ++head_;
  control_->head.store(head_, std::memory_order_release);
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (control_->waiters.load(std::memory_order_seq_cst) != 0) Wake();
  return absl::OkStatus();
}

bool RingView::HasData() const {
  // Read through atomic_ref: a waiter may look while another thread (holding the consumer's lock)
  // pops.
  return control_->head.load(std::memory_order_acquire) !=
         std::atomic_ref<uint32_t>(const_cast<uint32_t&>(tail_)).load(std::memory_order_relaxed);
}

absl::StatusOr<bool> RingView::Pop(void* slot) {
  const uint32_t head = control_->head.load(std::memory_order_acquire);
  const uint32_t available = head - tail_;
  if (available == 0) return false;
  if (available > capacity_) {
    return absl::DataLossError(fmt::format(
        "ring corrupted: the producer's head {} is {} slots ahead of the tail {} (capacity {})",
        head, available, tail_, capacity_));
  }
  // Copy the slot out before anyone looks at it: the producer's memory may change under us.
  std::memcpy(slot, slots_ + static_cast<size_t>(tail_ % capacity_) * slot_bytes_, slot_bytes_);
  std::atomic_ref<uint32_t>(tail_).store(tail_ + 1, std::memory_order_relaxed);
  control_->tail.store(tail_, std::memory_order_release);
  return true;
}

void RingView::Wait(absl::Duration spin, absl::Duration timeout) {
  if (HasData()) return;
  const uint64_t spin_until = NowNs() + static_cast<uint64_t>(absl::ToInt64Nanoseconds(spin));
  while (NowNs() < spin_until) {
    for (int i = 0; i < 32; ++i) CpuRelax();
    if (HasData()) return;
  }
  const uint32_t seq = control_->seq.load(std::memory_order_acquire);
  control_->waiters.fetch_add(1, std::memory_order_seq_cst);
  if (!HasData()) FutexWait(&control_->seq, seq, timeout);
  control_->waiters.fetch_sub(1, std::memory_order_seq_cst);
}

void RingView::WakeSleepers() {
  if (control_->waiters.load(std::memory_order_seq_cst) != 0) Wake();
}

void RingView::Wake() {
  control_->seq.fetch_add(1, std::memory_order_seq_cst);
  FutexWakeAll(&control_->seq);
}

}  // namespace inferd::ipc
