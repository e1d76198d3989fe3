// SPDX-License-Identifier: Apache-2.0
#include "scheduler/instance_queue_scheduler.h"

#include <pthread.h>

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scheduler/test_util/fake_model_instance.h"

namespace inferd {
namespace {

using ::inferd::testing::FakeInstances;
using ::inferd::testing::FirstInputValue;
using ::inferd::testing::MakeFp32Payload;
using ::inferd::testing::RecordingObserver;
using ::inferd::testing::WriteFp32Output;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Waits that only guard against a hang: a passing test never gets near them.
constexpr absl::Duration kHangGuard = absl::Seconds(30);

// Collects completions, keyed by the request's first input value.
class Completions {
 public:
  struct Entry {
    absl::Status status;
    InferResponse response;
    int calls = 0;
  };

  InferPayload::CompletionFn Callback(float key) {
    return [this, key](std::unique_ptr<InferPayload> payload, absl::Status status) {
      absl::MutexLock lock(&mu_);
      Entry& entry = entries_[key];
      entry.status = std::move(status);
      entry.response = std::move(payload->response);
      ++entry.calls;
      order_.push_back(key);
    };
  }

  // True once `count` callbacks have run.
  bool WaitFor(size_t count) {
    absl::MutexLock lock(&mu_);
    auto done = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return order_.size() >= count; };
    return mu_.AwaitWithTimeout(absl::Condition(&done), kHangGuard);
  }

  Entry Get(float key) {
    absl::MutexLock lock(&mu_);
    return entries_[key];
  }
  std::vector<float> order() {
    absl::MutexLock lock(&mu_);
    return order_;
  }
  size_t size() {
    absl::MutexLock lock(&mu_);
    return order_.size();
  }

