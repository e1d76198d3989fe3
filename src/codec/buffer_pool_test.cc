// SPDX-License-Identifier: Apache-2.0
#include "codec/buffer_pool.h"

#include <gtest/gtest.h>

#include <cstdint>

namespace inferd {
namespace {

TEST(BufferPool, ReleasedBlocksAreReusedAndAligned) {
  auto pool = BufferPool::Create(1 << 20);
  std::byte* first = nullptr;
  {
    auto block = pool->Get(602112);
    first = block.get();
    EXPECT_EQ(reinterpret_cast<uintptr_t>(first) % 64, 0u);
  }
  EXPECT_EQ(pool->cached_bytes(), size_t{1} << 20);
  auto again = pool->Get(700000);  // Same power-of-two class.
  EXPECT_EQ(again.get(), first);
  EXPECT_EQ(pool->cached_bytes(), 0u);
}

TEST(BufferPool, CacheLimitFreesTheRest) {
  auto pool = BufferPool::Create(8192);
  {
    auto a = pool->Get(4096);
    auto b = pool->Get(4096);
    auto c = pool->Get(4096);
  }
  EXPECT_EQ(pool->cached_bytes(), 8192u);
}

TEST(BufferPool, ReleaseCachedBlocksEmptiesTheCache) {
  auto pool = BufferPool::Create(8 << 20);
  { auto a = pool->Get(4 << 20); }
  EXPECT_EQ(pool->cached_bytes(), 4u << 20);
  auto in_use = pool->Get(4096);
  pool->ReleaseCachedBlocks();
  EXPECT_EQ(pool->cached_bytes(), 0u);
  in_use.reset();  // A block in use at the time still comes back to the pool.
  EXPECT_EQ(pool->cached_bytes(), 4096u);
}

TEST(BufferPool, BlocksMayOutliveThePool) {
  auto pool = BufferPool::Create(1 << 20);
  auto block = pool->Get(100);
  pool.reset();
  block.get()[99] = std::byte{1};  // Still valid; freed on release (ASan checks).
}

TEST(BufferPool, OutputAllocatorHandsOutPooledBuffers) {
  auto pool = BufferPool::Create(1 << 20);
  auto buffer = pool->output_allocator()->Allocate("OUTPUT0", DataType::kFp32, {}, 64);
  ASSERT_TRUE(buffer.ok());
  EXPECT_NE(buffer->data, nullptr);
  buffer->owner.reset();
  EXPECT_EQ(pool->cached_bytes(), 4096u);
}

}  // namespace
}  // namespace inferd
