// SPDX-License-Identifier: Apache-2.0
#include "inferd/infer.h"

#include <memory>

namespace inferd {

InferInput InferInput::FromBytes(std::string name, DataType datatype, Shape shape,
                                 std::string bytes) {
  auto storage = std::make_shared<std::string>(std::move(bytes));
  InferInput in;
  in.name = std::move(name);
  in.datatype = datatype;
  in.shape = std::move(shape);
  in.data = reinterpret_cast<const std::byte*>(storage->data());
  in.byte_size = storage->size();
  in.owner = std::move(storage);
  return in;
}

const InferOutput* InferResponse::FindOutput(std::string_view name) const {
  for (const auto& output : outputs) {
    if (output.name == name) return &output;
  }
  return nullptr;
}

namespace {

class HeapAllocator final : public OutputAllocator {
 public:
  absl::StatusOr<OutputBuffer> Allocate(std::string_view, DataType, std::span<const int64_t>,
                                        size_t byte_size) override {
    // Not value-initialised: the backend writes every byte.
    std::shared_ptr<std::byte[]> buffer(new std::byte[byte_size == 0 ? 1 : byte_size]);
    OutputBuffer out;
    out.data = buffer.get();
    out.owner = std::move(buffer);
    return out;
  }
};

}  // namespace

std::shared_ptr<OutputAllocator> HeapOutputAllocator() {
  static const std::shared_ptr<OutputAllocator> allocator = std::make_shared<HeapAllocator>();
  return allocator;
}

}  // namespace inferd
