// SPDX-License-Identifier: Apache-2.0
// The infer endpoint's tensor body parsers: the first byte picks NumPy .npy (even) or an Arrow IPC
// stream (odd), the rest is the body, placed 64-byte aligned as the HTTP server places it.
// What decodes is encoded again and decoded again: the second decode must succeed and agree.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>

#include "codec/arrow_ipc.h"
#include "codec/npy.h"

namespace {

std::string Flatten(const std::string& head, const std::vector<std::span<const std::byte>>& body) {
  std::string s = head;
  for (auto chunk : body) s.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
  return s;
}

std::shared_ptr<std::byte[]> Aligned(std::string_view bytes, std::span<const std::byte>& view) {
  std::shared_ptr<std::byte[]> block(new std::byte[bytes.size() + 64]);
  const auto base = reinterpret_cast<uintptr_t>(block.get());
  std::byte* data = block.get() + (64 - base % 64) % 64;
  if (!bytes.empty()) std::memcpy(data, bytes.data(), bytes.size());
  view = {data, bytes.size()};
  return block;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const bool arrow = data[0] % 2 == 1;
  const bool batched = data[0] % 4 >= 2;
  std::span<const std::byte> body;
  auto block = Aligned({reinterpret_cast<const char*>(data + 1), size - 1}, body);
  if (!arrow) {
    auto in = inferd::codec::DecodeNpy(body, block);
    if (!in.ok()) return 0;
    auto encoded = inferd::codec::EncodeNpy(in->view());
    if (!encoded.ok()) __builtin_trap();
    std::span<const std::byte> again;
    auto block2 = Aligned(Flatten(encoded->header, {encoded->data}), again);
    auto in2 = inferd::codec::DecodeNpy(again, block2);
    if (!in2.ok() || in2->shape != in->shape || in2->datatype != in->datatype) __builtin_trap();
    return 0;
  }
  auto inputs = inferd::codec::DecodeArrowStream(body, block, batched);
  if (!inputs.ok() || inputs->empty()) return 0;
  std::vector<inferd::InferOutput> outputs;
  for (const auto& in : *inputs) {
    // The encoder takes one batch size for all outputs, as a model's outputs have.
    if (batched && (in.shape.empty() || in.shape[0] != (*inputs)[0].shape[0])) return 0;
    inferd::InferOutput o;
    o.name = in.name;
    o.datatype = in.datatype;
    o.shape = in.shape;
    o.data = in.data;
    o.byte_size = in.byte_size;
    outputs.push_back(std::move(o));
  }
  auto encoded = inferd::codec::EncodeArrowStream(outputs, batched);
  if (!encoded.ok()) return 0;
  std::span<const std::byte> again;
  auto block2 = Aligned(Flatten(encoded->head, encoded->body), again);
  auto inputs2 = inferd::codec::DecodeArrowStream(again, block2, batched);
  if (!inputs2.ok() || inputs2->size() != inputs->size()) __builtin_trap();
  return 0;
}
