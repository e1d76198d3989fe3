// SPDX-License-Identifier: Apache-2.0
// Bodies of the metadata, repository and statistics endpoints, and of errors.
#include "codec/json_tensor.h"
#include "codec/json_util.h"
#include "codec/kserve_json.h"
#include "core/client_text.h"
#include "fmt/format.h"

namespace inferd::codec {
namespace {

using internal::AsView;
using internal::ParseJson;
using internal::StringMember;

void String(JsonWriter& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

std::string Finish(const rapidjson::StringBuffer& buffer) {
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string GetString(const rapidjson::Value& object, const char* name) {
  const rapidjson::Value* v = StringMember(object, name);
  return v == nullptr ? std::string() : std::string(AsView(*v));
}

uint64_t GetUint(const rapidjson::Value& object, const char* name) {
  auto it = object.FindMember(name);
  if (it == object.MemberEnd()) return 0;
  if (it->value.IsUint64()) return it->value.GetUint64();
  if (it->value.IsString()) return std::strtoull(it->value.GetString(), nullptr, 10);
  return 0;
}

void WriteTensors(JsonWriter& w, const std::vector<TensorMetadata>& tensors) {
  w.StartArray();
  for (const TensorMetadata& t : tensors) {
    w.StartObject();
    w.Key("name");
    String(w, t.name);
    w.Key("datatype");
    String(w, DataTypeName(t.datatype));
    w.Key("shape");
    internal::WriteShape(w, t.shape);
    w.EndObject();
  }
  w.EndArray();
}

absl::StatusOr<std::vector<TensorMetadata>> ReadTensors(const rapidjson::Value& doc,
                                                        const char* member) {
  std::vector<TensorMetadata> out;
  auto it = doc.FindMember(member);
  if (it == doc.MemberEnd()) return out;
  if (!it->value.IsArray()) {
    return absl::InvalidArgumentError(
        fmt::format("model metadata {} is not an array", QuoteClientText(member)));
  }
  for (const auto& v : it->value.GetArray()) {
    if (!v.IsObject()) return absl::InvalidArgumentError("model metadata tensor is not an object");
    TensorMetadata t;
    t.name = GetString(v, "name");
    t.datatype = DataTypeFromName(GetString(v, "datatype")).value_or(DataType::kInvalid);
    auto shape = v.FindMember("shape");
    if (shape != v.MemberEnd()) {
      auto s = internal::ReadShape(shape->value, fmt::format("tensor {}", QuoteClientText(t.name)));
      if (!s.ok()) return s.status();
      t.shape = *std::move(s);
    }
    out.push_back(std::move(t));
  }
  return out;
}

void WriteDuration(JsonWriter& w, const char* key, const DurationStat& d) {
  w.Key(key);
  w.StartObject();
  w.Key("count");
  w.Uint64(d.count);
  w.Key("ns");
  w.Uint64(d.ns);
  w.EndObject();
}

DurationStat ReadDuration(const rapidjson::Value& object, const char* key) {
  auto it = object.FindMember(key);
  if (it == object.MemberEnd() || !it->value.IsObject()) return {};
  return DurationStat{GetUint(it->value, "count"), GetUint(it->value, "ns")};
}

}  // namespace

std::string EncodeError(std::string_view message) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("error");
  String(w, SafeErrorMessage(message));
  w.EndObject();
  return Finish(buffer);
}

std::string DecodeError(std::string_view body) {
  rapidjson::Document doc;
  if (ParseJson(body, "the error", /*want_object=*/true, doc).ok()) {
    if (const auto* e = StringMember(doc, "error")) return std::string(AsView(*e));
  }
  return std::string(body);
}

std::string EncodeServerMetadata(const ServerMetadata& metadata) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("name");
  String(w, metadata.name);
  w.Key("version");
  String(w, metadata.version);
  w.Key("extensions");
  w.StartArray();
  for (const std::string& e : metadata.extensions) String(w, e);
  w.EndArray();
  w.EndObject();
  return Finish(buffer);
}

absl::StatusOr<ServerMetadata> DecodeServerMetadata(std::string_view json) {
  rapidjson::Document doc;
  if (absl::Status s = ParseJson(json, "the server metadata", true, doc); !s.ok()) return s;
  ServerMetadata m;
  m.name = GetString(doc, "name");
  m.version = GetString(doc, "version");
  if (auto it = doc.FindMember("extensions"); it != doc.MemberEnd() && it->value.IsArray()) {
    for (const auto& e : it->value.GetArray()) {
      if (e.IsString()) m.extensions.emplace_back(AsView(e));
    }
  }
  return m;
}

std::string EncodeModelMetadata(const ModelMetadata& metadata) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("name");
  String(w, metadata.name);
  w.Key("versions");
  w.StartArray();
  for (const std::string& v : metadata.versions) String(w, v);
  w.EndArray();
  w.Key("platform");
  String(w, metadata.platform);
  w.Key("inputs");
  WriteTensors(w, metadata.inputs);
  w.Key("outputs");
  WriteTensors(w, metadata.outputs);
  w.EndObject();
  return Finish(buffer);
}

absl::StatusOr<ModelMetadata> DecodeModelMetadata(std::string_view json) {
  rapidjson::Document doc;
  if (absl::Status s = ParseJson(json, "the model metadata", true, doc); !s.ok()) return s;
  ModelMetadata m;
  m.name = GetString(doc, "name");
  m.platform = GetString(doc, "platform");
  if (auto it = doc.FindMember("versions"); it != doc.MemberEnd() && it->value.IsArray()) {
    for (const auto& v : it->value.GetArray()) {
      if (v.IsString()) m.versions.emplace_back(AsView(v));
    }
  }
  auto inputs = ReadTensors(doc, "inputs");
  if (!inputs.ok()) return inputs.status();
  m.inputs = *std::move(inputs);
  auto outputs = ReadTensors(doc, "outputs");
  if (!outputs.ok()) return outputs.status();
  m.outputs = *std::move(outputs);
  return m;
}

