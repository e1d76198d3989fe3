// SPDX-License-Identifier: Apache-2.0
// Where the dynamic batcher runs its work: batch executions, and wake-ups at a deadline (the end of
// a queue delay, a request's timeout). The batcher never sleeps or reads a timer itself, so a test
// drives it with a fake executor and a fake clock and every batching decision is deterministic.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/functional/any_invocable.h"
#include "core/clock.h"

namespace inferd {

class TaskExecutor {
 public:
  virtual ~TaskExecutor() = default;

  // Runs `task` on one of the executor's threads, soon. Tasks may run concurrently with each
  // other; the caller bounds how many it hands over at once. Thread-safe.
  virtual void Run(absl::AnyInvocable<void() &&> task) = 0;

  // Runs `task` once the executor's clock reads `deadline_ns` or later (at once when it already
  // does). Thread-safe. Wake-ups may fire in any order relative to Run tasks.
  virtual void RunAt(int64_t deadline_ns, absl::AnyInvocable<void() &&> task) = 0;
};

struct ThreadPoolExecutorOptions {
  std::string name;  // Thread names (truncated to Linux's 15 characters).
  int threads = 1;   // Workers for Run tasks; wake-ups run on one extra timer thread.
  const Clock* clock = Clock::Real();
};

// A fixed pool of worker threads plus a timer thread. Destroying it runs every task already given
// to Run, drops wake-ups that are not due yet, and joins the threads; it must not be destroyed
// from one of its own threads.
std::unique_ptr<TaskExecutor> CreateThreadPoolExecutor(ThreadPoolExecutorOptions options);

}  // namespace inferd
