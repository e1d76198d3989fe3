// SPDX-License-Identifier: Apache-2.0
// A clock the test moves by hand and a TaskExecutor that runs nothing until the test says so, so
// batching decisions are checked step by step with no thread and no real time.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <utility>

#include "absl/functional/any_invocable.h"
#include "core/clock.h"
#include "scheduler/task_executor.h"

namespace inferd::testing {

class FakeClock final : public Clock {
 public:
  explicit FakeClock(int64_t start_ns = 1'000'000'000) : now_ns_(start_ns) {}
  int64_t NowNanos() const override { return now_ns_; }
  void Set(int64_t ns) { now_ns_ = ns; }

 private:
  int64_t now_ns_;
};

// Run() queues tasks; RunPending() runs them (and whatever they queue) on the test's thread.
// RunAt() keeps wake-ups; Advance() moves the clock forward, stopping at every wake-up due on the
// way: the clock reads exactly its deadline when it fires, and the tasks it queued run at that
// same moment (an instance finishes its batch instantly in fake time). TakeTask() removes the
// oldest queued task so the test can hold an instance busy and run it later.
class FakeTaskExecutor final : public TaskExecutor {
 public:
  explicit FakeTaskExecutor(FakeClock* clock) : clock_(clock) {}

  void Run(absl::AnyInvocable<void() &&> task) override {
    if (inline_) {
      std::move(task)();
    } else {
      tasks_.push_back(std::move(task));
    }
  }
  // From now on Run() runs each task at once, on the caller's thread (for Drain at the end of a
  // test, which waits for the batches it starts).
  void RunInline() {
    inline_ = true;
    RunPending();
  }
  void RunAt(int64_t deadline_ns, absl::AnyInvocable<void() &&> task) override {
    timers_.emplace(deadline_ns, std::move(task));
  }

  // Runs queued tasks until none is left; returns how many ran.
  int RunPending() {
    int ran = 0;
    while (!tasks_.empty()) {
      absl::AnyInvocable<void() &&> task = std::move(tasks_.front());
      tasks_.pop_front();
      std::move(task)();
      ++ran;
    }
    return ran;
  }

  // Moves the clock forward by `ns`, firing due wake-ups at their exact deadlines, running the
  // queued tasks after each.
  void Advance(int64_t ns) {
    const int64_t target = clock_->NowNanos() + ns;
    while (!timers_.empty() && timers_.begin()->first <= target) {
      auto first = timers_.begin();
      if (first->first > clock_->NowNanos()) clock_->Set(first->first);
      absl::AnyInvocable<void() &&> task = std::move(first->second);
      timers_.erase(first);
      std::move(task)();
      RunPending();
    }
    clock_->Set(target);
    RunPending();
  }

  // The oldest queued task, removed from the queue (the queue must not be empty).
  absl::AnyInvocable<void() &&> TakeTask() {
    absl::AnyInvocable<void() &&> task = std::move(tasks_.front());
    tasks_.pop_front();
    return task;
  }

  size_t pending_tasks() const { return tasks_.size(); }
  size_t pending_wakeups() const { return timers_.size(); }
  // The earliest wake-up's deadline, or -1.
  int64_t next_wakeup_ns() const { return timers_.empty() ? -1 : timers_.begin()->first; }

 private:
  FakeClock* clock_;
  bool inline_ = false;
  std::deque<absl::AnyInvocable<void() &&>> tasks_;
  std::multimap<int64_t, absl::AnyInvocable<void() &&>> timers_;
};

}  // namespace inferd::testing
