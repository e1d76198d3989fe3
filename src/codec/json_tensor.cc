// SPDX-License-Identifier: Apache-2.0
#include "codec/json_tensor.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <type_traits>

#include "fmt/format.h"
#include "inferd/tensor.h"

namespace inferd::codec {
namespace {

template <typename T>
void AppendRaw(std::string& out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));
  out.append(bytes, sizeof(T));
}

// Appends one element of `datatype` parsed from `v`; false when `v` is not a valid value.
template <typename T>
bool AppendInteger(const rapidjson::Value& v, std::string& out) {
  if constexpr (std::is_signed_v<T>) {
    if (!v.IsInt64()) return false;
    const int64_t x = v.GetInt64();
    if (x < std::numeric_limits<T>::min() || x > std::numeric_limits<T>::max()) return false;
    AppendRaw<T>(out, static_cast<T>(x));
  } else {
    if (!v.IsUint64()) return false;
    const uint64_t x = v.GetUint64();
    if (x > std::numeric_limits<T>::max()) return false;
    AppendRaw<T>(out, static_cast<T>(x));
  }
  return true;
}

bool AppendElement(const rapidjson::Value& v, DataType datatype, std::string& out) {
  switch (datatype) {
    case DataType::kBool:
      if (!v.IsBool()) return false;
      out.push_back(v.GetBool() ? 1 : 0);
      return true;
    case DataType::kUint8: return AppendInteger<uint8_t>(v, out);
    case DataType::kUint16: return AppendInteger<uint16_t>(v, out);
    case DataType::kUint32: return AppendInteger<uint32_t>(v, out);
    case DataType::kUint64: return AppendInteger<uint64_t>(v, out);
    case DataType::kInt8: return AppendInteger<int8_t>(v, out);
    case DataType::kInt16: return AppendInteger<int16_t>(v, out);
    case DataType::kInt32: return AppendInteger<int32_t>(v, out);
    case DataType::kInt64: return AppendInteger<int64_t>(v, out);
    case DataType::kFp32:
      if (!v.IsNumber()) return false;
      AppendRaw<float>(out, static_cast<float>(v.GetDouble()));
      return true;
    case DataType::kFp64:
      if (!v.IsNumber()) return false;
      AppendRaw<double>(out, v.GetDouble());
      return true;
    case DataType::kBytes:
      if (!v.IsString()) return false;
      AppendBytesElement(out, std::string_view(v.GetString(), v.GetStringLength()));
      return true;
    default:
      return false;
  }
}

struct Flattener {
  DataType datatype;
  int64_t expected;
  std::string_view tensor;
  std::string out;
  int64_t count = 0;
  int depth = 0;

  absl::Status Walk(const rapidjson::Value& v) {
    if (v.IsArray()) {
      if (++depth > 64) {
        return absl::InvalidArgumentError(
            fmt::format("{} data is nested more than 64 arrays deep", tensor));
      }
      for (const auto& e : v.GetArray()) {
        if (absl::Status s = Walk(e); !s.ok()) return s;
      }
      --depth;
      return absl::OkStatus();
    }
    // Past the expected count only count, so the error can say how many there were.
    if (count++ >= expected) return absl::OkStatus();
    if (!AppendElement(v, datatype, out)) {
      return absl::InvalidArgumentError(
          fmt::format("{} data element {} is not a valid {} value", tensor, count - 1,
                      DataTypeName(datatype)));
    }
    return absl::OkStatus();
  }
};

template <typename T>
T Load(const std::byte* p) {
  T value;
  std::memcpy(&value, p, sizeof(T));
  return value;
}

template <typename T>
void WriteElements(JsonWriter& writer, const std::byte* data, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    if constexpr (std::is_same_v<T, bool>) {
      writer.Bool(Load<uint8_t>(data + i) != 0);  // Any non-zero byte is true.
    } else if constexpr (std::is_floating_point_v<T>) {
      writer.Double(static_cast<double>(Load<T>(data + i * sizeof(T))));
    } else if constexpr (std::is_signed_v<T>) {
      writer.Int64(Load<T>(data + i * sizeof(T)));
    } else {
      writer.Uint64(Load<T>(data + i * sizeof(T)));
    }
  }
}

}  // namespace

