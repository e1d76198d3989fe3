// SPDX-License-Identifier: Apache-2.0
// The batcher on a fake clock and a fake executor: every decision below is deterministic, and
// "when" is read from the fake clock, never from real time.
#include "scheduler/dynamic_batcher.h"

#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scheduler/test_util/batch_payloads.h"
#include "scheduler/test_util/fake_model_instance.h"
#include "scheduler/test_util/fake_task_executor.h"

namespace inferd {
namespace {

using ::inferd::testing::CompletionLog;
using ::inferd::testing::EchoBatch;
using ::inferd::testing::ExpectedRows;
using ::inferd::testing::FakeClock;
using ::inferd::testing::FakeModelInstance;
using ::inferd::testing::FakeTaskExecutor;
using ::inferd::testing::MakeBatchPayload;
using ::inferd::testing::RecordingObserver;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

constexpr int64_t kUs = 1000;  // ns

BatchQueueOptions Batching(int max_batch_size, int64_t delay_us,
                           std::vector<int> preferred = {}) {
  BatchQueueOptions options;
  options.max_batch_size = max_batch_size;
  options.max_queue_delay_ns = delay_us * kUs;
  options.preferred_batch_sizes = std::move(preferred);
  return options;
}

class DynamicBatcherTest : public ::testing::Test {
 protected:
  // One execution as an instance saw it.
  struct Executed {
    int instance = 0;
    int batch_size = 0;
    std::vector<float> row_keys;  // First value of each row: which requests were batched.
    int64_t width = 0;
    int64_t at_ns = 0;
    const std::byte* input_data = nullptr;
  };

  void Start(BatchQueueOptions batching, int instances = 1, bool preserve_ordering = false) {
    DynamicBatcherOptions options;
    options.model_name = "m";
    options.model_version = 1;
    options.batching = std::move(batching);
    options.preserve_ordering = preserve_ordering;
    options.clock = &clock_;
    options.executor = &executor_;
    options.observer = &observer_;
    std::vector<std::unique_ptr<ModelInstance>> list;
    for (int i = 0; i < instances; ++i) {
      list.push_back(std::make_unique<FakeModelInstance>([this, i](ExecutionBatch& batch) {
        const TensorView& in = batch.inputs()[0];
        Executed e;
        e.instance = i;
        e.batch_size = batch.batch_size();
        e.width = in.shape.size() > 1 ? in.shape[1] : 1;
        for (int r = 0; r < static_cast<int>(in.shape[0]); ++r) {
          e.row_keys.push_back(in.As<float>()[static_cast<size_t>(r * e.width)]);
        }
        e.at_ns = clock_.NowNanos();
        e.input_data = in.data;
        executed_.push_back(e);
        return EchoBatch(batch);
      }));
    }
    auto batcher = CreateDynamicBatcher(std::move(options), std::move(list));
    ASSERT_TRUE(batcher.ok()) << batcher.status();
    batcher_ = *std::move(batcher);
  }

  // Enqueues a request keyed `key` (its rows hold key, key+1, ...).
  InferPayload* Enqueue(float key, int batch = 1, int width = 4, int64_t priority = 0,
                        int64_t timeout_us = 0) {
    auto payload = MakeBatchPayload(key, batch, width, log_.Callback(key));
    payload->priority = priority;
    payload->timeout_micros = timeout_us;
    InferPayload* raw = payload.get();
    batcher_->Enqueue(std::move(payload));
    return raw;
  }

  void ExpectServed(float key, int batch = 1, int width = 4) {
    ASSERT_TRUE(log_.Has(key)) << "request " << key << " did not complete";
    EXPECT_TRUE(log_.Status(key).ok()) << key << ": " << log_.Status(key);
    EXPECT_EQ(log_.Output(key), ExpectedRows(key, batch, width)) << "request " << key;
    EXPECT_EQ(log_.Calls(key), 1);
  }

