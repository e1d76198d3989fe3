// SPDX-License-Identifier: Apache-2.0
// Reusable byte blocks for HTTP bodies and inference outputs (server and client), so that a steady stream of
// requests allocates nothing and writes into memory that is already mapped (a fresh 600 KB block
// costs page faults on every request). Blocks come in power-of-two size classes; a released block
// goes back to its class unless the pool already caches `max_cached_bytes`, then it is freed.
// Thread-safe; blocks may outlive the pool (they are then freed on release).
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "inferd/infer.h"

namespace inferd {

class BufferPool : public std::enable_shared_from_this<BufferPool> {
 public:
  static std::shared_ptr<BufferPool> Create(size_t max_cached_bytes);
  ~BufferPool();

  // A 64-byte-aligned block of at least `size` bytes, returned to the pool when the last owner
  // lets go. Never null (allocation failure throws std::bad_alloc, as new does).
  std::shared_ptr<std::byte> Get(size_t size);

  // An OutputAllocator whose buffers come from this pool.
  std::shared_ptr<OutputAllocator> output_allocator() const { return output_allocator_; }

  size_t cached_bytes() const;

  // Frees every cached block (the HTTP server calls it once large requests have stopped coming,
  // so that their blocks do not stay resident).
  void ReleaseCachedBlocks();

 private:
  explicit BufferPool(size_t max_cached_bytes) : max_cached_bytes_(max_cached_bytes) {}
  void Release(std::byte* block, int size_class);

  static constexpr int kClasses = 48;
  const size_t max_cached_bytes_;
  std::shared_ptr<OutputAllocator> output_allocator_;
  mutable absl::Mutex mu_;
  std::vector<std::byte*> free_[kClasses] ABSL_GUARDED_BY(mu_);
  size_t cached_bytes_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace inferd
