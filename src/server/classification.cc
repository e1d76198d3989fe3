// SPDX-License-Identifier: Apache-2.0
#include "server/classification.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <type_traits>

#include "core/client_text.h"
#include "fmt/format.h"
#include "inferd/tensor.h"

namespace inferd {
namespace {

constexpr uintmax_t kMaxLabelFileBytes = uintmax_t{64} << 20;

float HalfToFloat(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1fu;
  uint32_t mantissa = h & 0x3ffu;
  uint32_t bits;
  if (exponent == 0x1f) {  // Inf or NaN.
    bits = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {  // Normal.
    bits = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {  // Zero.
    bits = sign;
  } else {  // Subnormal: normalise.
    exponent = 113;
    while ((mantissa & 0x400u) == 0) {
      mantissa <<= 1;
      --exponent;
    }
    bits = sign | (exponent << 23) | ((mantissa & 0x3ffu) << 13);
  }
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

float Bf16ToFloat(uint16_t b) {
  const uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

// Loads element i of a tensor of T (unaligned-safe), widened for comparing and printing.
template <typename T>
auto Load(const std::byte* data, size_t i) {
  T v;
  std::memcpy(&v, data + i * sizeof(T), sizeof(T));
  if constexpr (std::is_floating_point_v<T>) {
    return static_cast<double>(v);
  } else if constexpr (std::is_signed_v<T>) {
    return static_cast<int64_t>(v);
  } else {
    return static_cast<uint64_t>(v);
  }
}

// Appends "<value>:<index>[:<label>]" for each of the top `take` of `values`.
template <typename V>
void TopClasses(const std::vector<V>& values, size_t take, const std::vector<std::string>* labels,
                std::string& out) {
  std::vector<size_t> order(values.size());
  std::iota(order.begin(), order.end(), size_t{0});
  // Highest value first; ties, and NaN (which compares below everything), by index.
  auto before = [&](size_t a, size_t b) {
    const V& x = values[a];
    const V& y = values[b];
    if constexpr (std::is_floating_point_v<V>) {
      const bool xn = std::isnan(x);
      const bool yn = std::isnan(y);
      if (xn != yn) return yn;
      if (!xn && x != y) return x > y;
    } else {
      if (x != y) return x > y;
    }
    return a < b;
  };
  std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(take), order.end(),
                    before);
  for (size_t k = 0; k < take; ++k) {
    const size_t index = order[k];
    // std::to_string, as Triton prints it: "%f" for floating point, decimal for integers.
    std::string element = std::to_string(values[index]) + ":" + std::to_string(index);
    if (labels != nullptr && index < labels->size() && !(*labels)[index].empty()) {
      element += ":";
      element += (*labels)[index];
    }
    AppendBytesElement(out, element);
  }
}

template <typename T>
void ClassifyItems(const std::byte* data, size_t items, size_t per_item, size_t take,
                   const std::vector<std::string>* labels, std::string& out) {
  using V = decltype(Load<T>(data, 0));
  std::vector<V> values(per_item);
  for (size_t item = 0; item < items; ++item) {
    for (size_t i = 0; i < per_item; ++i) values[i] = Load<T>(data, item * per_item + i);
    TopClasses(values, take, labels, out);
  }
}

// FP16 / BF16: widened to float (then printed as std::to_string prints a float).
template <float (*Widen)(uint16_t)>
void ClassifyHalfItems(const std::byte* data, size_t items, size_t per_item, size_t take,
                       const std::vector<std::string>* labels, std::string& out) {
  std::vector<double> values(per_item);
  for (size_t item = 0; item < items; ++item) {
    for (size_t i = 0; i < per_item; ++i) {
      uint16_t bits;
      std::memcpy(&bits, data + (item * per_item + i) * 2, 2);
      values[i] = static_cast<double>(Widen(bits));
    }
    TopClasses(values, take, labels, out);
  }
}

}  // namespace

absl::StatusOr<int64_t> ClassificationCount(const RequestedOutput& output, std::string_view model) {
  auto it = output.parameters.find(kClassificationParameter);
  if (it == output.parameters.end()) return 0;
  int64_t count = -1;
  if (const auto* i = std::get_if<int64_t>(&it->second)) {
    count = *i;
  } else if (const auto* d = std::get_if<double>(&it->second)) {
    if (*d >= 0 && *d < 9.2e18 && *d == std::floor(*d)) count = static_cast<int64_t>(*d);
  }
  if (count < 0) {
    return absl::InvalidArgumentError(
        fmt::format("output {} of model {}: parameter 'classification' must be a "
                    "non-negative integer (the number of classes to return)",
                    QuoteClientText(output.name), QuoteClientText(model)));
  }
  return count;
}

bool IsClassifiable(DataType datatype) {
  return datatype != DataType::kBool && datatype != DataType::kBytes &&
         datatype != DataType::kInvalid;
}

absl::StatusOr<InferOutput> Classify(const InferOutput& raw, int64_t count, bool batched,
                                     const std::vector<std::string>* labels) {
  if (!IsClassifiable(raw.datatype)) {
    return absl::InvalidArgumentError(
        fmt::format("class result not available for output {} due to unsupported type {}",
                    QuoteClientText(raw.name), QuoteClientText(DataTypeName(raw.datatype))));
  }
  const size_t element_size = DataTypeByteSize(raw.datatype);
  const std::optional<int64_t> elements = ElementCount(raw.shape);
  if (!elements || static_cast<uint64_t>(*elements) * element_size != raw.byte_size) {
    return absl::InternalError(
        fmt::format("output {} has {} bytes, which does not match its shape {} of {}",
                    QuoteClientText(raw.name), raw.byte_size, ShapeToString(raw.shape),
                    DataTypeName(raw.datatype)));
  }
  const bool per_batch_item = batched && !raw.shape.empty();
  const size_t items = per_batch_item ? static_cast<size_t>(raw.shape[0]) : 1;
  const size_t per_item =
      items == 0 ? 0 : static_cast<size_t>(*elements) / items;  // Elements of one batch item.
  const size_t take = std::min(static_cast<size_t>(count), per_item);

  auto storage = std::make_shared<std::string>();
  const std::byte* data = raw.data;
  switch (raw.datatype) {
    case DataType::kUint8:
      ClassifyItems<uint8_t>(data, items, per_item, take, labels, *storage);
      break;
    case DataType::kUint16:
      ClassifyItems<uint16_t>(data, items, per_item, take, labels, *storage);
      break;
    case DataType::kUint32:
      ClassifyItems<uint32_t>(data, items, per_item, take, labels, *storage);
      break;
    case DataType::kUint64:
      ClassifyItems<uint64_t>(data, items, per_item, take, labels, *storage);
      break;
    case DataType::kInt8:
      ClassifyItems<int8_t>(data, items, per_item, take, labels, *storage);
      break;
    case DataType::kInt16:
      ClassifyItems<int16_t>(data, items, per_item, take, labels, *storage);
      break;
    case DataType::kInt32:
      ClassifyItems<int32_t>(data, items, per_item, take, labels, *storage);
      break;
    case DataType::kInt64:
      ClassifyItems<int64_t>(data, items, per_item, take, labels, *storage);
      break;
    case DataType::kFp16:
      ClassifyHalfItems<HalfToFloat>(data, items, per_item, take, labels, *storage);
      break;
    case DataType::kBf16:
      ClassifyHalfItems<Bf16ToFloat>(data, items, per_item, take, labels, *storage);
      break;
    case DataType::kFp32:
      ClassifyItems<float>(data, items, per_item, take, labels, *storage);
      break;
    case DataType::kFp64:
      ClassifyItems<double>(data, items, per_item, take, labels, *storage);
      break;
    default:
      break;  // Refused above.
  }

  InferOutput out;
  out.name = raw.name;
  out.datatype = DataType::kBytes;
  if (per_batch_item) out.shape.push_back(static_cast<int64_t>(items));
  out.shape.push_back(static_cast<int64_t>(take));
  out.data = reinterpret_cast<const std::byte*>(storage->data());
  out.byte_size = storage->size();
  out.owner = std::move(storage);
  return out;
}

absl::StatusOr<std::vector<std::string>> ReadLabelFile(const std::string& model_dir,
                                                       std::string_view label_filename,
                                                       std::string_view model,
                                                       std::string_view output) {
  namespace fs = std::filesystem;
  const fs::path relative(label_filename);
  auto outside = [&] {
    return absl::InvalidArgumentError(fmt::format(
        "model {}: label_filename '{}' of output {} is outside the model directory; name a "
        "file inside '{}'",
        QuoteClientText(model), label_filename, QuoteClientText(output), model_dir));
  };
  if (label_filename.empty() || relative.is_absolute()) return outside();
  for (const fs::path& part : relative) {
    if (part == "..") return outside();
  }
  std::error_code ec;
  const fs::path dir = fs::canonical(model_dir, ec);
  if (ec) {
    return absl::NotFoundError(fmt::format("model {}: cannot resolve the model directory '{}'",
                                           QuoteClientText(model), model_dir));
  }
  const fs::path file = fs::canonical(dir / relative, ec);
  if (ec) {
    return absl::InvalidArgumentError(
        fmt::format("model {}: label file '{}' of output {} does not exist in '{}'",
                    QuoteClientText(model), label_filename, QuoteClientText(output), model_dir));
  }
  // A symbolic link must not lead out of the model directory either.
  const auto [dir_end, file_it] = std::mismatch(dir.begin(), dir.end(), file.begin(), file.end());
  if (dir_end != dir.end() || file_it == file.end()) return outside();
  if (!fs::is_regular_file(file, ec)) {
    return absl::InvalidArgumentError(
        fmt::format("model {}: label file '{}' of output {} is not a regular file",
                    QuoteClientText(model), label_filename, QuoteClientText(output)));
  }
  if (fs::file_size(file, ec) > kMaxLabelFileBytes) {
    return absl::InvalidArgumentError(fmt::format(
        "model {}: label file '{}' of output {} is larger than {} bytes", QuoteClientText(model),
        label_filename, QuoteClientText(output), kMaxLabelFileBytes));
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    return absl::InvalidArgumentError(
        fmt::format("model {}: cannot read label file '{}' of output {}", QuoteClientText(model),
                    label_filename, QuoteClientText(output)));
  }
  std::vector<std::string> labels;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    labels.push_back(std::move(line));
  }
  return labels;
}

}  // namespace inferd
