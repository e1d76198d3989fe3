// SPDX-License-Identifier: Apache-2.0
#include "backends/torchscript/caching_cpu_allocator.h"

#include <ATen/ATen.h>
#include <c10/core/CPUAllocator.h>
#include <gtest/gtest.h>

#include <cstdint>

namespace inferd::torchscript {
namespace {

class CachingCpuAllocatorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { CachingCpuAllocator::Install(); }
  void SetUp() override {
    allocator().set_max_cached_bytes(CachingCpuAllocator::kDefaultMaxCachedBytes);
    allocator().EmptyCache();
  }
  static CachingCpuAllocator& allocator() { return CachingCpuAllocator::Get(); }
};

TEST_F(CachingCpuAllocatorTest, IsLibtorchsCpuAllocatorOnceInstalled) {
  EXPECT_EQ(c10::GetCPUAllocator(), &allocator());
  at::Tensor t = at::empty({1 << 18}, at::kFloat);  // 1 MiB
  EXPECT_EQ(t.storage().data_ptr().get_deleter(), allocator().raw_deleter());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data_ptr()) % 64, 0u);
}

TEST_F(CachingCpuAllocatorTest, AFreedBlockServesTheNextTensorOfItsSize) {
  void* first = nullptr;
  {
    at::Tensor t = at::ones({1 << 18}, at::kFloat);
    first = t.data_ptr();
  }
  EXPECT_GE(allocator().stats().cached_bytes, size_t{1} << 20);
  const uint64_t hits = allocator().stats().hits;
  at::Tensor again = at::zeros({1 << 18}, at::kFloat);
  EXPECT_EQ(again.data_ptr(), first);
  EXPECT_EQ(allocator().stats().hits, hits + 1);
  EXPECT_EQ(again.sum().item<float>(), 0.0f);  // Reused memory is the caller's to initialise.
}

TEST_F(CachingCpuAllocatorTest, ABlockMoreThanTwiceTheSizeAskedForIsNotUsed) {
  { at::Tensor big = at::empty({1 << 20}, at::kFloat); }  // 4 MiB cached
  const uint64_t misses = allocator().stats().misses;
  at::Tensor small = at::empty({1 << 17}, at::kFloat);  // 512 KiB
  EXPECT_EQ(allocator().stats().misses, misses + 1);
  at::Tensor half = at::empty({(1 << 19) + 1}, at::kFloat);  // just over 2 MiB: fits
  EXPECT_EQ(allocator().stats().misses, misses + 1);
}

TEST_F(CachingCpuAllocatorTest, SmallBlocksGoStraightBackToMalloc) {
  { at::Tensor t = at::empty({16}, at::kFloat); }
  EXPECT_EQ(allocator().stats().cached_bytes, 0u);
}

TEST_F(CachingCpuAllocatorTest, TheCacheNeverHoldsMoreThanItsLimit) {
  allocator().set_max_cached_bytes(3 << 20);
  {
    std::vector<at::Tensor> tensors;
    for (int i = 0; i < 4; ++i) tensors.push_back(at::empty({1 << 18}, at::kFloat));  // 4 x 1 MiB
  }
  EXPECT_LE(allocator().stats().cached_bytes, size_t{3} << 20);
  EXPECT_GE(allocator().stats().cached_bytes, size_t{2} << 20);
  allocator().set_max_cached_bytes(1 << 20);  // Lowering the limit frees what no longer fits.
  EXPECT_LE(allocator().stats().cached_bytes, size_t{1} << 20);
}

TEST_F(CachingCpuAllocatorTest, EmptyCacheReturnsEverythingAndLiveBlocksAreCounted) {
  at::Tensor live = at::empty({1 << 18}, at::kFloat);
  { at::Tensor freed = at::empty({1 << 18}, at::kFloat); }
  EXPECT_GE(allocator().stats().live_bytes, size_t{1} << 20);
  allocator().EmptyCache();
  EXPECT_EQ(allocator().stats().cached_bytes, 0u);
  live.fill_(1.0f);  // Still valid.
  EXPECT_EQ(live.sum().item<float>(), static_cast<float>(1 << 18));
}

TEST_F(CachingCpuAllocatorTest, ABlockFromTheDefaultAllocatorIsFreedByIt) {
  // Memory libtorch took before Install() and releases through raw_deallocate.
  void* foreign = c10::GetDefaultCPUAllocator()->raw_allocate(1 << 20);
  ASSERT_NE(foreign, nullptr);
  allocator().raw_deallocate(foreign);  // Not cached, not a crash (ASan would see a bad free).
  EXPECT_EQ(allocator().stats().cached_bytes, 0u);
}

TEST_F(CachingCpuAllocatorTest, ComputationsGiveTheSameResultsThroughTheCache) {
  at::manual_seed(3);
  const at::Tensor x = at::randn({4, 3, 32, 32});
  const at::Tensor w = at::randn({8, 3, 3, 3});
  const at::Tensor first = at::conv2d(x, w).relu().sum({2, 3});
  for (int i = 0; i < 3; ++i) {  // Later calls run on recycled blocks.
    EXPECT_TRUE(at::equal(at::conv2d(x, w).relu().sum({2, 3}), first));
  }
  EXPECT_GT(allocator().stats().hits, 0u);
}

}  // namespace
}  // namespace inferd::torchscript
