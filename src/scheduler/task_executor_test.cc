// SPDX-License-Identifier: Apache-2.0
#include "scheduler/task_executor.h"

#include <atomic>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gtest/gtest.h"

namespace inferd {
namespace {

TEST(ThreadPoolExecutorTest, RunsEveryTask) {
  std::atomic<int> ran{0};
  {
    auto executor = CreateThreadPoolExecutor({.name = "test", .threads = 3});
    for (int i = 0; i < 100; ++i) executor->Run([&ran] { ran.fetch_add(1); });
  }  // The destructor runs what was handed over before joining.
  EXPECT_EQ(ran.load(), 100);
}

TEST(ThreadPoolExecutorTest, WakeUpRunsNoEarlierThanItsDeadline) {
  auto executor = CreateThreadPoolExecutor({.name = "test", .threads = 1});
  const Clock* clock = Clock::Real();
  absl::Notification fired;
  int64_t fired_at = 0;
  const int64_t deadline = clock->NowNanos() + 2'000'000;
  executor->RunAt(deadline, [&] {
    fired_at = clock->NowNanos();
    fired.Notify();
  });
  ASSERT_TRUE(fired.WaitForNotificationWithTimeout(absl::Seconds(30)));
  EXPECT_GE(fired_at, deadline);
}

TEST(ThreadPoolExecutorTest, WakeUpsFireInDeadlineOrder) {
  auto executor = CreateThreadPoolExecutor({.name = "test", .threads = 1});
  const int64_t now = Clock::Real()->NowNanos();
  absl::Mutex mu;
  std::vector<int> order;
  absl::Notification done;
  executor->RunAt(now + 3'000'000, [&] {
    absl::MutexLock lock(&mu);
    order.push_back(3);
    done.Notify();
  });
  executor->RunAt(now + 1'000'000, [&] {
    absl::MutexLock lock(&mu);
    order.push_back(1);
  });
  ASSERT_TRUE(done.WaitForNotificationWithTimeout(absl::Seconds(30)));
  absl::MutexLock lock(&mu);
  EXPECT_EQ(order, (std::vector<int>{1, 3}));
}

TEST(ThreadPoolExecutorTest, DestructionDropsWakeUpsNotYetDue) {
  std::atomic<bool> ran{false};
  {
    auto executor = CreateThreadPoolExecutor({.name = "test", .threads = 1});
    executor->RunAt(Clock::Real()->NowNanos() + 3'600'000'000'000, [&ran] { ran = true; });
  }
  EXPECT_FALSE(ran.load());
}

}  // namespace
}  // namespace inferd