  std::vector<int> BatchSizes() const {
    std::vector<int> sizes;
    for (const Executed& e : executed_) sizes.push_back(e.batch_size);
    return sizes;
  }

  void TearDown() override {
    executor_.RunInline();
    batcher_.reset();
  }

  FakeClock clock_;
  FakeTaskExecutor executor_{&clock_};
  RecordingObserver observer_;
  CompletionLog log_;
  std::vector<Executed> executed_;
  std::unique_ptr<Scheduler> batcher_;
};

TEST_F(DynamicBatcherTest, RequestsArrivingWithinTheDelayRunAsOneBatch) {
  Start(Batching(/*max_batch_size=*/8, /*delay_us=*/1000));
  const int64_t t0 = clock_.NowNanos();
  Enqueue(10);
  executor_.Advance(300 * kUs);
  Enqueue(20);
  executor_.Advance(300 * kUs);
  Enqueue(30);
  EXPECT_TRUE(executed_.empty()) << "nothing runs before the delay is up";
  EXPECT_EQ(batcher_->PendingCount(), 3);

  executor_.Advance(1000 * kUs);
  ASSERT_EQ(executed_.size(), 1u);
  EXPECT_THAT(executed_[0].row_keys, ElementsAre(10, 20, 30));
  EXPECT_EQ(executed_[0].at_ns, t0 + 1000 * kUs) << "runs when the oldest has waited the delay";
  ExpectServed(10);
  ExpectServed(20);
  ExpectServed(30);
  EXPECT_EQ(log_.Payload(20).compute_start_ns - log_.Payload(20).queue_start_ns, 700 * kUs);
  EXPECT_EQ(batcher_->PendingCount(), 0);
  ASSERT_EQ(observer_.records().size(), 1u);
  EXPECT_EQ(observer_.records()[0].batch_size, 3);
}

TEST_F(DynamicBatcherTest, FullBatchRunsAtOnceAndTheRestWaits) {
  Start(Batching(/*max_batch_size=*/4, /*delay_us=*/5000));
  for (int i = 0; i < 6; ++i) Enqueue(static_cast<float>(10 * (i + 1)));
  executor_.RunPending();
  ASSERT_EQ(executed_.size(), 1u);
  EXPECT_THAT(executed_[0].row_keys, ElementsAre(10, 20, 30, 40));
  EXPECT_EQ(batcher_->PendingCount(), 2);

  executor_.Advance(5000 * kUs);
  ASSERT_EQ(executed_.size(), 2u);
  EXPECT_THAT(executed_[1].row_keys, ElementsAre(50, 60));
  for (int i = 0; i < 6; ++i) ExpectServed(static_cast<float>(10 * (i + 1)));
}

TEST_F(DynamicBatcherTest, RequestBatchSizesAddUpToMaxBatchSize) {
  Start(Batching(/*max_batch_size=*/8, /*delay_us=*/1000));
  Enqueue(10, /*batch=*/3);
  Enqueue(20, /*batch=*/4);
  Enqueue(30, /*batch=*/2);  // 3 + 4 + 2 > 8: waits for the next batch.
  executor_.RunPending();
  ASSERT_EQ(executed_.size(), 1u) << "the batch cannot grow, so it runs without waiting";
  EXPECT_EQ(executed_[0].batch_size, 7);
  EXPECT_THAT(executed_[0].row_keys, ElementsAre(10, 11, 12, 20, 21, 22, 23));
  executor_.Advance(1000 * kUs);
  ASSERT_EQ(executed_.size(), 2u);
  EXPECT_EQ(executed_[1].batch_size, 2);
  ExpectServed(10, 3);
  ExpectServed(20, 4);
  ExpectServed(30, 2);
}

TEST_F(DynamicBatcherTest, QueueDelayIsNeverExceeded) {
  constexpr int64_t kDelayUs = 500;
  Start(Batching(/*max_batch_size=*/8, kDelayUs));
  // A fixed pseudo-random arrival pattern: gaps of 0 to 299 us.
  uint32_t state = 12345;
  for (int i = 0; i < 200; ++i) {
    Enqueue(static_cast<float>(i));
    executor_.RunPending();  // A batch that is ready runs now, before the clock moves on.
    state = state * 1103515245u + 12345u;
    executor_.Advance(static_cast<int64_t>((state >> 16) % 300) * kUs);
  }
  executor_.Advance(kDelayUs * kUs);
  bool some_batched = false;
  for (const auto& e : executed_) some_batched |= e.batch_size > 1;
  EXPECT_TRUE(some_batched);
  for (int i = 0; i < 200; ++i) {
    const auto key = static_cast<float>(i);
    ExpectServed(key);
    const InferPayload& p = log_.Payload(key);
    // The fake executor fires a wake-up exactly at its deadline: the tolerance is zero.
    EXPECT_LE(p.compute_start_ns - p.queue_start_ns, kDelayUs * kUs) << "request " << i;
  }
}

TEST_F(DynamicBatcherTest, EmptyDelayRunsWhatIsThereAtOnce) {
  Start(Batching(/*max_batch_size=*/8, /*delay_us=*/0));
  Enqueue(10);
  executor_.RunPending();
  ASSERT_EQ(executed_.size(), 1u);
  EXPECT_EQ(executed_[0].batch_size, 1);
  ExpectServed(10);
}

TEST_F(DynamicBatcherTest, LargestPreferredSizeIsFormedFirst) {
  Start(Batching(/*max_batch_size=*/8, /*delay_us=*/1000, /*preferred=*/{2, 4}));
  Enqueue(10);
  executor_.RunPending();
  EXPECT_TRUE(executed_.empty()) << "1 is not a preferred size: wait";
  Enqueue(20);
  auto first = executor_.TakeTask();  // The batch of 2 (preferred): the instance is busy with it.
  for (int i = 3; i <= 9; ++i) Enqueue(static_cast<float>(10 * i));  // 7 queued meanwhile.
  std::move(first)();
  executor_.RunPending();
  EXPECT_THAT(BatchSizes(), ElementsAre(2, 4, 2)) << "7 queued: 4, then 2, and 1 waits";
  executor_.Advance(1000 * kUs);
  EXPECT_THAT(BatchSizes(), ElementsAre(2, 4, 2, 1));
  for (int i = 1; i <= 9; ++i) ExpectServed(static_cast<float>(10 * i));
}

TEST_F(DynamicBatcherTest, DifferentShapesAreNeverMixed) {
  Start(Batching(/*max_batch_size=*/8, /*delay_us=*/1000));
  Enqueue(10, 1, /*width=*/3);
  Enqueue(20, 1, /*width=*/5);
  Enqueue(30, 2, /*width=*/3);
  Enqueue(40, 1, /*width=*/5);
  Enqueue(50, 1, /*width=*/3);
  executor_.Advance(1000 * kUs);
  ASSERT_EQ(executed_.size(), 2u);
  EXPECT_EQ(executed_[0].width, 3);
  EXPECT_THAT(executed_[0].row_keys, ElementsAre(10, 30, 31, 50));
  EXPECT_EQ(executed_[1].width, 5);
  EXPECT_THAT(executed_[1].row_keys, ElementsAre(20, 40));
  ExpectServed(10, 1, 3);
  ExpectServed(20, 1, 5);
  ExpectServed(30, 2, 3);
  ExpectServed(40, 1, 5);
  ExpectServed(50, 1, 3);
}

TEST_F(DynamicBatcherTest, PrioritiesOrderTheQueue) {
  BatchQueueOptions batching = Batching(/*max_batch_size=*/2, /*delay_us=*/0);
  batching.priority_levels = 3;
  batching.default_priority_level = 2;
  batching.level_policies.assign(3, QueuePolicy{});
  Start(std::move(batching));
  Enqueue(1, 1, 4, /*priority=*/2);
  auto busy = executor_.TakeTask();
  Enqueue(10, 1, 4, /*priority=*/3);
  Enqueue(20, 1, 4, /*priority=*/0);  // The default level, 2.
  Enqueue(30, 1, 4, /*priority=*/1);
  Enqueue(40, 1, 4, /*priority=*/1);
  Enqueue(50, 1, 4, /*priority=*/3);
  Enqueue(60, 1, 4, /*priority=*/9);  // Out of range: the default level.
  std::move(busy)();
  executor_.RunPending();
  ASSERT_EQ(executed_.size(), 4u);
  EXPECT_THAT(executed_[1].row_keys, ElementsAre(30, 40));
  EXPECT_THAT(executed_[2].row_keys, ElementsAre(20, 60));
  EXPECT_THAT(executed_[3].row_keys, ElementsAre(10, 50));
  for (float key : {1, 10, 20, 30, 40, 50, 60}) ExpectServed(key);
}

TEST_F(DynamicBatcherTest, FullQueueRefusesAtOnceNamingModelAndLimit) {
  BatchQueueOptions batching = Batching(/*max_batch_size=*/1, /*delay_us=*/0);
  batching.level_policies[0].max_queue_size = 2;
  Start(std::move(batching));
  Enqueue(1);
  auto busy = executor_.TakeTask();
  Enqueue(10);
  Enqueue(20);
  Enqueue(30);  // Third in the queue: refused.
  ASSERT_TRUE(log_.Has(30)) << "refused at once, not queued";
  EXPECT_EQ(log_.Status(30).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(log_.Status(30).message()),
              AllOf(HasSubstr("model 'm'"), HasSubstr("queue is full"),
                    HasSubstr("max_queue_size 2")));
  std::move(busy)();
  executor_.RunPending();
  ExpectServed(1);
  ExpectServed(10);
  ExpectServed(20);
  Enqueue(40);  // Room again.
  executor_.RunPending();
  ExpectServed(40);
}

TEST_F(DynamicBatcherTest, FullPriorityLevelNamesItsLevel) {
  BatchQueueOptions batching = Batching(/*max_batch_size=*/1, /*delay_us=*/0);
  batching.priority_levels = 2;
  batching.default_priority_level = 2;
  batching.level_policies = {QueuePolicy{}, QueuePolicy{}};
  batching.level_policies[1].max_queue_size = 1;
  Start(std::move(batching));
  Enqueue(1);
  auto busy = executor_.TakeTask();
  Enqueue(10, 1, 4, /*priority=*/2);
  Enqueue(20, 1, 4, /*priority=*/2);
  Enqueue(30, 1, 4, /*priority=*/1);  // Level 1 has no limit.
  EXPECT_EQ(log_.Status(20).code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(log_.Status(20).message()),
              AllOf(HasSubstr("model 'm'"), HasSubstr("priority level 2"),
                    HasSubstr("max_queue_size 1")));
  std::move(busy)();
  executor_.RunPending();
  ExpectServed(10);
  ExpectServed(30);
}

TEST_F(DynamicBatcherTest, TimedOutRequestGetsDeadlineExceeded) {
  BatchQueueOptions batching = Batching(/*max_batch_size=*/1, /*delay_us=*/0);
  batching.level_policies[0].default_timeout_us = 500;
  Start(std::move(batching));
  Enqueue(1);
  auto busy = executor_.TakeTask();
  Enqueue(10);
  executor_.Advance(499 * kUs);
  EXPECT_FALSE(log_.Has(10));
  executor_.Advance(1 * kUs);
  ASSERT_TRUE(log_.Has(10)) << "rejected when its timeout passes, not when an instance frees";
  EXPECT_EQ(log_.Status(10).code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_THAT(std::string(log_.Status(10).message()),
              AllOf(HasSubstr("model 'm'"), HasSubstr("timed out"), HasSubstr("timeout 500 us")));
  EXPECT_EQ(batcher_->PendingCount(), 1);
  std::move(busy)();
  Enqueue(20);
  executor_.RunPending();
  ExpectServed(1);
  ExpectServed(20);
}

TEST_F(DynamicBatcherTest, RequestTimeoutHonouredOnlyWhenOverrideAllowed) {
  BatchQueueOptions batching = Batching(/*max_batch_size=*/1, /*delay_us=*/0);
  batching.level_policies[0].allow_timeout_override = true;
  Start(std::move(batching));
  Enqueue(1);
  auto busy = executor_.TakeTask();
  Enqueue(10, 1, 4, 0, /*timeout_us=*/200);
  Enqueue(20);  // No timeout of its own, and no default.
  executor_.Advance(200 * kUs);
  EXPECT_EQ(log_.Status(10).code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_FALSE(log_.Has(20));
  std::move(busy)();
  executor_.RunPending();
  ExpectServed(20);
}

TEST_F(DynamicBatcherTest, RequestTimeoutIgnoredWithoutOverride) {
  BatchQueueOptions batching = Batching(/*max_batch_size=*/1, /*delay_us=*/0);
  batching.level_policies[0].default_timeout_us = 1000;
  Start(std::move(batching));
  Enqueue(1);
  auto busy = executor_.TakeTask();
  Enqueue(10, 1, 4, 0, /*timeout_us=*/100);
  executor_.Advance(500 * kUs);
  EXPECT_FALSE(log_.Has(10)) << "the request may not shorten the timeout";
  executor_.Advance(500 * kUs);
  EXPECT_EQ(log_.Status(10).code(), absl::StatusCode::kDeadlineExceeded);
  std::move(busy)();
  executor_.RunPending();
}

TEST_F(DynamicBatcherTest, DelayActionRunsTimedOutRequestsAfterTheOthers) {
  BatchQueueOptions batching = Batching(/*max_batch_size=*/1, /*delay_us=*/0);
  batching.level_policies[0].default_timeout_us = 100;
  batching.level_policies[0].delay_on_timeout = true;
  Start(std::move(batching));
  Enqueue(1);
  auto busy = executor_.TakeTask();
  Enqueue(10);
  executor_.Advance(200 * kUs);  // 10 times out: delayed, not rejected.
  Enqueue(20);
  std::move(busy)();
  executor_.RunPending();
  ASSERT_EQ(executed_.size(), 3u);
  EXPECT_THAT(executed_[1].row_keys, ElementsAre(20));
  EXPECT_THAT(executed_[2].row_keys, ElementsAre(10));
  ExpectServed(10);
  ExpectServed(20);
}

TEST_F(DynamicBatcherTest, InstancesRunInParallelButNeverTwoBatchesEach) {
  Start(Batching(/*max_batch_size=*/1, /*delay_us=*/0), /*instances=*/2);
  Enqueue(10);
  Enqueue(20);
  Enqueue(30);
  EXPECT_EQ(executor_.pending_tasks(), 2u) << "one batch per instance; the third waits";
  auto a = executor_.TakeTask();
  auto b = executor_.TakeTask();
  std::move(b)();  // The second instance finishes first and takes the waiting request.
  ASSERT_EQ(executor_.pending_tasks(), 1u);
  executor_.RunPending();
  std::move(a)();
  ASSERT_EQ(executed_.size(), 3u);
  EXPECT_EQ(executed_[0].instance, 1);
  EXPECT_THAT(executed_[0].row_keys, ElementsAre(20));
  EXPECT_EQ(executed_[1].instance, 1);
  EXPECT_THAT(executed_[1].row_keys, ElementsAre(30));
  EXPECT_EQ(executed_[2].instance, 0);
  EXPECT_THAT(log_.order(), ElementsAre(20, 30, 10)) << "without preserve_ordering";
}

TEST_F(DynamicBatcherTest, PreserveOrderingKeepsResponsesInRequestOrder) {
  Start(Batching(/*max_batch_size=*/1, /*delay_us=*/0), /*instances=*/2,
        /*preserve_ordering=*/true);
  Enqueue(10);
  Enqueue(20);
  Enqueue(30);
  auto a = executor_.TakeTask();
  auto b = executor_.TakeTask();
  std::move(b)();  // 20 finishes first, and 30 runs on that instance: both must wait for 10.
  executor_.RunPending();
  EXPECT_EQ(log_.size(), 0u);
  std::move(a)();
  EXPECT_THAT(log_.order(), ElementsAre(10, 20, 30));
  ExpectServed(10);
  ExpectServed(20);
  ExpectServed(30);
}

TEST_F(DynamicBatcherTest, PreserveOrderingWithTimeoutsAndRefusals) {
  BatchQueueOptions batching = Batching(/*max_batch_size=*/1, /*delay_us=*/0);
  batching.level_policies[0].default_timeout_us = 100;
  batching.level_policies[0].max_queue_size = 2;
  Start(std::move(batching), 1, /*preserve_ordering=*/true);
  Enqueue(1);
  auto busy = executor_.TakeTask();
  Enqueue(10);
  executor_.Advance(50 * kUs);
  Enqueue(20);
  Enqueue(30);  // Refused: not part of the order.
  EXPECT_THAT(log_.order(), ElementsAre(30));
  executor_.Advance(50 * kUs);  // 10 times out, but 1 has not answered yet.
  EXPECT_THAT(log_.order(), ElementsAre(30));
  std::move(busy)();
  executor_.Advance(100 * kUs);
  EXPECT_THAT(log_.order(), ElementsAre(30, 1, 10, 20));
  EXPECT_EQ(log_.Status(10).code(), absl::StatusCode::kDeadlineExceeded);
  ExpectServed(1);
  ExpectServed(20);
}

TEST_F(DynamicBatcherTest, BatchOfOneIsNotCopied) {
  Start(Batching(/*max_batch_size=*/8, /*delay_us=*/0));
  InferPayload* payload = Enqueue(10);
  const std::byte* request_bytes = payload->inputs[0].data;
  executor_.RunPending();
  ASSERT_EQ(executed_.size(), 1u);
  EXPECT_EQ(executed_[0].input_data, request_bytes);
  ExpectServed(10);
}

TEST_F(DynamicBatcherTest, BatchOutputsAreViewsIntoOneBuffer) {
  Start(Batching(/*max_batch_size=*/2, /*delay_us=*/1000));
  Enqueue(10);
  Enqueue(20);
  executor_.RunPending();
  const InferOutput* a = log_.Payload(10).response.FindOutput("OUTPUT0");
  const InferOutput* b = log_.Payload(20).response.FindOutput("OUTPUT0");
  ASSERT_NE(a, nullptr);
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->data, a->data + a->byte_size) << "rows of one batch buffer, not copies";
  EXPECT_EQ(a->owner, b->owner);
  EXPECT_THAT(a->shape, ElementsAre(1, 4));
  ExpectServed(10);
  ExpectServed(20);
}

TEST_F(DynamicBatcherTest, DrainRunsQueuedRequestsAndRefusesNewOnes) {
  Start(Batching(/*max_batch_size=*/8, /*delay_us=*/100000));
  Enqueue(10);
  Enqueue(20);
  executor_.RunInline();
  batcher_->Drain();
  ASSERT_EQ(executed_.size(), 1u) << "drained without waiting for the delay";
  EXPECT_THAT(executed_[0].row_keys, ElementsAre(10, 20));
  ExpectServed(10);
  ExpectServed(20);
  Enqueue(30);
  EXPECT_EQ(log_.Status(30).code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(log_.Status(30).message()),
              AllOf(HasSubstr("model 'm'"), HasSubstr("unloading")));
}

TEST_F(DynamicBatcherTest, BackendErrorFailsEveryRequestOfTheBatchOnly) {
  DynamicBatcherOptions options;
  options.model_name = "m";
  options.batching = Batching(/*max_batch_size=*/4, /*delay_us=*/1000);
  options.clock = &clock_;
  options.executor = &executor_;
  int calls = 0;
  std::vector<std::unique_ptr<ModelInstance>> list;
  list.push_back(std::make_unique<FakeModelInstance>([&calls](ExecutionBatch& batch) {
    if (++calls == 1) return absl::InternalError("backend exploded");
    return EchoBatch(batch);
  }));
  auto batcher = CreateDynamicBatcher(std::move(options), std::move(list));
  ASSERT_TRUE(batcher.ok());
  batcher_ = *std::move(batcher);
  Enqueue(10);
  Enqueue(20);
  executor_.Advance(1000 * kUs);
  EXPECT_EQ(log_.Status(10).code(), absl::StatusCode::kInternal);
  EXPECT_EQ(log_.Status(20).code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(log_.Status(20).message()), HasSubstr("backend exploded"));
  Enqueue(30);
  Enqueue(40);
  executor_.Advance(1000 * kUs);
  ExpectServed(30);
  ExpectServed(40);
}

TEST(DynamicBatcherFactoryTest, RefusesBadOptions) {
  auto instances = [] {
    return ::inferd::testing::FakeInstances(1, [](ExecutionBatch&) { return absl::OkStatus(); });
  };
  {
    DynamicBatcherOptions options;
    options.model_name = "m";
    auto s = CreateDynamicBatcher(options, {});
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(s.status().message()), HasSubstr("no instances"));
  }
  {
    DynamicBatcherOptions options;
    options.model_name = "m";
    options.batching = Batching(4, 0, {8});
    auto s = CreateDynamicBatcher(options, instances());
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(s.status().message()),
                AllOf(HasSubstr("model 'm'"), HasSubstr("preferred_batch_size 8")));
  }
  {
    DynamicBatcherOptions options;
    options.model_name = "m";
    options.batching = Batching(4, 0);
    options.batching.priority_levels = 2;
    options.batching.default_priority_level = 1;
    auto s = CreateDynamicBatcher(options, instances());
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(s.status().message()), HasSubstr("1 queue policies for 2"));
  }
  {
    DynamicBatcherOptions options;
    options.model_name = "m";
    options.batching = Batching(4, 0);
    options.batching.priority_levels = 2;
    options.batching.default_priority_level = 3;
    options.batching.level_policies.assign(2, QueuePolicy{});
    auto s = CreateDynamicBatcher(options, instances());
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(s.status().message()), HasSubstr("default_priority_level 3"));
  }
}

