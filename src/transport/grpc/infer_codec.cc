// SPDX-License-Identifier: Apache-2.0
#include "transport/grpc/infer_codec.h"

#include <charconv>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>

#include "core/client_text.h"
#include "fmt/format.h"
#include "inferd/tensor.h"

namespace inferd::grpc_transport {
namespace {

using inference::InferParameter;
using inference::InferTensorContents;

absl::Status Invalid(std::string message) { return absl::InvalidArgumentError(message); }

// The InferTensorContents field that carries values of `type`; nullptr for FP16/BF16/INVALID.
const char* ContentsFieldName(DataType type) {
  switch (type) {
    case DataType::kBool:
      return "bool_contents";
    case DataType::kUint8:
    case DataType::kUint16:
    case DataType::kUint32:
      return "uint_contents";
    case DataType::kUint64:
      return "uint64_contents";
    case DataType::kInt8:
    case DataType::kInt16:
    case DataType::kInt32:
      return "int_contents";
    case DataType::kInt64:
      return "int64_contents";
    case DataType::kFp32:
      return "fp32_contents";
    case DataType::kFp64:
      return "fp64_contents";
    case DataType::kBytes:
      return "bytes_contents";
    default:
      return nullptr;
  }
}

// (field name, value count) of every field of `contents` that holds values.
std::vector<std::pair<const char*, int>> FilledFields(const InferTensorContents& c) {
  std::vector<std::pair<const char*, int>> out;
  auto add = [&](const char* name, int n) {
    if (n > 0) out.emplace_back(name, n);
  };
  add("bool_contents", c.bool_contents_size());
  add("int_contents", c.int_contents_size());
  add("int64_contents", c.int64_contents_size());
  add("uint_contents", c.uint_contents_size());
  add("uint64_contents", c.uint64_contents_size());
  add("fp32_contents", c.fp32_contents_size());
  add("fp64_contents", c.fp64_contents_size());
  add("bytes_contents", c.bytes_contents_size());
  return out;
}

// Packs repeated values into the little-endian element layout of T, checking each fits.
template <typename T, typename Values>
absl::StatusOr<std::string> Pack(const Values& values, std::string_view input, const char* field,
                                 DataType type) {
  std::string out(static_cast<size_t>(values.size()) * sizeof(T), '\0');
  for (int i = 0; i < values.size(); ++i) {
    const auto v = values[i];
    if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool> &&
                  !std::is_same_v<std::decay_t<decltype(v)>, bool>) {
      if (!std::in_range<T>(v)) {
        return Invalid(fmt::format("input {}: value {} at contents.{}[{}] does not fit {}",
                                   QuoteClientText(input), v, field, i, DataTypeName(type)));
      }
    }
    const T t = static_cast<T>(v);
    std::memcpy(out.data() + static_cast<size_t>(i) * sizeof(T), &t, sizeof(T));
  }
  return out;
}

absl::StatusOr<std::string> PackContents(const InferTensorContents& c, DataType type,
                                         std::string_view input) {
  const char* field = ContentsFieldName(type);
  switch (type) {
    case DataType::kBool:
      return Pack<bool>(c.bool_contents(), input, field, type);
    case DataType::kUint8:
      return Pack<uint8_t>(c.uint_contents(), input, field, type);
    case DataType::kUint16:
      return Pack<uint16_t>(c.uint_contents(), input, field, type);
    case DataType::kUint32:
      return Pack<uint32_t>(c.uint_contents(), input, field, type);
    case DataType::kUint64:
      return Pack<uint64_t>(c.uint64_contents(), input, field, type);
    case DataType::kInt8:
      return Pack<int8_t>(c.int_contents(), input, field, type);
    case DataType::kInt16:
      return Pack<int16_t>(c.int_contents(), input, field, type);
    case DataType::kInt32:
      return Pack<int32_t>(c.int_contents(), input, field, type);
    case DataType::kInt64:
      return Pack<int64_t>(c.int64_contents(), input, field, type);
    case DataType::kFp32:
      return Pack<float>(c.fp32_contents(), input, field, type);
    case DataType::kFp64:
      return Pack<double>(c.fp64_contents(), input, field, type);
    case DataType::kBytes: {
      std::string out;
      for (const std::string& element : c.bytes_contents()) AppendBytesElement(out, element);
      return out;
    }
    default:
      return Invalid(
          fmt::format("input {} has datatype {}, which has no typed contents; send "
                      "it in raw_input_contents",
                      QuoteClientText(input), DataTypeName(type)));
  }
}

template <typename T, typename Field>
void Unpack(std::string_view bytes, Field* field) {
  const size_t n = bytes.size() / sizeof(T);
  field->Reserve(static_cast<int>(n));
  for (size_t i = 0; i < n; ++i) {
    T t;
    std::memcpy(&t, bytes.data() + i * sizeof(T), sizeof(T));
    field->Add(t);
  }
}

absl::Status UnpackContents(DataType type, std::string_view bytes, std::string_view output,
                            InferTensorContents& c) {
  switch (type) {
    case DataType::kBool:
      Unpack<bool>(bytes, c.mutable_bool_contents());
      return absl::OkStatus();
    case DataType::kUint8:
      Unpack<uint8_t>(bytes, c.mutable_uint_contents());
      return absl::OkStatus();
    case DataType::kUint16:
      Unpack<uint16_t>(bytes, c.mutable_uint_contents());
      return absl::OkStatus();
    case DataType::kUint32:
      Unpack<uint32_t>(bytes, c.mutable_uint_contents());
      return absl::OkStatus();
    case DataType::kUint64:
      Unpack<uint64_t>(bytes, c.mutable_uint64_contents());
      return absl::OkStatus();
    case DataType::kInt8:
      Unpack<int8_t>(bytes, c.mutable_int_contents());
      return absl::OkStatus();
    case DataType::kInt16:
      Unpack<int16_t>(bytes, c.mutable_int_contents());
      return absl::OkStatus();
    case DataType::kInt32:
      Unpack<int32_t>(bytes, c.mutable_int_contents());
      return absl::OkStatus();
    case DataType::kInt64:
      Unpack<int64_t>(bytes, c.mutable_int64_contents());
      return absl::OkStatus();
    case DataType::kFp32:
      Unpack<float>(bytes, c.mutable_fp32_contents());
      return absl::OkStatus();
    case DataType::kFp64:
      Unpack<double>(bytes, c.mutable_fp64_contents());
      return absl::OkStatus();
    case DataType::kBytes: {
      auto elements =
          ParseBytesTensor({reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()});
      if (!elements.ok()) {
        return absl::InternalError(fmt::format("output {}: {}", QuoteClientText(output),
                                               std::string(elements.status().message())));
      }
      for (std::string_view e : *elements) c.add_bytes_contents(std::string(e));
      return absl::OkStatus();
    }
    default:
      return absl::InternalError(fmt::format("output {} of datatype {} has no typed form",
                                             QuoteClientText(output), DataTypeName(type)));
  }
}

// Decodes one input: datatype, shape, parameters and (when `raw` is null) typed contents.
absl::StatusOr<InferInput> DecodeInput(const inference::ModelInferRequest::InferInputTensor& tensor,
                                       const std::string* raw, const std::string& model,
                                       bool& typed) {
  InferInput in;
  in.name = tensor.name();
  if (in.name.empty()) {
    return Invalid(fmt::format("an input of the request for model {} has an empty name",
                               QuoteClientText(model)));
  }
  const auto type = DataTypeFromName(tensor.datatype());
  if (!type) {
    return Invalid(fmt::format("input {} for model {} has an unknown datatype {}",
                               QuoteClientText(in.name), QuoteClientText(model),
                               QuoteClientText(tensor.datatype())));
  }
  in.datatype = *type;
  in.shape.assign(tensor.shape().begin(), tensor.shape().end());
  if (absl::Status s = DecodeParameters(
          tensor.parameters(), fmt::format("input {}", QuoteClientText(in.name)), in.parameters);
      !s.ok()) {
    return s;
  }
  const bool has_typed = tensor.has_contents() && tensor.contents().ByteSizeLong() > 0;
  if (raw != nullptr) {
    if (has_typed) {
      return Invalid(
          fmt::format("input {} for model {} has both raw_input_contents and typed "
                      "contents; send its data in one of them",
                      QuoteClientText(in.name), QuoteClientText(model)));
    }
    in.data = reinterpret_cast<const std::byte*>(raw->data());
    in.byte_size = raw->size();
    return in;
  }
  const std::optional<int64_t> elements = ElementCount(in.shape);
  if (!elements) {
    return Invalid(fmt::format("input {} for model {} has an invalid shape {}",
                               QuoteClientText(in.name), QuoteClientText(model),
                               ShapeToString(in.shape)));
  }
  if (!has_typed) {
    // Triton's shared-memory extension: the bytes are in the named region.
    if (*elements == 0 || in.parameters.contains("shared_memory_region")) return in;
    return Invalid(
        fmt::format("input {} for model {} has no data: set raw_input_contents or "
                    "contents",
                    QuoteClientText(in.name), QuoteClientText(model)));
  }
  typed = true;
  const char* field = ContentsFieldName(in.datatype);
  if (field == nullptr) {
    return Invalid(
        fmt::format("input {} for model {} has datatype {}, which has no typed "
                    "contents; send it in raw_input_contents",
                    QuoteClientText(in.name), QuoteClientText(model), DataTypeName(in.datatype)));
  }
  for (const auto& [name, count] : FilledFields(tensor.contents())) {
    if (std::string_view(name) != field) {
      return Invalid(
          fmt::format("input {} for model {} has datatype {}, whose values go in "
                      "contents.{}, but contents.{} is set",
                      QuoteClientText(in.name), QuoteClientText(model), DataTypeName(in.datatype),
                      field, name));
    }
    if (count != *elements) {
      return Invalid(
          fmt::format("input {} for model {} has shape {} ({} elements), but "
                      "contents.{} has {} values",
                      QuoteClientText(in.name), QuoteClientText(model), ShapeToString(in.shape),
                      *elements, field, count));
    }
  }
  auto packed = PackContents(tensor.contents(), in.datatype, in.name);
  if (!packed.ok()) return packed.status();
  auto storage = std::make_shared<std::string>(*std::move(packed));
  in.data = reinterpret_cast<const std::byte*>(storage->data());
  in.byte_size = storage->size();
  in.owner = std::move(storage);
  return in;
}

}  // namespace

