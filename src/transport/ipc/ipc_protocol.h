// SPDX-License-Identifier: Apache-2.0
// The ipc:// wire protocol, shared by the server (src/transport/ipc) and the client library
// (src/client/ipc_transport.cc). Depends only on core.
//
// Set-up, over a Unix-domain stream socket:
//   1. server → client: Greeting. The server has checked the peer's uid (SO_PEERCRED); a refused
//      peer gets a Greeting with an error code and message, then the socket closes.
//   2. client → server: Hello, with the client's region attached (SCM_RIGHTS): a memfd sealed
//      against shrinking and growing, so the server can never fault on it.
//   3. server → client: Greeting again: OK, or why the region was refused.
// After that the socket carries nothing; each side watches it only to notice the other is gone.
//
// The region (RegionLayout): a request ring (client → server), a response ring (server → client)
// and the arena. The client allocates everything in the arena: per request a descriptor
// (RequestBlob), its input tensors and an output area where the server writes the outputs and
// the response descriptor (ResponseBlob). Ring slots carry only a tag and arena offsets.
// Offsets are relative to the arena start. Every value read from the region is checked before use:
// the peer owns that memory and may change it at any time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "inferd/infer.h"
#include "transport/ipc/shm_ring.h"

namespace inferd::ipc {

inline constexpr uint32_t kProtocolMagic = 0x43504969;  // "iIPC"
inline constexpr uint32_t kProtocolVersion = 1;
inline constexpr uint32_t kRequestBlobMagic = 0x51455269;   // "iREQ"
inline constexpr uint32_t kResponseBlobMagic = 0x50535269;  // "iRSP"

// Limits a server enforces on what a client sends.
inline constexpr uint64_t kMinRegionBytes = 1ull << 20;
inline constexpr uint64_t kMaxRegionBytes = 64ull << 30;
inline constexpr uint32_t kMaxRingCapacity = 4096;
inline constexpr size_t kMaxBlobBytes = 1u << 20;
inline constexpr uint32_t kMaxNameBytes = 4096;
inline constexpr uint32_t kMaxTensors = 1024;
inline constexpr uint32_t kMaxDims = 64;

struct Greeting {
  uint32_t magic = kProtocolMagic;
  uint32_t version = kProtocolVersion;
  int32_t code = 0;  // absl::StatusCode
  uint32_t reserved = 0;
  char message[496] = {};
};
static_assert(sizeof(Greeting) == 512);

struct Hello {
  uint32_t magic = kProtocolMagic;
  uint32_t version = kProtocolVersion;
  uint64_t region_bytes = 0;
  uint32_t ring_capacity = 0;
  uint32_t reserved = 0;
};
static_assert(sizeof(Hello) == 24);

struct RequestSlot {
  uint64_t tag = 0;          // Chosen by the client; echoed in the response.
  uint64_t blob_offset = 0;  // RequestBlob, relative to the arena.
  uint64_t blob_bytes = 0;
  uint64_t reserved = 0;
};
static_assert(sizeof(RequestSlot) == 32);

struct ResponseSlot {
  uint64_t tag = 0;
  int32_t code = 0;  // absl::StatusCode; OK: the ResponseBlob is at blob_offset.
  uint32_t message_bytes = 0;
  uint64_t blob_offset = 0;  // Relative to the arena.
  uint64_t blob_bytes = 0;
  // RESOURCE_EXHAUSTED because the request's output area was too small: the bytes it needs at
  // least (the client may retry with a larger area).
  uint64_t needed_bytes = 0;
  char message[472] = {};
};
static_assert(sizeof(ResponseSlot) == 512);

struct RegionLayout {
  uint64_t region_bytes = 0;
  uint32_t ring_capacity = 0;
  uint64_t request_ring_offset = 0;
  uint64_t response_ring_offset = 0;
  uint64_t arena_offset = 0;
  uint64_t arena_bytes = 0;
};
// INVALID_ARGUMENT when the capacity is not a power of two in [1, kMaxRingCapacity] or the size
// is outside [kMinRegionBytes, kMaxRegionBytes] or leaves no arena.
absl::StatusOr<RegionLayout> ComputeLayout(uint64_t region_bytes, uint32_t ring_capacity);
RingView RequestRing(std::byte* region, const RegionLayout& layout);
RingView ResponseRing(std::byte* region, const RegionLayout& layout);

// Whether [offset, offset + bytes) lies inside [0, limit), without overflow.
inline bool InBounds(uint64_t offset, uint64_t bytes, uint64_t limit) {
  return offset <= limit && bytes <= limit - offset;
}

// A tensor placed in the arena.
struct BlobTensor {
  std::string name;
  DataType datatype = DataType::kInvalid;
  Shape shape;
  uint64_t offset = 0;  // Relative to the arena.
  uint64_t bytes = 0;
};

struct RequestBlob {
  std::string model_name;
  int64_t model_version = 0;
  std::string id;
  std::vector<BlobTensor> inputs;
  std::vector<std::string> outputs;  // Requested outputs; empty: all.
  uint64_t output_offset = 0;        // The output area, relative to the arena.
  uint64_t output_bytes = 0;
};

struct ResponseBlob {
  std::string model_name;
  int64_t model_version = 0;
  std::string id;
  std::vector<BlobTensor> outputs;
};

std::string EncodeRequestBlob(const RequestBlob& blob);
// INVALID_ARGUMENT naming what is wrong (truncated, bad magic, limits, unknown datatype).
absl::StatusOr<RequestBlob> DecodeRequestBlob(std::span<const std::byte> bytes);
std::string EncodeResponseBlob(const ResponseBlob& blob);
absl::StatusOr<ResponseBlob> DecodeResponseBlob(std::span<const std::byte> bytes);

// Fills a Greeting / ResponseSlot message from a status (truncated to fit).
Greeting MakeGreeting(const absl::Status& status);
absl::Status GreetingStatus(const Greeting& greeting);
void SetSlotStatus(ResponseSlot& slot, const absl::Status& status);
absl::Status SlotStatus(const ResponseSlot& slot);

// Socket helpers (blocking, EINTR-safe, MSG_NOSIGNAL). SendAll/RecvAll fail with UNAVAILABLE on
// a closed peer.
absl::Status SendAll(int fd, const void* data, size_t bytes);
absl::Status RecvAll(int fd, void* data, size_t bytes);
// Sends `bytes` with one file descriptor attached.
absl::Status SendWithFd(int fd, const void* data, size_t bytes, int passed_fd);
// Receives exactly `bytes` and at most one descriptor (-1 when none came); extra descriptors are
// closed.
absl::StatusOr<int> RecvWithFd(int fd, void* data, size_t bytes);
// Whether the peer of a stream socket has closed (non-blocking check).
bool PeerClosed(int fd);

}  // namespace inferd::ipc
