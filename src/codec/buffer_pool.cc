// SPDX-License-Identifier: Apache-2.0
#include "codec/buffer_pool.h"

#include <bit>
#include <cstdlib>
#include <new>

namespace inferd {
namespace {

constexpr int kMinClass = 12;  // 4 KiB.

int SizeClass(size_t size) {
  if (size <= (size_t{1} << kMinClass)) return kMinClass;
  return std::bit_width(size - 1);
}

class PooledOutputAllocator final : public OutputAllocator {
 public:
  explicit PooledOutputAllocator(BufferPool* pool) : pool_(pool) {}
  absl::StatusOr<OutputBuffer> Allocate(std::string_view, DataType, std::span<const int64_t>,
                                        size_t byte_size) override {
    std::shared_ptr<std::byte> block = pool_->Get(byte_size);
    OutputBuffer out;
    out.data = block.get();
    out.owner = std::move(block);
    return out;
  }

 private:
  BufferPool* pool_;  // The pool owns this allocator.
};

}  // namespace

std::shared_ptr<BufferPool> BufferPool::Create(size_t max_cached_bytes) {
  std::shared_ptr<BufferPool> pool(new BufferPool(max_cached_bytes));
  pool->output_allocator_ = std::make_shared<PooledOutputAllocator>(pool.get());
  return pool;
}

BufferPool::~BufferPool() {
  absl::MutexLock lock(&mu_);
  for (auto& list : free_) {
    for (std::byte* block : list) std::free(block);
  }
}

std::shared_ptr<std::byte> BufferPool::Get(size_t size) {
  const int size_class = SizeClass(size);
  std::byte* block = nullptr;
  {
    absl::MutexLock lock(&mu_);
    if (size_class < kClasses && !free_[size_class].empty()) {
      block = free_[size_class].back();
      free_[size_class].pop_back();
      cached_bytes_ -= size_t{1} << size_class;
    }
  }
  if (block == nullptr) {
    const size_t bytes = size_class < kClasses ? size_t{1} << size_class : size;
    block = static_cast<std::byte*>(std::aligned_alloc(64, (bytes + 63) / 64 * 64));
    if (block == nullptr) throw std::bad_alloc();
  }
  std::weak_ptr<BufferPool> pool = weak_from_this();
  return std::shared_ptr<std::byte>(block, [pool, size_class](std::byte* b) {
    if (auto p = pool.lock()) {
      p->Release(b, size_class);
    } else {
      std::free(b);
    }
  });
}

void BufferPool::Release(std::byte* block, int size_class) {
  if (size_class < kClasses) {
    absl::MutexLock lock(&mu_);
    const size_t bytes = size_t{1} << size_class;
    if (cached_bytes_ + bytes <= max_cached_bytes_) {
      free_[size_class].push_back(block);
      cached_bytes_ += bytes;
      return;
    }
  }
  std::free(block);
}

void BufferPool::ReleaseCachedBlocks() {
  std::vector<std::byte*> blocks;
  {
    absl::MutexLock lock(&mu_);
    for (auto& list : free_) {
      blocks.insert(blocks.end(), list.begin(), list.end());
      list.clear();
    }
    cached_bytes_ = 0;
  }
  for (std::byte* block : blocks) std::free(block);
}

size_t BufferPool::cached_bytes() const {
  absl::MutexLock lock(&mu_);
  return cached_bytes_;
}

}  // namespace inferd