std::string EncodeRepositoryIndex(const std::vector<ModelIndexEntry>& index) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartArray();
  for (const ModelIndexEntry& e : index) {
    w.StartObject();
    w.Key("name");
    String(w, e.name);
    if (!e.version.empty()) {
      w.Key("version");
      String(w, e.version);
    }
    w.Key("state");
    String(w, e.state);
    w.Key("reason");
    String(w, e.reason);
    w.EndObject();
  }
  w.EndArray();
  return Finish(buffer);
}

absl::StatusOr<std::vector<ModelIndexEntry>> DecodeRepositoryIndex(std::string_view json) {
  rapidjson::Document doc;
  if (absl::Status s = ParseJson(json, "the repository index", false, doc); !s.ok()) return s;
  if (!doc.IsArray()) return absl::InvalidArgumentError("the repository index is not an array");
  std::vector<ModelIndexEntry> out;
  for (const auto& v : doc.GetArray()) {
    if (!v.IsObject()) continue;
    out.push_back(ModelIndexEntry{GetString(v, "name"), GetString(v, "version"),
                                  GetString(v, "state"), GetString(v, "reason")});
  }
  return out;
}

std::string EncodeModelStatistics(const std::vector<ModelStatistics>& stats) {
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("model_stats");
  w.StartArray();
  for (const ModelStatistics& s : stats) {
    w.StartObject();
    w.Key("name");
    String(w, s.name);
    w.Key("version");
    String(w, s.version);
    w.Key("last_inference");
    w.Uint64(s.last_inference_ms);
    w.Key("inference_count");
    w.Uint64(s.inference_count);
    w.Key("execution_count");
    w.Uint64(s.execution_count);
    w.Key("inference_stats");
    w.StartObject();
    const InferenceStats& i = s.inference_stats;
    WriteDuration(w, "success", i.success);
    WriteDuration(w, "fail", i.fail);
    WriteDuration(w, "queue", i.queue);
    WriteDuration(w, "compute_input", i.compute_input);
    WriteDuration(w, "compute_infer", i.compute_infer);
    WriteDuration(w, "compute_output", i.compute_output);
    WriteDuration(w, "cache_hit", {});  // No response cache: always zero.
    WriteDuration(w, "cache_miss", {});
    w.EndObject();
    w.Key("response_stats");  // Only decoupled models have response statistics.
    w.StartObject();
    w.EndObject();
    w.Key("batch_stats");
    w.StartArray();
    for (const BatchStats& b : s.batch_stats) {
      w.StartObject();
      w.Key("batch_size");
      w.Int64(b.batch_size);
      WriteDuration(w, "compute_input", b.compute_input);
      WriteDuration(w, "compute_infer", b.compute_infer);
      WriteDuration(w, "compute_output", b.compute_output);
      w.EndObject();
    }
    w.EndArray();
    w.Key("memory_usage");
    w.StartArray();
    if (s.memory_bytes > 0) {
      w.StartObject();
      w.Key("type");
      w.String("CPU");
      w.Key("id");
      w.Int64(0);
      w.Key("byte_size");
      w.Int64(s.memory_bytes);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return Finish(buffer);
}

absl::StatusOr<std::vector<ModelStatistics>> DecodeModelStatistics(std::string_view json) {
  rapidjson::Document doc;
  if (absl::Status s = ParseJson(json, "the model statistics", true, doc); !s.ok()) return s;
  auto list = doc.FindMember("model_stats");
  if (list == doc.MemberEnd() || !list->value.IsArray()) {
    return absl::InvalidArgumentError("the statistics response has no 'model_stats' array");
  }
  std::vector<ModelStatistics> out;
  for (const auto& v : list->value.GetArray()) {
    if (!v.IsObject()) continue;
    ModelStatistics s;
    s.name = GetString(v, "name");
    s.version = GetString(v, "version");
    s.last_inference_ms = GetUint(v, "last_inference");
    s.inference_count = GetUint(v, "inference_count");
    s.execution_count = GetUint(v, "execution_count");
    if (auto it = v.FindMember("inference_stats"); it != v.MemberEnd() && it->value.IsObject()) {
      const rapidjson::Value& i = it->value;
      s.inference_stats = InferenceStats{ReadDuration(i, "success"),       ReadDuration(i, "fail"),
                                         ReadDuration(i, "queue"),
                                         ReadDuration(i, "compute_input"),
                                         ReadDuration(i, "compute_infer"),
                                         ReadDuration(i, "compute_output")};
    }
    if (auto it = v.FindMember("batch_stats"); it != v.MemberEnd() && it->value.IsArray()) {
      for (const auto& b : it->value.GetArray()) {
        if (!b.IsObject()) continue;
        s.batch_stats.push_back(BatchStats{static_cast<int64_t>(GetUint(b, "batch_size")),
                                           ReadDuration(b, "compute_input"),
                                           ReadDuration(b, "compute_infer"),
                                           ReadDuration(b, "compute_output")});
      }
    }
    if (auto it = v.FindMember("memory_usage"); it != v.MemberEnd() && it->value.IsArray()) {
      for (const auto& m : it->value.GetArray()) {
        if (m.IsObject()) s.memory_bytes += static_cast<int64_t>(GetUint(m, "byte_size"));
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace inferd::codec
