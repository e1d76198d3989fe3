// SPDX-License-Identifier: Apache-2.0
// Triton's system shared-memory extension, server side: the registry of client-registered POSIX
// shared-memory regions that the HTTP and gRPC transports share, and the resolution of a request's
// `shared_memory_region` / `shared_memory_offset` / `shared_memory_byte_size` tensor parameters
// into views of those regions.
//
// Lifetime: a region is mapped once, at registration, and held by a shared_ptr. Every input view
// and output buffer into it holds that pointer, so Unregister removes the name at once (new
// requests naming it are refused) but the mapping is released only when the last request using
// it has completed: a region is never unmapped under a running request.
//
// Safety: off unless the server runs with --allow-client-shm (a client could otherwise map any
// shm object the server's user can open). Keys are validated (one leading '/', no other '/', not
// Triton's reserved python-backend prefix); offsets and sizes are checked against the object at
// registration and against the region at every use, and the object's current size is re-checked
// at every use so that a region truncated after registration is refused instead of faulting.
// (A truncation racing a running request can still fault; Triton has the same limitation, and
// ipc:// avoids it with sealed memfds.)
//
// Thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "inferd/infer.h"
#include "inferd/server_types.h"

namespace inferd {

// The tensor parameter names of the extension.
inline constexpr std::string_view kShmRegionParameter = "shared_memory_region";
inline constexpr std::string_view kShmOffsetParameter = "shared_memory_offset";
inline constexpr std::string_view kShmByteSizeParameter = "shared_memory_byte_size";

struct ShmRegionStatus {
  std::string name;
  std::string key;
  uint64_t offset = 0;
  uint64_t byte_size = 0;
};

struct ShmRegionRegistryOptions {
  bool allow_client_shm = false;  // --allow-client-shm
  // Regions registered at once (each holds an fd and a mapping); Register refuses more with
  // RESOURCE_EXHAUSTED. 0: no limit (--max-shm-regions).
  int max_regions = 256;
};

class ShmRegionRegistry {
 public:
  struct Region;  // A mapped region; see the .cc.

  // A view of [offset, offset + byte_size) of a region; `owner` keeps the region mapped.
  struct Slice {
    std::byte* data = nullptr;
    size_t byte_size = 0;
    std::shared_ptr<const void> owner;
  };

  explicit ShmRegionRegistry(ShmRegionRegistryOptions options);
  ~ShmRegionRegistry();

  // Maps [offset, offset + byte_size) of the POSIX shm object `key` under `name`.
  // FAILED_PRECONDITION when shared memory is disabled; INVALID_ARGUMENT for a bad name, key,
  // offset or size (including offset + byte_size beyond the object); NOT_FOUND for a key with no
  // object; ALREADY_EXISTS for a name already registered; RESOURCE_EXHAUSTED when max_regions
  // are registered already.
  absl::Status Register(std::string_view name, std::string_view key, uint64_t offset,
                        uint64_t byte_size);
  // Unregisters `name`, or every region when `name` is empty. A name that is not registered is
  // left alone and is a success, as in Triton. FAILED_PRECONDITION when shared memory is disabled.
  absl::Status Unregister(std::string_view name);
  // Every region (empty name) or one; NOT_FOUND for an unknown name.
  absl::StatusOr<std::vector<ShmRegionStatus>> Status(std::string_view name) const;

  // A view of a registered region for `what` (e.g. "input 'INPUT0'", used in messages).
  // NOT_FOUND for an unregistered name; INVALID_ARGUMENT when offset + byte_size runs past the
  // region or the object has shrunk.
  absl::StatusOr<Slice> Resolve(std::string_view name, uint64_t offset, uint64_t byte_size,
                                std::string_view what) const;

  bool enabled() const { return options_.allow_client_shm; }

  // Resolves a request's shared-memory parameters. Inputs that name a region (they must carry no
  // data of their own) get views into it. Returns the allocator to pass to InferenceServer::Infer:
  // null when no requested output names a region (the transport keeps its own), otherwise one
  // that writes those outputs into their regions (INVALID_ARGUMENT when an output is larger than
  // its shared_memory_byte_size) and the others into `fallback` (null: the heap).
  // FAILED_PRECONDITION when a tensor names a region and shared memory is disabled;
  // INVALID_ARGUMENT for malformed parameters.
  absl::StatusOr<std::shared_ptr<OutputAllocator>> ResolveRequest(
      InferRequest& request, std::shared_ptr<OutputAllocator> fallback = nullptr) const;

  // Whether an input or requested output names a region (has kShmRegionParameter).
  static bool UsesSharedMemory(const Parameters& parameters);
  // For each response output that the request asked for in a region: removes its data (the bytes
  // are in the region; the response carries none) and sets the shared-memory parameters, as
  // Triton does.
  static void MarkSharedMemoryOutputs(const InferRequest& request, InferResponse& response);

 private:
  absl::Status Disabled() const;
  absl::Status CheckRegionLimitLocked(std::string_view name) const
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const ShmRegionRegistryOptions options_;
  mutable absl::Mutex mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<const Region>> regions_ ABSL_GUARDED_BY(mu_);
};

// What a transport calls, with its registry (null when it has none: then a request that names a
// region is refused with the disabled error). Returns the allocator to pass to
// InferenceServer::Infer: `fallback` unless an output goes to a region.
absl::StatusOr<std::shared_ptr<OutputAllocator>> ResolveSharedMemory(
    const ShmRegionRegistry* registry, InferRequest& request,
    std::shared_ptr<OutputAllocator> fallback);
// Adds "system_shared_memory" to a server's extensions when the registry is enabled
// (--allow-client-shm), where Triton lists it (after "model_configuration").
void AddSharedMemoryExtension(const ShmRegionRegistry* registry, ServerMetadata& metadata);
// The requested outputs that go to regions (to keep until the response, for
// MarkSharedMemoryOutputs), or null when none does.
std::shared_ptr<InferRequest> SharedMemoryOutputs(const InferRequest& request);
inline void MarkSharedMemoryOutputs(const InferRequest& request, InferResponse& response) {
  ShmRegionRegistry::MarkSharedMemoryOutputs(request, response);
}

}  // namespace inferd
