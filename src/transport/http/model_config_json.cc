// SPDX-License-Identifier: Apache-2.0
#include "transport/http/model_config_json.h"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/util/json_util.h>

#include <cstdlib>

#include "fmt/format.h"
#include "codec/json_document.h"
#include "rapidjson/document.h"
#include "rapidjson/stringbuffer.h"
#include "rapidjson/writer.h"

namespace inferd {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

bool Is64BitInteger(const FieldDescriptor* f) {
  switch (f->cpp_type()) {
    case FieldDescriptor::CPPTYPE_INT64:
    case FieldDescriptor::CPPTYPE_UINT64:
      return true;
    default:
      return false;
  }
}

void Unquote(rapidjson::Value& v, bool is_unsigned) {
  if (!v.IsString()) return;
  const char* s = v.GetString();
  char* end = nullptr;
  if (is_unsigned) {
    const unsigned long long x = std::strtoull(s, &end, 10);
    if (end != s && *end == '\0') v.SetUint64(x);
  } else {
    const long long x = std::strtoll(s, &end, 10);
    if (end != s && *end == '\0') v.SetInt64(x);
  }
}

// Walks the JSON object beside the message's descriptor and turns quoted 64-bit integers into
// numbers, in messages nested at any depth (maps included).
void NumbersFor64BitFields(rapidjson::Value& object, const Descriptor* descriptor);

void FixValue(rapidjson::Value& v, const FieldDescriptor* f) {
  if (Is64BitInteger(f)) {
    Unquote(v, f->cpp_type() == FieldDescriptor::CPPTYPE_UINT64);
  } else if (f->cpp_type() == FieldDescriptor::CPPTYPE_MESSAGE && v.IsObject()) {
    NumbersFor64BitFields(v, f->message_type());
  }
}

void NumbersFor64BitFields(rapidjson::Value& object, const Descriptor* descriptor) {
  for (auto& member : object.GetObject()) {
    const FieldDescriptor* f = descriptor->FindFieldByName(member.name.GetString());
    if (f == nullptr) continue;
    if (f->is_map()) {
      const FieldDescriptor* value_field = f->message_type()->FindFieldByName("value");
      if (!member.value.IsObject() || value_field == nullptr) continue;
      for (auto& entry : member.value.GetObject()) FixValue(entry.value, value_field);
    } else if (f->is_repeated()) {
      if (!member.value.IsArray()) continue;
      for (auto& element : member.value.GetArray()) FixValue(element, f);
    } else {
      FixValue(member.value, f);
    }
  }
}

}  // namespace

absl::StatusOr<std::string> ModelConfigToJson(const inference::ModelConfig& config) {
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = true;
  options.always_print_primitive_fields = true;
  std::string json;
  auto status = google::protobuf::util::MessageToJsonString(config, &json, options);
  if (!status.ok()) {
    return absl::InternalError(fmt::format("cannot convert the configuration of model '{}' to "
                                           "JSON: {}",
                                           config.name(), status.ToString()));
  }
  rapidjson::Document doc;
  if (!codec::ParseJsonDocument(json, "the model configuration", doc).ok() || !doc.IsObject()) {
    return json;
  }
  NumbersFor64BitFields(doc, inference::ModelConfig::descriptor());
  rapidjson::StringBuffer buffer;
  rapidjson::Writer<rapidjson::StringBuffer> writer(buffer);
  doc.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

}  // namespace inferd