absl::StatusOr<std::string> DecodeJsonTensorData(const rapidjson::Value& data, DataType datatype,
                                                 int64_t expected_elements,
                                                 std::string_view tensor) {
  if (datatype == DataType::kFp16 || datatype == DataType::kBf16) {
    return absl::InvalidArgumentError(
        fmt::format("{} has datatype {}, which has no JSON representation; send it as binary data "
                    "(the binary tensor extension's binary_data_size parameter)",
                    tensor, DataTypeName(datatype)));
  }
  if (DataTypeByteSize(datatype) == 0 && datatype != DataType::kBytes) {
    return absl::InvalidArgumentError(
        fmt::format("{} has invalid datatype {}", tensor, DataTypeName(datatype)));
  }
  Flattener f{datatype, expected_elements, tensor, {}};
  if (datatype != DataType::kBytes && expected_elements > 0) {
    // The shape is the client's claim; the JSON values are what it sent. Reserve no more than
    // the outer array holds (nested arrays grow the buffer as they are counted).
    const size_t sent = data.IsArray() ? data.Size() : 1;
    f.out.reserve(std::min(static_cast<size_t>(expected_elements), sent) *
                  DataTypeByteSize(datatype));
  }
  if (absl::Status s = f.Walk(data); !s.ok()) return s;
  if (f.count != expected_elements) {
    return absl::InvalidArgumentError(
        fmt::format("{} has {} data elements, but its shape needs {}", tensor, f.count,
                    expected_elements));
  }
  return std::move(f.out);
}

absl::Status WriteJsonTensorData(JsonWriter& writer, DataType datatype, const std::byte* data,
                                 size_t byte_size, std::string_view tensor) {
  const size_t element_size = DataTypeByteSize(datatype);
  if (datatype == DataType::kBytes) {
    auto elements = ParseBytesTensor({data, byte_size});
    if (!elements.ok()) {
      return absl::InvalidArgumentError(fmt::format("{}: {}", tensor,
                                                    std::string(elements.status().message())));
    }
    writer.StartArray();
    for (std::string_view e : *elements) {
      writer.String(e.data(), static_cast<rapidjson::SizeType>(e.size()));
    }
    writer.EndArray();
    return absl::OkStatus();
  }
  if (datatype == DataType::kFp16 || datatype == DataType::kBf16 || element_size == 0) {
    return absl::InvalidArgumentError(
        fmt::format("{} has datatype {}, which has no JSON representation; request it as binary "
                    "data (\"binary_data\": true)",
                    tensor, DataTypeName(datatype)));
  }
  const size_t count = byte_size / element_size;
  writer.StartArray();
  switch (datatype) {
    case DataType::kBool: WriteElements<bool>(writer, data, count); break;
    case DataType::kUint8: WriteElements<uint8_t>(writer, data, count); break;
    case DataType::kUint16: WriteElements<uint16_t>(writer, data, count); break;
    case DataType::kUint32: WriteElements<uint32_t>(writer, data, count); break;
    case DataType::kUint64: WriteElements<uint64_t>(writer, data, count); break;
    case DataType::kInt8: WriteElements<int8_t>(writer, data, count); break;
    case DataType::kInt16: WriteElements<int16_t>(writer, data, count); break;
    case DataType::kInt32: WriteElements<int32_t>(writer, data, count); break;
    case DataType::kInt64: WriteElements<int64_t>(writer, data, count); break;
    case DataType::kFp32: WriteElements<float>(writer, data, count); break;
    case DataType::kFp64: WriteElements<double>(writer, data, count); break;
    default: break;
  }
  writer.EndArray();
  return absl::OkStatus();
}

}  // namespace inferd::codec
