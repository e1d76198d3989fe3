// SPDX-License-Identifier: Apache-2.0
// libtorch's CPU allocator, with a cache of freed blocks.
//
// libtorch allocates every activation of a forward() and frees it when the call ends; its default
// CPU allocator hands each block to glibc's malloc. On an instance thread (not the main thread)
// glibc serves those blocks from a per-thread arena whose heaps are 64 MiB each, and a heap that
// becomes entirely free is unmapped at once, whatever M_TRIM_THRESHOLD says: ResNet50 at batch 8
// unmapped three to four 64 MiB heaps per call and page-faulted them in again on the next one
// (strace; ~0.95 of the same forward() on the main thread). Like the caching allocators PyTorch
// uses for GPUs, this one keeps freed blocks of at least kMinCachedBytes and hands them out again
// (best fit, at most twice the size asked for), up to a total of max_cached_bytes; smaller blocks
// and blocks over that total go back to malloc. The process holds its peak tensor memory between
// calls; EmptyCache() gives it back (the backend calls it when a model unloads).
//
// Install() makes it libtorch's CPU allocator for the whole process, once; it is never
// uninstalled, and it pins the plugin that holds its code in memory (tensors that libtorch keeps
// alive may be freed after the plugin would otherwise be closed). Thread-safe.
#pragma once

#include <c10/core/Allocator.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <unordered_map>

namespace inferd::torchscript {

class CachingCpuAllocator final : public c10::Allocator {
 public:
  static constexpr size_t kMinCachedBytes = 64 << 10;
  static constexpr size_t kDefaultMaxCachedBytes = size_t{1} << 30;

  struct Stats {
    size_t cached_bytes = 0;  // Free blocks held for reuse.
    size_t live_bytes = 0;    // Blocks handed out and not yet freed (their capacity).
    uint64_t hits = 0;        // Allocations served from the cache.
    uint64_t misses = 0;      // Allocations of at least kMinCachedBytes that went to malloc.
  };

  // The process's instance (never destroyed).
  static CachingCpuAllocator& Get();
  // Makes Get() libtorch's CPU allocator; later calls do nothing.
  static void Install();

  c10::DataPtr allocate(size_t bytes) const override;
  c10::DeleterFnPtr raw_deleter() const override { return &Free; }

  // Returns every cached block to malloc.
  void EmptyCache();
  // Cache limit (default kDefaultMaxCachedBytes); lowering it empties what no longer fits.
  void set_max_cached_bytes(size_t bytes);
  Stats stats() const;

 private:
  CachingCpuAllocator() = default;
  static void Free(void* data);
  void* Take(size_t bytes);
  void Give(void* data);

  mutable std::mutex mu_;
  size_t max_cached_bytes_ = kDefaultMaxCachedBytes;
  std::multimap<size_t, void*> free_;           // capacity -> block
  std::unordered_map<void*, size_t> capacity_;  // every block handed out -> its capacity
  Stats stats_;
};

}  // namespace inferd::torchscript
