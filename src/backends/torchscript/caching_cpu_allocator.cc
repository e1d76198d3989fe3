// SPDX-License-Identifier: Apache-2.0
#include "backends/torchscript/caching_cpu_allocator.h"

#include <c10/core/CPUAllocator.h>
#include <c10/core/alignment.h>
#include <dlfcn.h>

#include <cstdlib>
#include <filesystem>
#include <new>
#include <vector>

#include "spdlog/spdlog.h"

namespace inferd::torchscript {
namespace {

constexpr size_t kPage = 4096;

size_t RoundUp(size_t v, size_t to) { return (v + to - 1) / to * to; }

// Keeps the shared object holding this code mapped for the rest of the process (nothing to do
// when it is linked into the executable). False, with a warning, when that cannot be done.
bool PinThisLibrary() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&PinThisLibrary), &info) == 0 || info.dli_fname == nullptr) {
    spdlog::warn("torchscript backend: cannot find the library holding the tensor cache");
    return false;
  }
  std::error_code ec;
  if (std::filesystem::equivalent(info.dli_fname, "/proc/self/exe", ec)) return true;
  // RTLD_NOLOAD: only take another reference to the already loaded object, marked NODELETE.
  if (dlopen(info.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE) == nullptr) {
    const char* error = dlerror();
    spdlog::warn("torchscript backend: cannot pin {} in memory: {}", info.dli_fname,
                 error != nullptr ? error : "unknown error");
    return false;
  }
  return true;
}

}  // namespace

CachingCpuAllocator& CachingCpuAllocator::Get() {
  static auto* instance = new CachingCpuAllocator();  // Never destroyed: tensors outlive main().
  return *instance;
}

void CachingCpuAllocator::Install() {
  static const bool installed = [] {
    // Tensors that libtorch keeps may be freed after this plugin is closed: without the pin the
    // deleter could be unmapped, so libtorch keeps its own allocator.
    if (!PinThisLibrary()) {
      spdlog::warn("torchscript backend: tensor cache off; libtorch's own CPU allocator is used");
      return false;
    }
    // Priority above the default's (0), so that libtorch's own registration cannot undo it.
    c10::SetCPUAllocator(&Get(), /*priority=*/1);
    return true;
  }();
  (void)installed;
}

c10::DataPtr CachingCpuAllocator::allocate(size_t bytes) const {
  void* data = bytes == 0 ? nullptr : const_cast<CachingCpuAllocator*>(this)->Take(bytes);
  return {data, data, &Free, c10::Device(c10::DeviceType::CPU)};
}

void* CachingCpuAllocator::Take(size_t bytes) {
  // As c10's allocator does; also keeps the rounding below from wrapping.
  TORCH_CHECK(static_cast<ptrdiff_t>(bytes) >= 0,
              "alloc_cpu() seems to have been called with negative number: ", bytes);
  const bool cacheable = bytes >= kMinCachedBytes;
  const size_t capacity = cacheable ? RoundUp(bytes, kPage) : bytes;
  {
    std::lock_guard lock(mu_);
    if (cacheable) {
      // Best fit, wasting at most as much as asked for.
      if (auto it = free_.lower_bound(capacity); it != free_.end() && it->first <= 2 * capacity) {
        void* data = it->second;
        const size_t held = it->first;
        free_.erase(it);
        stats_.cached_bytes -= held;
        stats_.live_bytes += held;
        ++stats_.hits;
        capacity_[data] = held;
        return data;
      }
      ++stats_.misses;
    }
  }
  void* data = nullptr;
  if (posix_memalign(&data, c10::gAlignment, capacity) != 0) {
    // As c10's allocator does: libtorch turns this into a RuntimeError naming the size.
    TORCH_CHECK(false, "DefaultCPUAllocator: not enough memory: you tried to allocate ", bytes,
                " bytes.");
  }
  std::lock_guard lock(mu_);
  capacity_[data] = capacity;
  stats_.live_bytes += capacity;
  return data;
}

void CachingCpuAllocator::Free(void* data) {
  if (data != nullptr) Get().Give(data);
}

void CachingCpuAllocator::Give(void* data) {
  std::unique_lock lock(mu_);
  auto it = capacity_.find(data);
  if (it == capacity_.end()) {
    // Not ours: allocated before Install() by c10's default allocator and released through
    // raw_deallocate, which asks the allocator of the moment for its deleter.
    lock.unlock();
    c10::GetDefaultCPUAllocator()->raw_deleter()(data);
    return;
  }
  const size_t capacity = it->second;
  capacity_.erase(it);
  stats_.live_bytes -= capacity;
  if (capacity >= kMinCachedBytes && stats_.cached_bytes + capacity <= max_cached_bytes_) {
    free_.emplace(capacity, data);
    stats_.cached_bytes += capacity;
    return;
  }
  lock.unlock();
  std::free(data);
}

void CachingCpuAllocator::EmptyCache() {
  std::vector<void*> blocks;
  {
    std::lock_guard lock(mu_);
    for (const auto& [capacity, data] : free_) blocks.push_back(data);
    free_.clear();
    stats_.cached_bytes = 0;
  }
  for (void* data : blocks) std::free(data);
}

void CachingCpuAllocator::set_max_cached_bytes(size_t bytes) {
  std::vector<void*> blocks;
  {
    std::lock_guard lock(mu_);
    max_cached_bytes_ = bytes;
    // Largest first, until the rest fits.
    while (stats_.cached_bytes > max_cached_bytes_ && !free_.empty()) {
      auto last = std::prev(free_.end());
      stats_.cached_bytes -= last->first;
      blocks.push_back(last->second);
      free_.erase(last);
    }
  }
  for (void* data : blocks) std::free(data);
}

CachingCpuAllocator::Stats CachingCpuAllocator::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace inferd::torchscript
