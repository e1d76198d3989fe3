// SPDX-License-Identifier: Apache-2.0
#include "scheduler/batch_queue.h"

#include <memory>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "scheduler/test_util/batch_payloads.h"

namespace inferd {
namespace {

using ::inferd::testing::MakeBatchPayload;

TEST(BatchQueueTest, LevelForMapsZeroAndOutOfRangeToTheDefault) {
  BatchQueueOptions options;
  options.priority_levels = 3;
  options.default_priority_level = 2;
  options.level_policies.assign(3, QueuePolicy{});
  BatchQueue queue(options);
  EXPECT_EQ(queue.LevelFor(0), 2);
  EXPECT_EQ(queue.LevelFor(1), 1);
  EXPECT_EQ(queue.LevelFor(3), 3);
  EXPECT_EQ(queue.LevelFor(4), 2);
  BatchQueue single{BatchQueueOptions{}};
  EXPECT_EQ(single.LevelFor(7), 1) << "without levels, priorities are ignored";
}

TEST(BatchQueueTest, NextDeadlineIsTheEarlierOfDelayAndTimeout) {
  BatchQueueOptions options;
  options.max_batch_size = 4;
  options.max_queue_delay_ns = 1000;
  options.level_policies[0].default_timeout_us = 5;  // 5000 ns.
  BatchQueue queue(options);
  EXPECT_EQ(queue.NextDeadline(true), BatchQueue::kNever);
  auto payload = MakeBatchPayload(1, 1, 2, nullptr);
  ASSERT_TRUE(queue.Push(payload, 0, 100).ok());
  EXPECT_EQ(queue.NextDeadline(true), 1100);
  EXPECT_EQ(queue.NextDeadline(false), 5100);
  EXPECT_TRUE(queue.TakeBatch(1099, false).empty());
  EXPECT_EQ(queue.TakeBatch(1100, false).size(), 1u);
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(queue.NextDeadline(true), BatchQueue::kNever);
}

TEST(BatchQueueTest, NonBatchingModelTakesOneRequestAtATime) {
  BatchQueueOptions options;
  options.max_batch_size = 0;
  options.max_queue_delay_ns = 1'000'000;
  BatchQueue queue(options);
  for (uint64_t i = 0; i < 3; ++i) {
    auto payload = MakeBatchPayload(static_cast<float>(i), 1, 2, nullptr);
    ASSERT_TRUE(queue.Push(payload, i, 0).ok());
  }
  EXPECT_EQ(queue.TakeBatch(0, false).size(), 1u) << "a batch of one cannot grow: no delay";
  EXPECT_EQ(queue.size(), 2);
}

TEST(BatchQueueTest, SameInputShapesIgnoresOnlyTheBatchDimension) {
  auto a = MakeBatchPayload(1, 1, 3, nullptr);
  auto b = MakeBatchPayload(1, 4, 3, nullptr);
  auto c = MakeBatchPayload(1, 1, 4, nullptr);
  EXPECT_TRUE(SameInputShapes(*a, *b, true));
  EXPECT_FALSE(SameInputShapes(*a, *b, false));
  EXPECT_FALSE(SameInputShapes(*a, *c, true));
}

}  // namespace
}  // namespace inferd
