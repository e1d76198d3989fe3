// SPDX-License-Identifier: Apache-2.0
// Shapes, tensor views over memory owned elsewhere, and the BYTES element layout.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "inferd/datatype.h"

namespace inferd {

// A tensor shape. In a model config, -1 marks a variable dimension; in a request every dimension
// is concrete (>= 0).
using Shape = std::vector<int64_t>;

// Number of elements of a concrete shape (1 for a scalar shape []). nullopt when a dimension is
// negative or the product overflows int64.
std::optional<int64_t> ElementCount(std::span<const int64_t> shape);

// "[1,3,224,224]".
std::string ShapeToString(std::span<const int64_t> shape);

// Whether a concrete shape matches config dims, where -1 in dims matches any size.
bool ShapeMatchesDims(std::span<const int64_t> shape, std::span<const int64_t> dims);

// Bytes a fixed-size tensor of this type and shape occupies; error for BYTES, invalid types,
// negative dimensions and overflow.
absl::StatusOr<size_t> FixedTensorByteSize(DataType type, std::span<const int64_t> shape);

// A read-only view of a tensor whose bytes are owned by someone else (an HTTP body, a gRPC
// message, a shared-memory region, a batch buffer). Whoever hands out a view guarantees the bytes
// outlive it.
struct TensorView {
  std::string_view name;
  DataType datatype = DataType::kInvalid;
  std::span<const int64_t> shape;
  const std::byte* data = nullptr;
  size_t byte_size = 0;

  template <typename T>
  std::span<const T> As() const {
    return {reinterpret_cast<const T*>(data), byte_size / sizeof(T)};
  }
};

// BYTES tensors use the protocol's layout: per element, a 4-byte little-endian length, then that
// many bytes, elements back to back in row-major order.

// Appends one element in that layout.
void AppendBytesElement(std::string& out, std::string_view element);

// Serializes elements in that layout.
std::string SerializeBytesTensor(std::span<const std::string> elements);

// Splits a buffer in that layout into its elements (views into the buffer). Fails with
// INVALID_ARGUMENT when a length runs past the end or the element count differs from expected
// (when given).
absl::StatusOr<std::vector<std::string_view>> ParseBytesTensor(
    std::span<const std::byte> buffer, std::optional<int64_t> expected_elements = std::nullopt);

}  // namespace inferd