absl::StatusOr<int64_t> ParseModelVersion(std::string_view version, std::string_view field) {
  if (version.empty()) return 0;
  int64_t value = 0;
  const auto [end, ec] = std::from_chars(version.data(), version.data() + version.size(), value);
  if (ec != std::errc() || end != version.data() + version.size() || value < 1) {
    return Invalid(
        fmt::format("{} {} is not a valid model version: expected a positive "
                    "integer or empty for the latest",
                    field, QuoteClientText(version)));
  }
  return value;
}

absl::Status DecodeParameters(const google::protobuf::Map<std::string, InferParameter>& from,
                              std::string_view where, Parameters& to) {
  for (const auto& [key, value] : from) {
    switch (value.parameter_choice_case()) {
      case InferParameter::kBoolParam:
        to[key] = value.bool_param();
        break;
      case InferParameter::kInt64Param:
        to[key] = value.int64_param();
        break;
      case InferParameter::kStringParam:
        to[key] = value.string_param();
        break;
      case InferParameter::kDoubleParam:
        to[key] = value.double_param();
        break;
      case InferParameter::kUint64Param:
        if (value.uint64_param() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          return Invalid(
              fmt::format("{} parameter {}: uint64_param {} is larger than the "
                          "largest supported value {}",
                          where, QuoteClientText(key), value.uint64_param(),
                          std::numeric_limits<int64_t>::max()));
        }
        to[key] = static_cast<int64_t>(value.uint64_param());
        break;
      default:
        return Invalid(fmt::format("{} parameter {} has no value", where, QuoteClientText(key)));
    }
  }
  return absl::OkStatus();
}

