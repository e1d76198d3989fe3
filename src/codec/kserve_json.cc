// SPDX-License-Identifier: Apache-2.0
// Infer requests and responses in KServe v2 JSON with the binary tensor extension.
#include "codec/kserve_json.h"

#include "codec/json_tensor.h"
#include "codec/json_util.h"
#include "core/client_text.h"
#include "fmt/format.h"

namespace inferd::codec {
namespace {

using internal::AsView;
using internal::JsonTypeName;
using internal::ParseJson;
using internal::ReadParameters;
using internal::ReadShape;
using internal::StringMember;
using internal::WriteParameters;
using internal::WriteShape;

bool BoolParameter(const Parameters& parameters, std::string_view name, bool* value) {
  auto it = parameters.find(name);
  if (it == parameters.end()) return false;
  if (const auto* b = std::get_if<bool>(&it->second)) {
    *value = *b;
    return true;
  }
  return false;
}

// A tensor (input of a request, output of a response) decoded from its JSON object. Its bytes are
// taken from `binary` at `*offset` when it has binary_data_size, else decoded from "data".
struct DecodedTensor {
  std::string name;
  DataType datatype = DataType::kInvalid;
  Shape shape;
  Parameters parameters;
  const std::byte* data = nullptr;
  size_t byte_size = 0;
  std::shared_ptr<const void> owner;
};

absl::StatusOr<DecodedTensor> DecodeTensor(const rapidjson::Value& v, std::string_view kind,
                                           size_t index, std::span<const std::byte> binary,
                                           size_t* offset,
                                           const std::shared_ptr<const void>& owner) {
  if (!v.IsObject()) {
    return absl::InvalidArgumentError(
        fmt::format("{} {} must be a JSON object, not {}", kind, index, JsonTypeName(v)));
  }
  DecodedTensor t;
  const rapidjson::Value* name = StringMember(v, "name");
  if (name == nullptr) {
    return absl::InvalidArgumentError(fmt::format("{} {} has no 'name' string", kind, index));
  }
  t.name = std::string(AsView(*name));
  const std::string what = fmt::format("{} {}", kind, QuoteClientText(t.name));
  const rapidjson::Value* datatype = StringMember(v, "datatype");
  if (datatype == nullptr) {
    return absl::InvalidArgumentError(fmt::format("{} has no 'datatype' string", what));
  }
  const auto type = DataTypeFromName(AsView(*datatype));
  if (!type) {
    return absl::InvalidArgumentError(
        fmt::format("{} has unknown datatype {}", what, QuoteClientText(AsView(*datatype))));
  }
  t.datatype = *type;
  auto shape_it = v.FindMember("shape");
  if (shape_it == v.MemberEnd()) {
    return absl::InvalidArgumentError(fmt::format("{} has no 'shape' array", what));
  }
  auto shape = ReadShape(shape_it->value, what);
  if (!shape.ok()) return shape.status();
  t.shape = *std::move(shape);
  if (auto p = v.FindMember("parameters"); p != v.MemberEnd()) {
    auto parameters = ReadParameters(p->value, what);
    if (!parameters.ok()) return parameters.status();
    t.parameters = *std::move(parameters);
  }
  if (auto size_it = t.parameters.find(kBinaryDataSize); size_it != t.parameters.end()) {
    const auto* size = std::get_if<int64_t>(&size_it->second);
    if (size == nullptr || *size < 0) {
      return absl::InvalidArgumentError(
          fmt::format("{} has a binary_data_size that is not a non-negative integer", what));
    }
    const size_t remaining = binary.size() - *offset;
    if (static_cast<uint64_t>(*size) > remaining) {
      return absl::InvalidArgumentError(fmt::format(
          "{} has binary_data_size {}, but only {} bytes of binary data remain in the body after "
          "the JSON header (Inference-Header-Content-Length)",
          what, *size, remaining));
    }
    t.data = binary.data() + *offset;
    t.byte_size = static_cast<size_t>(*size);
    t.owner = owner;
    *offset += t.byte_size;
    return t;
  }
  auto data_it = v.FindMember("data");
  if (data_it == v.MemberEnd()) {
    // Triton's shared-memory extension: the bytes are in the named region.
    if (t.parameters.contains("shared_memory_region")) return t;
    return absl::InvalidArgumentError(
        fmt::format("{} has neither 'data' nor a binary_data_size parameter", what));
  }
  for (int64_t d : t.shape) {
    if (d < 0) {
      return absl::InvalidArgumentError(
          fmt::format("{} has a negative dimension in shape {}", what, ShapeToString(t.shape)));
    }
  }
  const auto elements = ElementCount(t.shape);
  if (!elements) {
    return absl::InvalidArgumentError(
        fmt::format("{} has shape {}, which is too large", what, ShapeToString(t.shape)));
  }
  auto bytes = DecodeJsonTensorData(data_it->value, t.datatype, *elements, what);
  if (!bytes.ok()) return bytes.status();
  auto storage = std::make_shared<std::string>(*std::move(bytes));
  t.data = reinterpret_cast<const std::byte*>(storage->data());
  t.byte_size = storage->size();
  t.owner = std::move(storage);
  return t;
}

absl::Status CheckAllBinaryUsed(std::span<const std::byte> binary, size_t offset) {
  if (offset == binary.size()) return absl::OkStatus();
  return absl::InvalidArgumentError(fmt::format(
      "the body has {} bytes of binary data after the JSON header that no binary_data_size "
      "accounts for",
      binary.size() - offset));
}

void WriteTensorHeader(JsonWriter& w, std::string_view name, DataType datatype,
                       const Shape& shape) {
  w.Key("name");
  w.String(name.data(), static_cast<rapidjson::SizeType>(name.size()));
  w.Key("datatype");
  const std::string_view type = DataTypeName(datatype);
  w.String(type.data(), static_cast<rapidjson::SizeType>(type.size()));
  w.Key("shape");
  WriteShape(w, shape);
}

// Writes a tensor either as {"parameters": {..., "binary_data_size": N}} plus a binary chunk, or
// as {"parameters"?, "data": [...]}.
absl::Status WriteTensorBody(JsonWriter& w, std::string_view what, DataType datatype,
                             const std::byte* data, size_t byte_size, const Parameters& parameters,
                             bool binary, EncodedInferMessage& out) {
  if (parameters.contains("shared_memory_region")) {  // The bytes are in a shared-memory region.
    w.Key("parameters");
    WriteParameters(w, parameters);
    return absl::OkStatus();
  }
  if (binary) {
    Parameters p = parameters;
    p[std::string(kBinaryDataSize)] = static_cast<int64_t>(byte_size);
    w.Key("parameters");
    WriteParameters(w, p);
    out.binary.emplace_back(data, byte_size);
    out.binary_size += byte_size;
    return absl::OkStatus();
  }
  if (!parameters.empty()) {
    Parameters p = parameters;
    p.erase(std::string(kBinaryDataSize));
    if (!p.empty()) {
      w.Key("parameters");
      WriteParameters(w, p);
    }
  }
  w.Key("data");
  return WriteJsonTensorData(w, datatype, data, byte_size, what);
}

}  // namespace

bool OutputBinarySelection::IsBinary(std::string_view output) const {
  for (const auto& [name, binary] : per_output) {
    if (name == output) return binary;
  }
  return default_binary;
}

OutputBinarySelection BinarySelectionOf(const InferRequest& request) {
  OutputBinarySelection s;
  BoolParameter(request.parameters, kBinaryDataOutput, &s.default_binary);
  for (const RequestedOutput& out : request.outputs) {
    bool binary = false;
    if (BoolParameter(out.parameters, kBinaryData, &binary)) {
      s.per_output.emplace_back(out.name, binary);
    }
  }
  return s;
}

absl::StatusOr<InferRequest> DecodeInferRequest(std::string_view json,
                                                std::span<const std::byte> binary,
                                                std::shared_ptr<const void> owner) {
  rapidjson::Document doc;
  if (absl::Status s = ParseJson(json, "the request JSON", /*want_object=*/true, doc); !s.ok()) {
    return s;
  }
  InferRequest request;
  if (auto id = doc.FindMember("id"); id != doc.MemberEnd()) {
    if (!id->value.IsString()) {
      return absl::InvalidArgumentError(
          fmt::format("the request 'id' must be a string, not {}", JsonTypeName(id->value)));
    }
    request.id = std::string(AsView(id->value));
  }
  if (auto p = doc.FindMember("parameters"); p != doc.MemberEnd()) {
    auto parameters = ReadParameters(p->value, "the request");
    if (!parameters.ok()) return parameters.status();
    request.parameters = *std::move(parameters);
  }
  auto inputs = doc.FindMember("inputs");
  if (inputs == doc.MemberEnd() || !inputs->value.IsArray()) {
    return absl::InvalidArgumentError("the request JSON has no 'inputs' array");
  }
  size_t offset = 0;
  request.inputs.reserve(inputs->value.Size());
  size_t index = 0;
  for (const auto& v : inputs->value.GetArray()) {
    auto t = DecodeTensor(v, "input", index++, binary, &offset, owner);
    if (!t.ok()) return t.status();
    InferInput in;
    in.name = std::move(t->name);
    in.datatype = t->datatype;
    in.shape = std::move(t->shape);
    in.data = t->data;
    in.byte_size = t->byte_size;
    in.owner = std::move(t->owner);
    in.parameters = std::move(t->parameters);
    request.inputs.push_back(std::move(in));
  }
  if (absl::Status s = CheckAllBinaryUsed(binary, offset); !s.ok()) return s;
  if (auto outputs = doc.FindMember("outputs"); outputs != doc.MemberEnd()) {
    if (!outputs->value.IsArray()) {
      return absl::InvalidArgumentError("the request's 'outputs' must be an array");
    }
    index = 0;
    for (const auto& v : outputs->value.GetArray()) {
      const rapidjson::Value* name = v.IsObject() ? StringMember(v, "name") : nullptr;
      if (name == nullptr) {
        return absl::InvalidArgumentError(
            fmt::format("requested output {} has no 'name' string", index));
      }
      RequestedOutput out;
      out.name = std::string(AsView(*name));
      if (auto p = v.FindMember("parameters"); p != v.MemberEnd()) {
        auto parameters =
            ReadParameters(p->value, fmt::format("output {}", QuoteClientText(out.name)));
        if (!parameters.ok()) return parameters.status();
        out.parameters = *std::move(parameters);
      }
      request.outputs.push_back(std::move(out));
      ++index;
    }
  }
  return request;
}

absl::StatusOr<EncodedInferMessage> EncodeInferResponse(const InferResponse& response,
                                                        const OutputBinarySelection& binary) {
  EncodedInferMessage out;
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("model_name");
  w.String(response.model_name.data(),
           static_cast<rapidjson::SizeType>(response.model_name.size()));
  w.Key("model_version");
  const std::string version = std::to_string(response.model_version);
  w.String(version.data(), static_cast<rapidjson::SizeType>(version.size()));
  if (!response.id.empty()) {
    w.Key("id");
    w.String(response.id.data(), static_cast<rapidjson::SizeType>(response.id.size()));
  }
  if (!response.parameters.empty()) {
    w.Key("parameters");
    WriteParameters(w, response.parameters);
  }
  w.Key("outputs");
  w.StartArray();
  for (const InferOutput& o : response.outputs) {
    w.StartObject();
    WriteTensorHeader(w, o.name, o.datatype, o.shape);
    if (absl::Status s =
            WriteTensorBody(w, fmt::format("output {}", QuoteClientText(o.name)), o.datatype,
                            o.data, o.byte_size, o.parameters, binary.IsBinary(o.name), out);
        !s.ok()) {
      return s;
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  out.json.assign(buffer.GetString(), buffer.GetSize());
  return out;
}

absl::StatusOr<EncodedInferMessage> EncodeInferRequest(const InferRequest& request,
                                                       bool binary_inputs) {
  EncodedInferMessage out;
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  if (!request.id.empty()) {
    w.Key("id");
    w.String(request.id.data(), static_cast<rapidjson::SizeType>(request.id.size()));
  }
  if (!request.parameters.empty()) {
    w.Key("parameters");
    WriteParameters(w, request.parameters);
  }
  w.Key("inputs");
  w.StartArray();
  for (const InferInput& in : request.inputs) {
    w.StartObject();
    WriteTensorHeader(w, in.name, in.datatype, in.shape);
    const bool binary =
        binary_inputs || in.datatype == DataType::kFp16 || in.datatype == DataType::kBf16;
    if (absl::Status s =
            WriteTensorBody(w, fmt::format("input {}", QuoteClientText(in.name)), in.datatype,
                            in.data, in.byte_size, in.parameters, binary, out);
        !s.ok()) {
      return s;
    }
    w.EndObject();
  }
  w.EndArray();
  if (!request.outputs.empty()) {
    w.Key("outputs");
    w.StartArray();
    for (const RequestedOutput& o : request.outputs) {
      w.StartObject();
      w.Key("name");
      w.String(o.name.data(), static_cast<rapidjson::SizeType>(o.name.size()));
      if (!o.parameters.empty()) {
        w.Key("parameters");
        WriteParameters(w, o.parameters);
      }
      w.EndObject();
    }
    w.EndArray();
  }
  w.EndObject();
  out.json.assign(buffer.GetString(), buffer.GetSize());
  return out;
}

absl::StatusOr<InferResponse> DecodeInferResponse(std::string_view json,
                                                  std::span<const std::byte> binary,
                                                  std::shared_ptr<const void> owner) {
  rapidjson::Document doc;
  if (absl::Status s = ParseJson(json, "the response JSON", /*want_object=*/true, doc); !s.ok()) {
    return s;
  }
  InferResponse response;
  if (const auto* name = StringMember(doc, "model_name")) {
    response.model_name = std::string(AsView(*name));
  }
  if (auto v = doc.FindMember("model_version"); v != doc.MemberEnd()) {
    if (v->value.IsString()) {
      response.model_version = std::strtoll(v->value.GetString(), nullptr, 10);
    } else if (v->value.IsInt64()) {
      response.model_version = v->value.GetInt64();
    }
  }
  if (const auto* id = StringMember(doc, "id")) response.id = std::string(AsView(*id));
  if (auto p = doc.FindMember("parameters"); p != doc.MemberEnd()) {
    auto parameters = ReadParameters(p->value, "the response");
    if (!parameters.ok()) return parameters.status();
    response.parameters = *std::move(parameters);
  }
  auto outputs = doc.FindMember("outputs");
  if (outputs == doc.MemberEnd() || !outputs->value.IsArray()) {
    return absl::InvalidArgumentError("the response JSON has no 'outputs' array");
  }
  size_t offset = 0;
  size_t index = 0;
  for (const auto& v : outputs->value.GetArray()) {
    auto t = DecodeTensor(v, "output", index++, binary, &offset, owner);
    if (!t.ok()) return t.status();
    InferOutput o;
    o.name = std::move(t->name);
    o.datatype = t->datatype;
    o.shape = std::move(t->shape);
    o.data = t->data;
    o.byte_size = t->byte_size;
    o.owner = std::move(t->owner);
    o.parameters = std::move(t->parameters);
    response.outputs.push_back(std::move(o));
  }
  if (absl::Status s = CheckAllBinaryUsed(binary, offset); !s.ok()) return s;
  return response;
}

}  // namespace inferd::codec
