// SPDX-License-Identifier: Apache-2.0
// Client helpers for Triton's system shared-memory extension (http:// and grpc://): create a POSIX
// shared-memory region, place tensors in it, register it with Client::RegisterSystemSharedMemory,
// and reference it from requests with ShmInput / ShmOutput. The server must run with
// --allow-client-shm. (ipc:// needs none of this: its tensors are always in shared memory.)
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "absl/status/statusor.h"
#include "inferd/infer.h"

namespace inferd {

// What the server reports for a registered region.
struct SharedMemoryRegionStatus {
  std::string name;
  std::string key;
  uint64_t offset = 0;
  uint64_t byte_size = 0;
};

// A POSIX shm object ("/name") created and mapped by this process; unmapped and unlinked when
// destroyed. Not thread-safe for writes to the same bytes (it is plain memory).
class SystemShmRegion {
 public:
  // INVALID_ARGUMENT for a bad key; ALREADY_EXISTS when an object with that key exists.
  static absl::StatusOr<std::unique_ptr<SystemShmRegion>> Create(std::string key,
                                                                 size_t byte_size);
  ~SystemShmRegion();

  const std::string& key() const { return key_; }
  size_t byte_size() const { return byte_size_; }
  std::byte* data() const { return data_; }
  // Copies `bytes` to `offset`; OUT_OF_RANGE when they do not fit.
  absl::Status Write(size_t offset, std::span<const std::byte> bytes);
  std::span<const std::byte> Read(size_t offset, size_t bytes) const;

 private:
  SystemShmRegion(std::string key, std::byte* data, size_t byte_size)
      : key_(std::move(key)), data_(data), byte_size_(byte_size) {}
  std::string key_;
  std::byte* data_;
  size_t byte_size_;
};

// An input whose bytes are in registered region `region` at [offset, offset + byte_size).
InferInput ShmInput(std::string name, DataType datatype, Shape shape, std::string region,
                    size_t byte_size, size_t offset = 0);
// An output the server writes into registered region `region` (at most byte_size bytes); its
// response entry carries no data, only the shared-memory parameters.
RequestedOutput ShmOutput(std::string name, std::string region, size_t byte_size,
                          size_t offset = 0);

}  // namespace inferd
