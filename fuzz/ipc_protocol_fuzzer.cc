// SPDX-License-Identifier: Apache-2.0
// The ipc:// protocol from what a hostile client controls: the region it shares (the request
// ring's control block and slots, the descriptors in the arena) and its Hello. The first byte
// picks what the rest is:
//   0: a request ring (head index and slots) popped by the server's consumer, each slot's
//      descriptor read from an arena made of the rest of the input and checked as the server's
//      connection does (bounds, DecodeRequestBlob, output area, input tensors);
//   1: a request descriptor for DecodeRequestBlob, re-encoded and decoded again (a blob that
//      decodes must round-trip);
//   2: a response descriptor for DecodeResponseBlob (what the client library reads);
//   3: a Hello's region size and ring capacity for ComputeLayout (a layout it returns must fit).
#include <fuzzer/FuzzedDataProvider.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <vector>

#include "fuzz/sink.h"
#include "transport/ipc/ipc_protocol.h"
#include "transport/ipc/shm_ring.h"

namespace {

using namespace inferd::ipc;

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "ipc fuzz invariant broken: %s\n", what);
  std::abort();
}

// The checks of Connection::HandleRequest / BuildRequest on one popped slot.
void ReadDescriptor(const RequestSlot& slot, std::span<const std::byte> arena) {
  if (slot.blob_bytes > kMaxBlobBytes || !InBounds(slot.blob_offset, slot.blob_bytes, arena.size())) {
    return;
  }
  std::vector<std::byte> copy(arena.begin() + static_cast<ptrdiff_t>(slot.blob_offset),
                              arena.begin() + static_cast<ptrdiff_t>(slot.blob_offset + slot.blob_bytes));
  auto blob = DecodeRequestBlob(copy);
  if (!blob.ok()) return;
  if (!InBounds(blob->output_offset, blob->output_bytes, arena.size())) return;
  uint8_t sum = 0;
  for (const BlobTensor& t : blob->inputs) {
    if (!InBounds(t.offset, t.bytes, arena.size())) return;
    for (uint64_t i = 0; i < t.bytes; ++i) sum ^= static_cast<uint8_t>(arena[t.offset + i]);
  }
  inferd::fuzz::Sink(sum);
}

void FuzzRing(FuzzedDataProvider& in) {
  const uint32_t capacity = 1u << in.ConsumeIntegralInRange<uint32_t>(0, 4);
  const size_t bytes = RingBytes(sizeof(RequestSlot), capacity);
  std::byte* base = static_cast<std::byte*>(std::aligned_alloc(64, bytes));
  std::unique_ptr<std::byte, decltype(&std::free)> owner(base, &std::free);
  std::memset(base, 0, bytes);
  new (base) RingControl{};
  auto* control = reinterpret_cast<RingControl*>(base);
  control->head.store(in.ConsumeIntegral<uint32_t>());
  const std::vector<uint8_t> slots = in.ConsumeBytes<uint8_t>(sizeof(RequestSlot) * capacity);
  if (!slots.empty()) std::memcpy(base + sizeof(RingControl), slots.data(), slots.size());
  const std::vector<uint8_t> arena_bytes = in.ConsumeRemainingBytes<uint8_t>();
  const std::span<const std::byte> arena(reinterpret_cast<const std::byte*>(arena_bytes.data()),
                                         arena_bytes.size());
  RingView ring(base, sizeof(RequestSlot), capacity);
  for (uint32_t i = 0; i <= capacity + 1; ++i) {
    RequestSlot slot;
    absl::StatusOr<bool> popped = ring.Pop(&slot);
    if (!popped.ok() || !*popped) break;
    ReadDescriptor(slot, arena);
  }
  (void)ring.HasData();
}

void FuzzRequestBlob(std::span<const std::byte> bytes) {
  auto blob = DecodeRequestBlob(bytes);
  if (!blob.ok()) return;
  const std::string encoded = EncodeRequestBlob(*blob);
  auto again = DecodeRequestBlob(
      {reinterpret_cast<const std::byte*>(encoded.data()), encoded.size()});
  if (!again.ok()) Fail("a decoded request blob does not decode once re-encoded");
  if (again->model_name != blob->model_name || again->id != blob->id ||
      again->inputs.size() != blob->inputs.size() || again->outputs != blob->outputs ||
      again->output_offset != blob->output_offset || again->output_bytes != blob->output_bytes) {
    Fail("a request blob changed on a round trip");
  }
}

void FuzzLayout(FuzzedDataProvider& in) {
  const uint64_t region_bytes = in.ConsumeIntegral<uint64_t>();
  const uint32_t capacity = in.ConsumeIntegral<uint32_t>();
  auto layout = ComputeLayout(region_bytes, capacity);
  if (!layout.ok()) return;
  if (layout->arena_offset + layout->arena_bytes != region_bytes ||
      layout->response_ring_offset < RingBytes(sizeof(RequestSlot), capacity) ||
      layout->arena_offset < layout->response_ring_offset + RingBytes(sizeof(ResponseSlot), capacity) ||
      layout->arena_bytes == 0) {
    Fail("ComputeLayout returned rings or an arena that overlap or leave the region");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::span<const std::byte> rest(reinterpret_cast<const std::byte*>(data + 1), size - 1);
  FuzzedDataProvider in(data + 1, size - 1);
  switch (data[0] % 4) {
    case 0:
      FuzzRing(in);
      break;
    case 1:
      FuzzRequestBlob(rest);
      break;
    case 2:
      (void)DecodeResponseBlob(rest);
      break;
    case 3:
      FuzzLayout(in);
      break;
  }
  return 0;
}