// The real thread pool and clock: many threads at once, every response its own (no timing).
TEST(DynamicBatcherThreadsTest, ConcurrentClientsGetTheirOwnOutputs) {
  RecordingObserver observer;
  DynamicBatcherOptions options;
  options.model_name = "m";
  options.batching = Batching(/*max_batch_size=*/8, /*delay_us=*/2000);
  options.observer = &observer;
  auto batcher = CreateDynamicBatcher(
      std::move(options), ::inferd::testing::FakeInstances(2, [](ExecutionBatch& batch) {
        return EchoBatch(batch);
      }));
  ASSERT_TRUE(batcher.ok());
  CompletionLog log;
  constexpr int kThreads = 8;
  constexpr int kPerThread = 50;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        const auto key = static_cast<float>(t * 1000 + i * 2);
        (*batcher)->Enqueue(MakeBatchPayload(key, 1 + i % 2, 3, log.Callback(key)));
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(log.WaitFor(kThreads * kPerThread, absl::Seconds(60)));
  (*batcher)->Drain();
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      const auto key = static_cast<float>(t * 1000 + i * 2);
      ASSERT_TRUE(log.Status(key).ok()) << log.Status(key);
      EXPECT_EQ(log.Output(key), ExpectedRows(key, 1 + i % 2, 3));
    }
  }
  int elements = 0;
  for (const ExecutionRecord& r : observer.records()) elements += r.batch_size;
  EXPECT_EQ(elements, kThreads * kPerThread * 3 / 2);
}

}  // namespace
}  // namespace inferd
