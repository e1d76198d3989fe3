// SPDX-License-Identifier: Apache-2.0
// Tensor data in KServe v2 JSON form: a (nested or flat) array of elements in row-major order.
// Numbers for numeric types (integers are accepted for FP32/FP64, as Triton does), true/false for
// BOOL, strings for BYTES. FP16 and BF16 have no JSON form and must travel as binary data.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "inferd/datatype.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace inferd::codec {

// The writer every JSON encoder in inferd uses. NaN and infinities are written as NaN/Infinity
// (what Triton's and Python's JSON writers do) rather than failing the response.
using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer, rapidjson::UTF8<>, rapidjson::UTF8<>,
                                     rapidjson::CrtAllocator, rapidjson::kWriteNanAndInfFlag>;

// Decodes a JSON `data` value into the wire layout (little-endian elements; BYTES length-prefixed).
// `tensor` names the tensor in errors ("input 'INPUT0'"). INVALID_ARGUMENT when the datatype has
// no JSON form, an element is not a valid value of the datatype, or the element count differs
// from `expected_elements`.
absl::StatusOr<std::string> DecodeJsonTensorData(const rapidjson::Value& data, DataType datatype,
                                                 int64_t expected_elements,
                                                 std::string_view tensor);

// Writes the elements of a tensor in the wire layout as a flat JSON array. INVALID_ARGUMENT for
// FP16/BF16 (no JSON form) and for a BYTES buffer that is not in the length-prefixed layout.
absl::Status WriteJsonTensorData(JsonWriter& writer, DataType datatype, const std::byte* data,
                                 size_t byte_size, std::string_view tensor);

}  // namespace inferd::codec