void EncodeParameters(const Parameters& from,
                      google::protobuf::Map<std::string, InferParameter>& to) {
  for (const auto& [key, value] : from) {
    InferParameter& p = to[key];
    std::visit(
        [&p](const auto& v) {
          using V = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<V, bool>) {
            p.set_bool_param(v);
          } else if constexpr (std::is_same_v<V, int64_t>) {
            p.set_int64_param(v);
          } else if constexpr (std::is_same_v<V, double>) {
            p.set_double_param(v);
          } else {
            p.set_string_param(v);
          }
        },
        value);
  }
}

absl::StatusOr<DecodedInferRequest> DecodeInferRequest(
    const inference::ModelInferRequest& message) {
  DecodedInferRequest decoded;
  InferRequest& request = decoded.request;
  request.model_name = message.model_name();
  if (request.model_name.empty()) {
    return Invalid("model_name is empty: name the model to run");
  }
  auto version = ParseModelVersion(message.model_version(), "model_version");
  if (!version.ok()) return version.status();
  request.model_version = *version;
  request.id = message.id();
  if (absl::Status s = DecodeParameters(message.parameters(), "request", request.parameters);
      !s.ok()) {
    return s;
  }
  const bool raw = message.raw_input_contents_size() > 0;
  if (raw && message.raw_input_contents_size() != message.inputs_size()) {
    return Invalid(
        fmt::format("expected {} raw_input_contents (one per input, in the order of "
                    "inputs) for model {}, but got {}",
                    message.inputs_size(), QuoteClientText(request.model_name),
                    message.raw_input_contents_size()));
  }
  request.inputs.reserve(static_cast<size_t>(message.inputs_size()));
  for (int i = 0; i < message.inputs_size(); ++i) {
    auto in = DecodeInput(message.inputs(i), raw ? &message.raw_input_contents(i) : nullptr,
                          request.model_name, decoded.typed_contents);
    if (!in.ok()) return in.status();
    request.inputs.push_back(*std::move(in));
  }
  request.outputs.reserve(static_cast<size_t>(message.outputs_size()));
  for (const auto& out : message.outputs()) {
    RequestedOutput requested;
    requested.name = out.name();
    if (absl::Status s = DecodeParameters(out.parameters(),
                                          fmt::format("output {}", QuoteClientText(out.name())),
                                          requested.parameters);
        !s.ok()) {
      return s;
    }
    request.outputs.push_back(std::move(requested));
  }
  return decoded;
}