 private:
  absl::Mutex mu_;
  std::map<float, Entry> entries_ ABSL_GUARDED_BY(mu_);
  std::vector<float> order_ ABSL_GUARDED_BY(mu_);
};

std::unique_ptr<Scheduler> MakeScheduler(int instances, testing::FakeModelInstance::ExecuteFn fn,
                                         ExecutionObserver* observer = nullptr) {
  InstanceQueueSchedulerOptions options;
  options.model_name = "m";
  options.model_version = 3;
  options.observer = observer;
  auto scheduler = CreateInstanceQueueScheduler(options, FakeInstances(instances, fn));
  EXPECT_TRUE(scheduler.ok()) << scheduler.status();
  return std::move(*scheduler);
}

// Echoes the input into OUT0 and its double into OUT1, each only when requested.
absl::Status Echo(ExecutionBatch& batch) {
  std::vector<float> in(batch.inputs()[0].As<float>().begin(), batch.inputs()[0].As<float>().end());
  if (batch.OutputRequested("OUT0")) {
    if (absl::Status s = WriteFp32Output(batch, "OUT0", in); !s.ok()) return s;
  }
  if (batch.OutputRequested("OUT1")) {
    for (float& v : in) v *= 2;
    if (absl::Status s = WriteFp32Output(batch, "OUT1", in); !s.ok()) return s;
  }
  return absl::OkStatus();
}

TEST(InstanceQueueSchedulerTest, CreateRefusesNoInstances) {
  InstanceQueueSchedulerOptions options;
  options.model_name = "m";
  auto scheduler = CreateInstanceQueueScheduler(options, {});
  EXPECT_EQ(scheduler.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(scheduler.status().message(), HasSubstr("'m'"));
}

TEST(InstanceQueueSchedulerTest, CompletesWithOutputsInRequestedOrder) {
  Completions done;
  auto scheduler = MakeScheduler(1, Echo);
  scheduler->Enqueue(MakeFp32Payload({1, 2}, {"OUT1", "OUT0"}, done.Callback(1)));
  scheduler->Enqueue(MakeFp32Payload({5}, {"OUT1"}, done.Callback(5)));
  ASSERT_TRUE(done.WaitFor(2));

  Completions::Entry first = done.Get(1);
  ASSERT_TRUE(first.status.ok()) << first.status;
  ASSERT_EQ(first.response.outputs.size(), 2u);
  EXPECT_EQ(first.response.outputs[0].name, "OUT1");
  EXPECT_THAT(first.response.outputs[0].As<float>(), ElementsAre(2, 4));
  EXPECT_EQ(first.response.outputs[1].name, "OUT0");
  EXPECT_THAT(first.response.outputs[1].As<float>(), ElementsAre(1, 2));

  Completions::Entry second = done.Get(5);
  ASSERT_TRUE(second.status.ok()) << second.status;
  ASSERT_EQ(second.response.outputs.size(), 1u);  // OUT0 was not asked for.
  EXPECT_THAT(second.response.outputs[0].As<float>(), ElementsAre(10));
}

TEST(InstanceQueueSchedulerTest, InstancesRunInParallel) {
  // Each execution waits until both have started: only two instances at once can finish.
  absl::Mutex mu;
  int started = 0;
  auto both_started = [&](ExecutionBatch& batch) {
    absl::MutexLock lock(&mu);
    ++started;
    auto ready = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu) { return started >= 2; };
    if (!mu.AwaitWithTimeout(absl::Condition(&ready), kHangGuard)) {
      return absl::DeadlineExceededError("the other instance never started");
    }
    return WriteFp32Output(batch, "OUT0", {1});
  };
  Completions done;
  auto scheduler = MakeScheduler(2, both_started);
  scheduler->Enqueue(MakeFp32Payload({1}, {"OUT0"}, done.Callback(1)));
  scheduler->Enqueue(MakeFp32Payload({2}, {"OUT0"}, done.Callback(2)));
  ASSERT_TRUE(done.WaitFor(2));
  EXPECT_TRUE(done.Get(1).status.ok()) << done.Get(1).status;
  EXPECT_TRUE(done.Get(2).status.ok()) << done.Get(2).status;
}

TEST(InstanceQueueSchedulerTest, OneInstanceNeverRunsTwoAtOnce) {
  constexpr int kInstances = 3;
  constexpr int kRequests = 60;
  struct Counters {
    std::atomic<int> active{0};
    std::atomic<int> max_active{0};
  };
  std::vector<std::unique_ptr<ModelInstance>> instances;
  std::vector<std::shared_ptr<Counters>> counters;
  for (int i = 0; i < kInstances; ++i) {
    auto c = std::make_shared<Counters>();
    counters.push_back(c);
    instances.push_back(std::make_unique<testing::FakeModelInstance>([c](ExecutionBatch& batch) {
      const int now = ++c->active;
      int seen = c->max_active.load();
      while (now > seen && !c->max_active.compare_exchange_weak(seen, now)) {
      }
      std::this_thread::yield();
      --c->active;
      return WriteFp32Output(batch, "OUT0", {1});
    }));
  }
  InstanceQueueSchedulerOptions options;
  options.model_name = "m";
  auto scheduler = CreateInstanceQueueScheduler(options, std::move(instances));
  ASSERT_TRUE(scheduler.ok());
  Completions done;
  for (int i = 0; i < kRequests; ++i) {
    (*scheduler)->Enqueue(MakeFp32Payload({static_cast<float>(i)}, {"OUT0"}, done.Callback(i)));
  }
  ASSERT_TRUE(done.WaitFor(kRequests));
  for (const auto& c : counters) EXPECT_LE(c->max_active.load(), 1);
}

TEST(InstanceQueueSchedulerTest, OneInstanceRunsInFifoOrder) {
  absl::Notification release;
  std::vector<float> executed;  // Only the single worker touches it before the test reads it.
  auto gated = [&](ExecutionBatch& batch) {
    release.WaitForNotificationWithTimeout(kHangGuard);
    executed.push_back(FirstInputValue(batch));
    return WriteFp32Output(batch, "OUT0", {1});
  };
  Completions done;
  auto scheduler = MakeScheduler(1, gated);
  for (int i = 0; i < 10; ++i) {
    scheduler->Enqueue(MakeFp32Payload({static_cast<float>(i)}, {"OUT0"}, done.Callback(i)));
  }
  release.Notify();
  ASSERT_TRUE(done.WaitFor(10));
  scheduler->Drain();
  EXPECT_THAT(executed, ElementsAre(0, 1, 2, 3, 4, 5, 6, 7, 8, 9));
  EXPECT_THAT(done.order(), ElementsAre(0, 1, 2, 3, 4, 5, 6, 7, 8, 9));
}

TEST(InstanceQueueSchedulerTest, ExecuteErrorFailsThatRequestOnly) {
  auto fail_odd = [](ExecutionBatch& batch) {
    if (static_cast<int>(FirstInputValue(batch)) % 2 == 1) {
      return absl::InvalidArgumentError("odd input");
    }
    return Echo(batch);
  };
  Completions done;
  auto scheduler = MakeScheduler(1, fail_odd);
  for (int i = 0; i < 4; ++i) {
    scheduler->Enqueue(MakeFp32Payload({static_cast<float>(i)}, {"OUT0"}, done.Callback(i)));
  }
  ASSERT_TRUE(done.WaitFor(4));
  EXPECT_TRUE(done.Get(0).status.ok());
  EXPECT_EQ(done.Get(1).status, absl::InvalidArgumentError("odd input"));
  EXPECT_TRUE(done.Get(2).status.ok());
  EXPECT_THAT(done.Get(2).response.outputs[0].As<float>(), ElementsAre(2));
  EXPECT_EQ(done.Get(3).status, absl::InvalidArgumentError("odd input"));
  EXPECT_TRUE(done.Get(1).response.outputs.empty());
}

TEST(InstanceQueueSchedulerTest, BadOutputAllocationsFailTheRequest) {
  // Input 0: unrequested output; 1: the same output twice; 2: wrong size; 3: missing output.
  auto misbehave = [](ExecutionBatch& batch) -> absl::Status {
    const std::vector<int64_t> shape = {4};
    switch (static_cast<int>(FirstInputValue(batch))) {
      case 0:
        return WriteFp32Output(batch, "NOT_ASKED", {1});
      case 1:
        if (absl::Status s = WriteFp32Output(batch, "OUT0", {1}); !s.ok()) return s;
        return WriteFp32Output(batch, "OUT0", {1});
      case 2:
        return batch.AllocateOutput("OUT0", DataType::kFp32, shape, 15).status();
      default:
        return absl::OkStatus();
    }
  };
  Completions done;
  auto scheduler = MakeScheduler(1, misbehave);
  for (int i = 0; i < 4; ++i) {
    scheduler->Enqueue(MakeFp32Payload({static_cast<float>(i)}, {"OUT0"}, done.Callback(i)));
  }
  ASSERT_TRUE(done.WaitFor(4));

  EXPECT_EQ(done.Get(0).status.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(done.Get(0).status.message(), HasSubstr("'NOT_ASKED'"));
  EXPECT_EQ(done.Get(1).status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(done.Get(1).status.message(), HasSubstr("'OUT0' twice"));
  EXPECT_EQ(done.Get(2).status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(done.Get(2).status.message(), HasSubstr("model 'm' output 'OUT0'"));
  EXPECT_EQ(done.Get(3).status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(done.Get(3).status.message(), HasSubstr("model 'm' did not produce output 'OUT0'"));
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(done.Get(i).response.outputs.empty());
}

TEST(InstanceQueueSchedulerTest, EnqueueAfterDrainIsUnavailable) {
  Completions done;
  auto scheduler = MakeScheduler(2, Echo);
  scheduler->Drain();
  scheduler->Enqueue(MakeFp32Payload({1}, {"OUT0"}, done.Callback(1)));
  ASSERT_EQ(done.size(), 1u);  // Completed on the caller's thread, at once.
  absl::Status status = done.Get(1).status;
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(status.message(), HasSubstr("model 'm' version 3 is unloading"));
  scheduler->Drain();  // Idempotent.
}

TEST(InstanceQueueSchedulerTest, DrainLetsQueuedRequestsFinish) {
  absl::Notification release;
  auto gated = [&](ExecutionBatch& batch) {
    release.WaitForNotificationWithTimeout(kHangGuard);
    return Echo(batch);
  };
  Completions done;
  auto scheduler = MakeScheduler(2, gated);
  constexpr int kRequests = 20;
  for (int i = 0; i < kRequests; ++i) {
    scheduler->Enqueue(MakeFp32Payload({static_cast<float>(i)}, {"OUT0"}, done.Callback(i)));
  }
  std::thread drainer([&] { scheduler->Drain(); });
  release.Notify();
  drainer.join();
  // Drain returned: every queued request has finished, each exactly once.
  EXPECT_EQ(scheduler->PendingCount(), 0);
  ASSERT_EQ(done.size(), static_cast<size_t>(kRequests));
  for (int i = 0; i < kRequests; ++i) {
    Completions::Entry entry = done.Get(i);
    EXPECT_EQ(entry.calls, 1);
    EXPECT_TRUE(entry.status.ok()) << entry.status;
  }
}

TEST(InstanceQueueSchedulerTest, DestructorDrains) {
  absl::Notification release;
  auto gated = [&](ExecutionBatch& batch) {
    release.WaitForNotificationWithTimeout(kHangGuard);
    return Echo(batch);
  };
  Completions done;
  {
    auto scheduler = MakeScheduler(1, gated);
    for (int i = 0; i < 5; ++i) {
      scheduler->Enqueue(MakeFp32Payload({static_cast<float>(i)}, {"OUT0"}, done.Callback(i)));
    }
    release.Notify();
  }
  EXPECT_EQ(done.size(), 5u);
}

TEST(InstanceQueueSchedulerTest, ObserverGetsOneRecordPerExecution) {
  auto fail_first = [](ExecutionBatch& batch) {
    if (FirstInputValue(batch) == 0) return absl::InternalError("first fails");
    return Echo(batch);
  };
  RecordingObserver observer;
  Completions done;
  auto scheduler = MakeScheduler(2, fail_first, &observer);
  for (int i = 0; i < 6; ++i) {
    scheduler->Enqueue(MakeFp32Payload({static_cast<float>(i)}, {"OUT0"}, done.Callback(i)));
  }
  scheduler->Drain();
  std::vector<ExecutionRecord> records = observer.records();
  ASSERT_EQ(records.size(), 6u);
  int failed = 0;
  for (const ExecutionRecord& r : records) {
    EXPECT_EQ(r.batch_size, 1);
    EXPECT_GE(r.compute_infer_ns, 0);
    EXPECT_GE(r.compute_output_ns, 0);
    if (!r.ok) ++failed;
  }
  EXPECT_EQ(failed, 1);
}

TEST(InstanceQueueSchedulerTest, PendingCountsQueuedAndExecuting) {
  absl::Notification release;
  absl::Notification first_started;
  auto gated = [&](ExecutionBatch& batch) {
    if (!first_started.HasBeenNotified()) first_started.Notify();
    release.WaitForNotificationWithTimeout(kHangGuard);
    return Echo(batch);
  };
  Completions done;
  auto scheduler = MakeScheduler(1, gated);
  EXPECT_EQ(scheduler->PendingCount(), 0);
  for (int i = 0; i < 3; ++i) {
    scheduler->Enqueue(MakeFp32Payload({static_cast<float>(i)}, {"OUT0"}, done.Callback(i)));
  }
  ASSERT_TRUE(first_started.WaitForNotificationWithTimeout(kHangGuard));
  EXPECT_EQ(scheduler->PendingCount(), 3);  // One executing, two queued.
  release.Notify();
  scheduler->Drain();
  EXPECT_EQ(scheduler->PendingCount(), 0);
  EXPECT_EQ(done.size(), 3u);
}

// A full queue refuses at once (on the caller's thread) with RESOURCE_EXHAUSTED naming the model
// and the limit; the queued requests still run, and room frees as they do.
TEST(InstanceQueueSchedulerTest, FullQueueRefusesAtOnce) {
  absl::Notification release;
  absl::Notification first_started;
  auto gated = [&](ExecutionBatch& batch) {
    if (!first_started.HasBeenNotified()) first_started.Notify();
    release.WaitForNotificationWithTimeout(kHangGuard);
    return Echo(batch);
  };
  InstanceQueueSchedulerOptions options;
  options.model_name = "m";
  options.max_queue_size = 2;
  auto scheduler = CreateInstanceQueueScheduler(options, FakeInstances(1, gated));
  ASSERT_TRUE(scheduler.ok()) << scheduler.status();
  Completions done;
  (*scheduler)->Enqueue(MakeFp32Payload({0}, {"OUT0"}, done.Callback(0)));
  ASSERT_TRUE(first_started.WaitForNotificationWithTimeout(kHangGuard));
  (*scheduler)->Enqueue(MakeFp32Payload({1}, {"OUT0"}, done.Callback(1)));
  (*scheduler)->Enqueue(MakeFp32Payload({2}, {"OUT0"}, done.Callback(2)));
  (*scheduler)->Enqueue(MakeFp32Payload({3}, {"OUT0"}, done.Callback(3)));
  ASSERT_EQ(done.size(), 1u) << "the refusal completes before Enqueue returns";
  Completions::Entry refused = done.Get(3);
  EXPECT_EQ(refused.status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(refused.status.message(),
              AllOf(HasSubstr("model 'm'"), HasSubstr("queue is full (max_queue_size 2)")));
  release.Notify();
  ASSERT_TRUE(done.WaitFor(4));
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(done.Get(i).status.ok()) << done.Get(i).status;
  (*scheduler)->Enqueue(MakeFp32Payload({4}, {"OUT0"}, done.Callback(4)));
  ASSERT_TRUE(done.WaitFor(5));
  EXPECT_TRUE(done.Get(4).status.ok()) << done.Get(4).status;
}

TEST(InstanceQueueSchedulerTest, WorkerThreadsAreNamedAfterTheModel) {
  absl::Mutex mu;
  std::string thread_name;
  auto record_name = [&](ExecutionBatch& batch) {
    char name[16] = {};
    pthread_getname_np(pthread_self(), name, sizeof(name));
    absl::MutexLock lock(&mu);
    thread_name = name;
    return Echo(batch);
  };
  InstanceQueueSchedulerOptions options;
  options.model_name = "a_very_long_model_name";
  auto scheduler = CreateInstanceQueueScheduler(options, FakeInstances(1, record_name));
  ASSERT_TRUE(scheduler.ok());
  (*scheduler)->Enqueue(MakeFp32Payload({1}, {"OUT0"}, nullptr));
  (*scheduler)->Drain();
  absl::MutexLock lock(&mu);
  EXPECT_EQ(thread_name, "inferd-a_very_l");  // Linux's limit: 15 characters.
}

TEST(InstanceQueueSchedulerTest, StampsQueueAndComputeTimes) {
  absl::Mutex mu;
  std::vector<int64_t> stamps;
  Completions done;
  auto scheduler = MakeScheduler(1, Echo);
  auto payload = MakeFp32Payload({1}, {"OUT0"}, [&](std::unique_ptr<InferPayload> p, absl::Status) {
    absl::MutexLock lock(&mu);
    stamps = {p->queue_start_ns, p->compute_start_ns, p->compute_end_ns};
  });
  scheduler->Enqueue(std::move(payload));
  scheduler->Drain();
  absl::MutexLock lock(&mu);
  ASSERT_EQ(stamps.size(), 3u);
  EXPECT_GT(stamps[0], 0);
  EXPECT_LE(stamps[0], stamps[1]);
  EXPECT_LE(stamps[1], stamps[2]);
}


// --- Inline execution -------------------------------------------------------------------------

std::unique_ptr<Scheduler> MakeInlineScheduler(int instances, testing::FakeModelInstance::ExecuteFn fn,
                                               absl::Duration inline_max) {
  InstanceQueueSchedulerOptions options;
  options.model_name = "m";
  options.inline_max_ns = absl::ToInt64Nanoseconds(inline_max);
  auto scheduler = CreateInstanceQueueScheduler(options, FakeInstances(instances, fn));
  EXPECT_TRUE(scheduler.ok()) << scheduler.status();
  return std::move(*scheduler);
}

std::unique_ptr<InferPayload> InlinePayload(float key, Completions& done, bool allow = true) {
  auto payload = MakeFp32Payload({key}, {"OUT0"}, done.Callback(key));
  payload->allow_inline = allow;
  return payload;
}

// Records the thread each execution ran on, by the request's first input value.
class ThreadLog {
 public:
  testing::FakeModelInstance::ExecuteFn Fn() {
    return [this](ExecutionBatch& batch) {
      absl::MutexLock lock(&mu_);
      threads_[FirstInputValue(batch)] = std::this_thread::get_id();
      return Echo(batch);
    };
  }
  std::thread::id Of(float key) {
    absl::MutexLock lock(&mu_);
    return threads_[key];
  }

 private:
  absl::Mutex mu_;
  std::map<float, std::thread::id> threads_ ABSL_GUARDED_BY(mu_);
};

TEST(InstanceQueueSchedulerInlineTest, ShortExecutionsRunOnTheCallersThread) {
  ThreadLog log;
  Completions done;
  auto scheduler = MakeInlineScheduler(1, log.Fn(), absl::Seconds(10));
  // The first execution has no estimate yet: it goes to the instance's worker.
  scheduler->Enqueue(InlinePayload(1, done));
  ASSERT_TRUE(done.WaitFor(1));
  EXPECT_NE(log.Of(1), std::this_thread::get_id());
  // Now the model is known to be fast and its instance is idle: the request runs here and is
  // complete when Enqueue returns.
  scheduler->Enqueue(InlinePayload(2, done));
  EXPECT_EQ(done.size(), 2u);
  EXPECT_EQ(log.Of(2), std::this_thread::get_id());
  Completions::Entry second = done.Get(2);
  ASSERT_TRUE(second.status.ok()) << second.status;
  EXPECT_THAT(second.response.outputs[0].As<float>(), ElementsAre(2));
}

TEST(InstanceQueueSchedulerInlineTest, NeverInlineUnlessTheRequestAllowsIt) {
  ThreadLog log;
  Completions done;
  auto scheduler = MakeInlineScheduler(1, log.Fn(), absl::Seconds(10));
  for (int i = 1; i <= 3; ++i) {
    scheduler->Enqueue(InlinePayload(i, done, /*allow=*/false));
    ASSERT_TRUE(done.WaitFor(i));
    EXPECT_NE(log.Of(i), std::this_thread::get_id()) << "request " << i;
  }
}

TEST(InstanceQueueSchedulerInlineTest, NeverInlineWhenExecutionsTakeLongerThanTheLimit) {
  ThreadLog log;
  Completions done;
  auto slow = [&log](ExecutionBatch& batch) {
    absl::SleepFor(absl::Milliseconds(2));
    return log.Fn()(batch);
  };
  auto scheduler = MakeInlineScheduler(1, slow, absl::Microseconds(100));
  for (int i = 1; i <= 3; ++i) {
    scheduler->Enqueue(InlinePayload(i, done));
    ASSERT_TRUE(done.WaitFor(i));
    EXPECT_NE(log.Of(i), std::this_thread::get_id()) << "request " << i;
  }
}

TEST(InstanceQueueSchedulerInlineTest, ABusyInstanceIsNeverTakenForInline) {
  absl::Notification release;
  std::atomic<int> active{0};
  std::atomic<int> max_active{0};
  std::atomic<bool> gate{false};
  auto fn = [&](ExecutionBatch& batch) {
    const int now = ++active;
    int seen = max_active.load();
    while (now > seen && !max_active.compare_exchange_weak(seen, now)) {
    }
    if (gate.load()) release.WaitForNotificationWithTimeout(kHangGuard);
    --active;
    return Echo(batch);
  };
  Completions done;
  auto scheduler = MakeInlineScheduler(1, fn, absl::Seconds(10));
  scheduler->Enqueue(InlinePayload(1, done));  // Sets the estimate, on the worker.
  ASSERT_TRUE(done.WaitFor(1));
  gate = true;
  scheduler->Enqueue(InlinePayload(2, done, /*allow=*/false));  // Holds the instance.
  while (active.load() == 0) std::this_thread::yield();
  scheduler->Enqueue(InlinePayload(3, done));  // Must queue, not run beside request 2.
  EXPECT_EQ(done.size(), 1u);
  release.Notify();
  ASSERT_TRUE(done.WaitFor(3));
  EXPECT_EQ(max_active.load(), 1);
  EXPECT_TRUE(done.Get(3).status.ok()) << done.Get(3).status;
}

// Echo, except that request 2 says it started and then waits for `release`.
testing::FakeModelInstance::ExecuteFn HoldRequestTwo(absl::Notification& started,
                                                     absl::Notification& release) {
  return [&started, &release](ExecutionBatch& batch) {
    if (FirstInputValue(batch) == 2) {
      started.Notify();
      release.WaitForNotificationWithTimeout(kHangGuard);
    }
    return Echo(batch);
  };
}

TEST(InstanceQueueSchedulerInlineTest, AnotherInstanceServesTheQueueWhileOneRunsInline) {
  absl::Notification inline_started;
  absl::Notification release;
  Completions done;
  auto scheduler =
      MakeInlineScheduler(2, HoldRequestTwo(inline_started, release), absl::Seconds(10));
  scheduler->Enqueue(InlinePayload(1, done));
  ASSERT_TRUE(done.WaitFor(1));
  std::thread caller([&] { scheduler->Enqueue(InlinePayload(2, done)); });
  ASSERT_TRUE(inline_started.WaitForNotificationWithTimeout(kHangGuard));
  // Request 3 may not run inline: it queues, and the idle instance's worker must take it while
  // request 2 still holds the other instance.
  scheduler->Enqueue(InlinePayload(3, done, /*allow=*/false));
  ASSERT_TRUE(done.WaitFor(2));
  EXPECT_TRUE(done.Get(3).status.ok()) << done.Get(3).status;
  EXPECT_EQ(done.size(), 2u);  // Request 2 is still held.
  release.Notify();
  caller.join();
  ASSERT_TRUE(done.WaitFor(3));
}

// One instance: request 1 has run (on the worker, setting the estimate) and request 2 is running
// inline on `caller_`, held there until release_ is notified.
class InstanceQueueSchedulerHeldInlineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    scheduler_ = MakeInlineScheduler(1, HoldRequestTwo(inline_started_, release_),
                                     absl::Seconds(10));
    scheduler_->Enqueue(InlinePayload(1, done_));
    ASSERT_TRUE(done_.WaitFor(1));
    caller_ = std::thread([this] { scheduler_->Enqueue(InlinePayload(2, done_)); });
    ASSERT_TRUE(inline_started_.WaitForNotificationWithTimeout(kHangGuard));
  }
  void TearDown() override {
    if (!release_.HasBeenNotified()) release_.Notify();
    if (caller_.joinable()) caller_.join();
  }

  absl::Notification inline_started_;
  absl::Notification release_;
  Completions done_;
  std::unique_ptr<Scheduler> scheduler_;
  std::thread caller_;
};

TEST_F(InstanceQueueSchedulerHeldInlineTest, RequestQueuedBehindAnInlineExecutionStillRuns) {
  // Request 3 queues behind the inline request 2, and the instance's worker must pick it up once
  // request 2 ends.
  scheduler_->Enqueue(InlinePayload(3, done_));
  EXPECT_EQ(done_.size(), 1u);
  release_.Notify();
  caller_.join();
  ASSERT_TRUE(done_.WaitFor(3));
  EXPECT_TRUE(done_.Get(3).status.ok()) << done_.Get(3).status;
  EXPECT_THAT(done_.Get(3).response.outputs[0].As<float>(), ElementsAre(3));
}

TEST_F(InstanceQueueSchedulerHeldInlineTest, DrainWaitsForAnInlineExecutionAndItsCallback) {
  std::atomic<bool> drained{false};
  std::thread drainer([&] {
    scheduler_->Drain();
    drained = true;
  });
  absl::SleepFor(absl::Milliseconds(50));
  EXPECT_FALSE(drained.load());  // The inline request is still running.
  release_.Notify();
  drainer.join();
  EXPECT_EQ(done_.size(), 2u);  // Drain returned only after request 2's callback.
  caller_.join();
  // After Drain, a request is refused, inline allowed or not.
  scheduler_->Enqueue(InlinePayload(4, done_));
  ASSERT_TRUE(done_.WaitFor(3));
  EXPECT_EQ(done_.Get(4).status.code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace inferd
