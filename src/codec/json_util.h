// SPDX-License-Identifier: Apache-2.0
// Helpers shared by the codec's JSON encoders and decoders (private to src/codec/).
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "codec/json_tensor.h"
#include "inferd/infer.h"
#include "inferd/tensor.h"
#include "rapidjson/document.h"

namespace inferd::codec::internal {

// Parses `json` into `doc`; INVALID_ARGUMENT naming `what` ("the request JSON") and the error
// position when it is not valid JSON, or when it is not an object (`want_object`).
absl::Status ParseJson(std::string_view json, std::string_view what, bool want_object,
                       rapidjson::Document& doc);

// The JSON type of a value in words ("an array"), for errors.
std::string_view JsonTypeName(const rapidjson::Value& v);

void WriteParameters(JsonWriter& writer, const Parameters& parameters);
void WriteShape(JsonWriter& writer, const Shape& shape);
// `what` names the owner in errors ("input 'INPUT0'").
absl::StatusOr<Parameters> ReadParameters(const rapidjson::Value& v, std::string_view what);
absl::StatusOr<Shape> ReadShape(const rapidjson::Value& v, std::string_view what);

// A string member, or nullptr when absent or not a string.
const rapidjson::Value* StringMember(const rapidjson::Value& object, const char* name);
inline std::string_view AsView(const rapidjson::Value& v) {
  return {v.GetString(), v.GetStringLength()};
}

}  // namespace inferd::codec::internal