absl::StatusOr<OutputBuffer> ResponseOutputAllocator::Allocate(std::string_view /*output_name*/,
                                                               DataType /*datatype*/,
                                                               std::span<const int64_t> /*shape*/,
                                                               size_t byte_size) {
  std::string* slot = message_->add_raw_output_contents();
  slot->resize(byte_size);
  return OutputBuffer{reinterpret_cast<std::byte*>(slot->data()), nullptr};
}

absl::Status EncodeInferResponse(InferResponse response, bool typed_contents,
                                 inference::ModelInferResponse& message) {
  message.set_model_name(std::move(response.model_name));
  message.set_model_version(std::to_string(response.model_version));
  message.set_id(std::move(response.id));
  EncodeParameters(response.parameters, *message.mutable_parameters());

  // Which raw_output_contents entry each output was written into, matched by address before
  // anything moves (a short string keeps its bytes inline, so its address changes on a swap).
  std::vector<int> slot_of(response.outputs.size(), -1);
  for (size_t j = 0; j < response.outputs.size(); ++j) {
    for (int i = 0; i < message.raw_output_contents_size(); ++i) {
      if (response.outputs[j].byte_size > 0 &&
          reinterpret_cast<const std::byte*>(message.raw_output_contents(i).data()) ==
              response.outputs[j].data) {
        slot_of[j] = i;
        break;
      }
    }
  }
  // Take the buffers out, then put them back in output order. Swaps move the strings' heap
  // buffers; the tensor bytes are not copied.
  std::vector<std::string> placed(static_cast<size_t>(message.raw_output_contents_size()));
  for (size_t i = 0; i < placed.size(); ++i) {
    placed[i].swap(*message.mutable_raw_output_contents(static_cast<int>(i)));
  }
  message.clear_raw_output_contents();
  if (typed_contents) {
    for (const InferOutput& out : response.outputs) {
      if (ContentsFieldName(out.datatype) == nullptr) typed_contents = false;
    }
  }
  for (size_t j = 0; j < response.outputs.size(); ++j) {
    const InferOutput& out = response.outputs[j];
    auto* tensor = message.add_outputs();
    tensor->set_name(out.name);
    tensor->set_datatype(std::string(DataTypeName(out.datatype)));
    for (int64_t d : out.shape) tensor->add_shape(d);
    EncodeParameters(out.parameters, *tensor->mutable_parameters());
    std::string bytes;
    if (slot_of[j] >= 0) {
      bytes.swap(placed[static_cast<size_t>(slot_of[j])]);
      bytes.resize(out.byte_size);
    } else if (out.byte_size > 0) {
      bytes.assign(reinterpret_cast<const char*>(out.data), out.byte_size);
    }
    if (typed_contents) {
      if (absl::Status s =
              UnpackContents(out.datatype, bytes, out.name, *tensor->mutable_contents());
          !s.ok()) {
        return s;
      }
    } else {
      message.add_raw_output_contents()->swap(bytes);
    }
  }
  return absl::OkStatus();
}

}  // namespace inferd::grpc_transport
