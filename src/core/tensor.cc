// SPDX-License-Identifier: Apache-2.0
#include "inferd/tensor.h"

#include <algorithm>
#include <cstring>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "fmt/ranges.h"

namespace inferd {

std::optional<int64_t> ElementCount(std::span<const int64_t> shape) {
  int64_t count = 1;
  for (int64_t dim : shape) {
    if (dim < 0) return std::nullopt;
    if (__builtin_mul_overflow(count, dim, &count)) return std::nullopt;
  }
  return count;
}

std::string ShapeToString(std::span<const int64_t> shape) {
  return fmt::format("[{}]", fmt::join(shape, ","));
}

bool ShapeMatchesDims(std::span<const int64_t> shape, std::span<const int64_t> dims) {
  if (shape.size() != dims.size()) return false;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (dims[i] != -1 && dims[i] != shape[i]) return false;
  }
  return true;
}

absl::StatusOr<size_t> FixedTensorByteSize(DataType type, std::span<const int64_t> shape) {
  const size_t element_size = DataTypeByteSize(type);
  if (element_size == 0) {
    return absl::InvalidArgumentError(
        fmt::format("datatype {} has no fixed element size", DataTypeName(type)));
  }
  const std::optional<int64_t> count = ElementCount(shape);
  if (!count) {
    return absl::InvalidArgumentError(
        fmt::format("shape {} is not a valid concrete shape", ShapeToString(shape)));
  }
  size_t bytes = 0;
  if (__builtin_mul_overflow(static_cast<size_t>(*count), element_size, &bytes)) {
    return absl::InvalidArgumentError(
        fmt::format("shape {} is too large", ShapeToString(shape)));
  }
  return bytes;
}

void AppendBytesElement(std::string& out, std::string_view element) {
  const auto length = static_cast<uint32_t>(element.size());
  const char prefix[4] = {static_cast<char>(length & 0xff), static_cast<char>((length >> 8) & 0xff),
                          static_cast<char>((length >> 16) & 0xff),
                          static_cast<char>((length >> 24) & 0xff)};
  out.append(prefix, 4);
  out.append(element);
}

std::string SerializeBytesTensor(std::span<const std::string> elements) {
  size_t total = 0;
  for (const auto& e : elements) total += 4 + e.size();
  std::string out;
  out.reserve(total);
  for (const auto& e : elements) AppendBytesElement(out, e);
  return out;
}

absl::StatusOr<std::vector<std::string_view>> ParseBytesTensor(
    std::span<const std::byte> buffer, std::optional<int64_t> expected_elements) {
  std::vector<std::string_view> elements;
  // Each element takes at least its 4-byte length prefix: the buffer bounds the count, whatever
  // the shape claims.
  if (expected_elements && *expected_elements > 0) {
    elements.reserve(std::min(static_cast<size_t>(*expected_elements), buffer.size() / 4));
  }
  size_t offset = 0;
  while (offset < buffer.size()) {
    if (buffer.size() - offset < 4) {
      return absl::InvalidArgumentError(fmt::format(
          "BYTES tensor element {} has a truncated 4-byte length prefix", elements.size()));
    }
    const auto* p = reinterpret_cast<const unsigned char*>(buffer.data() + offset);
    const uint32_t length = static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
                            (static_cast<uint32_t>(p[2]) << 16) |
                            (static_cast<uint32_t>(p[3]) << 24);
    offset += 4;
    if (length > buffer.size() - offset) {
      return absl::InvalidArgumentError(
          fmt::format("BYTES tensor element {} declares {} bytes but only {} remain",
                      elements.size(), length, buffer.size() - offset));
    }
    elements.emplace_back(reinterpret_cast<const char*>(buffer.data() + offset), length);
    offset += length;
  }
  if (expected_elements && static_cast<int64_t>(elements.size()) != *expected_elements) {
    return absl::InvalidArgumentError(fmt::format(
        "BYTES tensor has {} elements but its shape needs {}", elements.size(), *expected_elements));
  }
  return elements;
}

}  // namespace inferd
