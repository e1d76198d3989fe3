// SPDX-License-Identifier: Apache-2.0
#include "perf/input_data.h"

#include <rapidjson/document.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include <fmt/format.h>

#include "absl/strings/escaping.h"
#include "codec/json_document.h"
#include "codec/npy.h"
#include "core/client_text.h"
#include "inferd/tensor.h"

namespace inferd::perf {
namespace {

namespace fs = std::filesystem;

int64_t Product(std::span<const int64_t> dims) {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

bool IsFloat(DataType t) {
  return t == DataType::kFp16 || t == DataType::kFp32 || t == DataType::kFp64 ||
         t == DataType::kBf16;
}

uint16_t FloatToHalf(float f) {
  // Round-toward-zero conversion, enough for test data.
  uint32_t x;
  std::memcpy(&x, &f, 4);
  const uint32_t sign = (x >> 16) & 0x8000;
  int32_t exp = static_cast<int32_t>((x >> 23) & 0xff) - 127 + 15;
  const uint32_t mant = x & 0x7fffff;
  if (exp <= 0) return static_cast<uint16_t>(sign);
  if (exp >= 31) return static_cast<uint16_t>(sign | 0x7c00);
  return static_cast<uint16_t>(sign | (static_cast<uint32_t>(exp) << 10) | (mant >> 13));
}

// Writes `value` as element `i` of a fixed-size tensor of type `t`.
void StoreElement(DataType t, std::byte* out, int64_t i, double value) {
  auto put = [&](auto v) { std::memcpy(out + i * sizeof(v), &v, sizeof(v)); };
  switch (t) {
    case DataType::kBool: put(static_cast<uint8_t>(value != 0)); break;
    case DataType::kUint8: put(static_cast<uint8_t>(value)); break;
    case DataType::kUint16: put(static_cast<uint16_t>(value)); break;
    case DataType::kUint32: put(static_cast<uint32_t>(value)); break;
    case DataType::kUint64: put(static_cast<uint64_t>(value)); break;
    case DataType::kInt8: put(static_cast<int8_t>(value)); break;
    case DataType::kInt16: put(static_cast<int16_t>(value)); break;
    case DataType::kInt32: put(static_cast<int32_t>(value)); break;
    case DataType::kInt64: put(static_cast<int64_t>(value)); break;
    case DataType::kFp16: put(FloatToHalf(static_cast<float>(value))); break;
    case DataType::kBf16: {
      const float f = static_cast<float>(value);
      uint32_t x;
      std::memcpy(&x, &f, 4);
      put(static_cast<uint16_t>(x >> 16));
      break;
    }
    case DataType::kFp32: put(static_cast<float>(value)); break;
    case DataType::kFp64: put(value); break;
    default: break;
  }
}

InferInput Generated(const InputSpec& spec, bool random, std::mt19937_64& rng) {
  const int64_t n = Product(spec.shape);
  if (spec.datatype == DataType::kBytes) {
    std::string bytes;
    for (int64_t i = 0; i < n; ++i) {
      AppendBytesElement(bytes, random ? std::to_string(rng() % 1000) : std::string("0"));
    }
    return InferInput::FromBytes(spec.name, spec.datatype, spec.shape, std::move(bytes));
  }
  std::string bytes(static_cast<size_t>(n) * DataTypeByteSize(spec.datatype), '\0');
  if (random) {
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    for (int64_t i = 0; i < n; ++i) {
      const double v = IsFloat(spec.datatype) ? unit(rng) : static_cast<double>(rng() % 100);
      StoreElement(spec.datatype, reinterpret_cast<std::byte*>(bytes.data()), i, v);
    }
  }
  return InferInput::FromBytes(spec.name, spec.datatype, spec.shape, std::move(bytes));
}

// The element count of one batch element and of the whole request.
struct Counts {
  int64_t per_element;
  int64_t whole;
};
Counts CountsOf(const InputSpec& spec, bool batched) {
  const int64_t whole = Product(spec.shape);
  const int64_t batch = batched && !spec.shape.empty() ? spec.shape[0] : 1;
  return {batch > 0 ? whole / batch : whole, whole};
}

// Repeats `one` (one batch element's bytes) to fill the batch.
std::string RepeatForBatch(const std::string& one, int64_t times) {
  std::string out;
  out.reserve(one.size() * static_cast<size_t>(times));
  for (int64_t i = 0; i < times; ++i) out += one;
  return out;
}

absl::StatusOr<std::vector<std::vector<InferInput>>> FromJsonFile(
    const std::vector<InputSpec>& specs, const std::vector<bool>& batched, const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(fmt::format("cannot read input-data file {}", path));
  std::stringstream text;
  text << in.rdbuf();
  rapidjson::Document doc;
  if (absl::Status parsed =
          codec::ParseJsonDocument(text.str(), fmt::format("input-data file {}", path), doc);
      !parsed.ok()) {
    return parsed;
  }
  if (!doc.IsObject() || !doc.HasMember("data") || !doc["data"].IsArray() ||
      doc["data"].Empty()) {
    return absl::InvalidArgumentError(fmt::format(
        "input-data file {}: expected {{\"data\": [{{\"<input>\": [values...]}}, ...]}} with at "
        "least one entry",
        path));
  }
  std::vector<std::vector<InferInput>> steps;
  const auto& data = doc["data"];
  for (rapidjson::SizeType e = 0; e < data.Size(); ++e) {
    const auto& entry = data[e];
    if (!entry.IsObject()) {
      return absl::InvalidArgumentError(
          fmt::format("input-data file {}: entry {} is not an object", path, e));
    }
    for (auto m = entry.MemberBegin(); m != entry.MemberEnd(); ++m) {
      const std::string name = m->name.GetString();
      bool known = false;
      for (const auto& s : specs) known = known || s.name == name;
      if (!known) {
        std::string names;
        for (const auto& s : specs) names += (names.empty() ? "" : ", ") + s.name;
        return absl::InvalidArgumentError(
            fmt::format("input-data file {}: entry {} names input {}, which the model does not "
                        "have (its inputs: {})",
                        path, e, QuoteClientText(name), names));
      }
    }
    std::vector<InferInput> step;
    for (size_t i = 0; i < specs.size(); ++i) {
      const InputSpec& spec = specs[i];
      const std::string where = fmt::format("input-data file {}, entry {}, input '{}'", path, e,
                                            spec.name);
      if (!entry.HasMember(spec.name.c_str())) {
        return absl::InvalidArgumentError(fmt::format("{}: missing", where));
      }
      const rapidjson::Value* values = &entry[spec.name.c_str()];
      if (values->IsObject() && values->HasMember("b64")) {
        const auto& b64 = (*values)["b64"];
        std::string raw;
        if (!b64.IsString() || !absl::Base64Unescape(b64.GetString(), &raw)) {
          return absl::InvalidArgumentError(fmt::format("{}: \"b64\" is not base64", where));
        }
        const Counts counts = CountsOf(spec, batched[i]);
        const size_t size = DataTypeByteSize(spec.datatype);
        if (size == 0 ||
            (raw.size() != counts.per_element * size && raw.size() != counts.whole * size)) {
          return absl::InvalidArgumentError(fmt::format(
              "{}: {} bytes of base64 data, the shape {} of {} needs {} bytes", where, raw.size(),
              ShapeToString(spec.shape), DataTypeName(spec.datatype),
              counts.per_element * static_cast<int64_t>(size)));
        }
        if (raw.size() != counts.whole * size) raw = RepeatForBatch(raw, counts.whole / counts.per_element);
        step.push_back(InferInput::FromBytes(spec.name, spec.datatype, spec.shape, std::move(raw)));
        continue;
      }
      if (values->IsObject() && values->HasMember("content")) values = &(*values)["content"];
      if (!values->IsArray()) {
        return absl::InvalidArgumentError(fmt::format(
            "{}: expected an array of values, {{\"content\": [...]}} or {{\"b64\": \"...\"}}",
            where));
      }
      // Flatten nested arrays.
      std::vector<const rapidjson::Value*> flat;
      std::vector<const rapidjson::Value*> todo = {values};
      while (!todo.empty()) {
        const rapidjson::Value* v = todo.back();
        todo.pop_back();
        if (v->IsArray()) {
          for (auto it = v->End(); it != v->Begin();) todo.push_back(&*--it);
        } else {
          flat.push_back(v);
        }
      }
      const Counts counts = CountsOf(spec, batched[i]);
      const int64_t n = static_cast<int64_t>(flat.size());
      if (n != counts.per_element && n != counts.whole) {
        return absl::InvalidArgumentError(fmt::format(
            "{}: {} values, but its shape {} needs {} per batch element{}", where, n,
            ShapeToString(spec.shape), counts.per_element,
            counts.whole != counts.per_element ? fmt::format(" ({} for the batch)", counts.whole)
                                               : ""));
      }
      if (spec.datatype == DataType::kBytes) {
        std::string one;
        for (int64_t k = 0; k < n; ++k) {
          if (!flat[k]->IsString()) {
            return absl::InvalidArgumentError(fmt::format(
                "{}: value {} is not a string; the input's datatype is BYTES", where, k));
          }
          AppendBytesElement(one, {flat[k]->GetString(), flat[k]->GetStringLength()});
        }
        if (n != counts.whole) one = RepeatForBatch(one, counts.whole / counts.per_element);
        step.push_back(InferInput::FromBytes(spec.name, spec.datatype, spec.shape, std::move(one)));
        continue;
      }
      std::string one(static_cast<size_t>(n) * DataTypeByteSize(spec.datatype), '\0');
      for (int64_t k = 0; k < n; ++k) {
        const rapidjson::Value& v = *flat[k];
        const bool ok = spec.datatype == DataType::kBool ? v.IsBool()
                        : IsFloat(spec.datatype)         ? v.IsNumber()
                                                         : (v.IsInt64() || v.IsUint64());
        if (!ok) {
          const char* kind = v.IsString()   ? "a string"
                             : v.IsBool()   ? "a boolean"
                             : v.IsNumber() ? "a non-integer number"
                                            : "not a number";
          return absl::InvalidArgumentError(fmt::format(
              "{}: value {} is {}, wrong for the input's datatype {}", where, k, kind,
              DataTypeName(spec.datatype)));
        }
        const double d = v.IsBool() ? (v.GetBool() ? 1 : 0) : v.GetDouble();
        StoreElement(spec.datatype, reinterpret_cast<std::byte*>(one.data()), k, d);
      }
      if (n != counts.whole) one = RepeatForBatch(one, counts.whole / counts.per_element);
      step.push_back(InferInput::FromBytes(spec.name, spec.datatype, spec.shape, std::move(one)));
    }
    steps.push_back(std::move(step));
  }
  return steps;
}

// One input's data from a .npy file, read by the server's own decoder (codec::DecodeNpy: every
// format version, byte order, Fortran order, 'S' as BYTES), then checked against the input.
absl::StatusOr<InferInput> FromNpy(const InputSpec& spec, bool batched, const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(
        fmt::format("input-data folder: no {} for input '{}'", path.string(), spec.name));
  }
  auto file = std::make_shared<const std::string>((std::istreambuf_iterator<char>(in)),
                                                  std::istreambuf_iterator<char>());
  auto array = codec::DecodeNpy(
      std::span(reinterpret_cast<const std::byte*>(file->data()), file->size()), file);
  if (!array.ok()) {
    return absl::InvalidArgumentError(
        fmt::format("{}: {}", path.string(), std::string(array.status().message())));
  }
  if (array->datatype != spec.datatype) {
    const std::string_view want = codec::NpyDescrOf(spec.datatype);
    return absl::InvalidArgumentError(fmt::format(
        "{}: holds dtype '{}' but input '{}' is {}{}", path.string(),
        codec::NpyDescrOf(array->datatype), spec.name, DataTypeName(spec.datatype),
        want.empty() ? "" : fmt::format(" (dtype '{}')", want)));
  }
  const Counts counts = CountsOf(spec, batched);
  const int64_t elements = Product(array->shape);
  if (elements != counts.per_element && elements != counts.whole) {
    return absl::InvalidArgumentError(fmt::format(
        "{}: {} elements (shape {}), but input '{}' with shape {} needs {} per batch element",
        path.string(), elements, ShapeToString(array->shape), spec.name,
        ShapeToString(spec.shape), counts.per_element));
  }
  std::string bytes(reinterpret_cast<const char*>(array->data), array->byte_size);
  if (elements != counts.whole) bytes = RepeatForBatch(bytes, counts.whole / counts.per_element);
  return InferInput::FromBytes(spec.name, spec.datatype, spec.shape, std::move(bytes));
}

}  // namespace

absl::StatusOr<std::vector<InputSpec>> ResolveInputs(
    const ModelMetadata& metadata, int64_t max_batch_size, int64_t batch_size,
    const std::map<std::string, std::vector<int64_t>>& shapes) {
  if (batch_size < 1) {
    return absl::InvalidArgumentError(fmt::format("batch size {} is not positive", batch_size));
  }
  if (max_batch_size == 0 && batch_size > 1) {
    return absl::InvalidArgumentError(fmt::format(
        "model '{}' does not batch (max_batch_size 0); -b {} needs a batching model",
        metadata.name, batch_size));
  }
  if (max_batch_size > 0 && batch_size > max_batch_size) {
    return absl::InvalidArgumentError(fmt::format("-b {} is above model '{}''s max_batch_size {}",
                                                  batch_size, metadata.name, max_batch_size));
  }
  for (const auto& [name, dims] : shapes) {
    bool found = false;
    for (const auto& in : metadata.inputs) found = found || in.name == name;
    if (!found) {
      std::string names;
      for (const auto& in : metadata.inputs) names += (names.empty() ? "" : ", ") + in.name;
      return absl::InvalidArgumentError(
          fmt::format("--shape names input {}, which model '{}' does not have (its inputs: {})",
                      QuoteClientText(name), metadata.name, names));
    }
  }
  std::vector<InputSpec> specs;
  for (const TensorMetadata& in : metadata.inputs) {
    InputSpec spec{in.name, in.datatype, {}};
    std::span<const int64_t> dims = in.shape;
    if (max_batch_size > 0 && !dims.empty()) dims = dims.subspan(1);
    auto given = shapes.find(in.name);
    if (given != shapes.end()) {
      if (given->second.size() != dims.size()) {
        return absl::InvalidArgumentError(fmt::format(
            "--shape {}:{} has {} dimensions; the input's are {} (without the batch dimension)",
            in.name, ShapeToString(given->second), given->second.size(),
            ShapeToString(Shape(dims.begin(), dims.end()))));
      }
      for (size_t d = 0; d < dims.size(); ++d) {
        if ((dims[d] != -1 && dims[d] != given->second[d]) || given->second[d] < 0) {
          return absl::InvalidArgumentError(fmt::format(
              "--shape {}:{} does not fit the input's dimensions {}", in.name,
              ShapeToString(given->second), ShapeToString(Shape(dims.begin(), dims.end()))));
        }
      }
    } else {
      for (int64_t d : dims) {
        if (d < 0) {
          return absl::InvalidArgumentError(fmt::format(
              "input '{}' has variable dimensions {}; give them with --shape {}:D1,D2,...",
              in.name, ShapeToString(Shape(dims.begin(), dims.end())), in.name));
        }
      }
    }
    if (max_batch_size > 0) spec.shape.push_back(batch_size);
    const std::vector<int64_t>& rest =
        given != shapes.end() ? given->second : std::vector<int64_t>(dims.begin(), dims.end());
    spec.shape.insert(spec.shape.end(), rest.begin(), rest.end());
    specs.push_back(std::move(spec));
  }
  return specs;
}

absl::StatusOr<std::vector<std::vector<InferInput>>> MakeInputData(
    const std::vector<InputSpec>& specs, const std::string& source, bool batched,
    uint64_t seed) {
  std::mt19937_64 rng(seed);
  if (source == "zero" || source == "random") {
    std::vector<InferInput> step;
    for (const auto& spec : specs) step.push_back(Generated(spec, source == "random", rng));
    return std::vector<std::vector<InferInput>>{std::move(step)};
  }
  const std::vector<bool> batched_inputs(specs.size(), batched);
  std::error_code ec;
  if (fs::is_directory(source, ec)) {
    std::vector<InferInput> step;
    for (const auto& spec : specs) {
      auto input = FromNpy(spec, batched, fs::path(source) / (spec.name + ".npy"));
      if (!input.ok()) return input.status();
      step.push_back(*std::move(input));
    }
    return std::vector<std::vector<InferInput>>{std::move(step)};
  }
  if (!fs::exists(source, ec)) {
    return absl::NotFoundError(fmt::format(
        "--input-data {}: neither zero, random, a JSON file nor a folder of .npy files", source));
  }
  return FromJsonFile(specs, batched_inputs, source);
}

}  // namespace inferd::perf
