// SPDX-License-Identifier: Apache-2.0
#include "codec/json_util.h"

#include "codec/json_document.h"
#include "core/client_text.h"
#include "fmt/format.h"

namespace inferd::codec::internal {

absl::Status ParseJson(std::string_view json, std::string_view what, bool want_object,
                       rapidjson::Document& doc) {
  if (absl::Status s = ParseJsonDocument(json, what, doc); !s.ok()) return s;
  if (want_object && !doc.IsObject()) {
    return absl::InvalidArgumentError(
        fmt::format("{} must be a JSON object, not {}", what, JsonTypeName(doc)));
  }
  return absl::OkStatus();
}

std::string_view JsonTypeName(const rapidjson::Value& v) {
  switch (v.GetType()) {
    case rapidjson::kNullType: return "null";
    case rapidjson::kFalseType:
    case rapidjson::kTrueType: return "a boolean";
    case rapidjson::kObjectType: return "an object";
    case rapidjson::kArrayType: return "an array";
    case rapidjson::kStringType: return "a string";
    case rapidjson::kNumberType: return "a number";
  }
  return "a value";
}

void WriteParameters(JsonWriter& writer, const Parameters& parameters) {
  writer.StartObject();
  for (const auto& [key, value] : parameters) {
    writer.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
    if (const auto* b = std::get_if<bool>(&value)) {
      writer.Bool(*b);
    } else if (const auto* i = std::get_if<int64_t>(&value)) {
      writer.Int64(*i);
    } else if (const auto* d = std::get_if<double>(&value)) {
      writer.Double(*d);
    } else {
      const auto& s = std::get<std::string>(value);
      writer.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
    }
  }
  writer.EndObject();
}

void WriteShape(JsonWriter& writer, const Shape& shape) {
  writer.StartArray();
  for (int64_t d : shape) writer.Int64(d);
  writer.EndArray();
}

absl::StatusOr<Parameters> ReadParameters(const rapidjson::Value& v, std::string_view what) {
  if (!v.IsObject()) {
    return absl::InvalidArgumentError(
        fmt::format("'parameters' of {} must be a JSON object, not {}", what, JsonTypeName(v)));
  }
  Parameters out;
  for (const auto& m : v.GetObject()) {
    std::string key(m.name.GetString(), m.name.GetStringLength());
    const rapidjson::Value& x = m.value;
    if (x.IsBool()) {
      out.emplace(std::move(key), x.GetBool());
    } else if (x.IsInt64()) {
      out.emplace(std::move(key), x.GetInt64());
    } else if (x.IsNumber()) {
      out.emplace(std::move(key), x.GetDouble());
    } else if (x.IsString()) {
      out.emplace(std::move(key), std::string(AsView(x)));
    } else {
      return absl::InvalidArgumentError(
          fmt::format("parameter {} of {} must be a string, number or boolean, not {}",
                      QuoteClientText(key), what, JsonTypeName(x)));
    }
  }
  return out;
}

absl::StatusOr<Shape> ReadShape(const rapidjson::Value& v, std::string_view what) {
  if (!v.IsArray()) {
    return absl::InvalidArgumentError(fmt::format("{} has no 'shape' array", what));
  }
  Shape shape;
  shape.reserve(v.Size());
  for (const auto& d : v.GetArray()) {
    if (!d.IsInt64()) {
      return absl::InvalidArgumentError(
          fmt::format("the shape of {} must hold integers, found {}", what, JsonTypeName(d)));
    }
    shape.push_back(d.GetInt64());
  }
  return shape;
}

const rapidjson::Value* StringMember(const rapidjson::Value& object, const char* name) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd() || !it->value.IsString()) return nullptr;
  return &it->value;
}

}  // namespace inferd::codec::internal
