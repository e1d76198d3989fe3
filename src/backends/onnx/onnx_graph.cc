// SPDX-License-Identifier: Apache-2.0
#include "backends/onnx/onnx_graph.h"

#include <map>
#include <set>
#include <string>
#include <utility>

#include "fmt/format.h"
#include "onnx_graph.pb.h"

namespace inferd::onnx {
namespace {

namespace pb = ::inferd::onnx_graph;

absl::StatusOr<pb::ModelProto> Parse(std::string_view bytes) {
  pb::ModelProto model;
  if (bytes.size() > static_cast<size_t>(INT32_MAX) ||
      !model.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return absl::InvalidArgumentError("not a serialized ONNX ModelProto (protobuf parse failed)");
  }
  if (!model.has_graph() || model.graph().node_size() == 0 || model.graph().output_size() == 0) {
    return absl::InvalidArgumentError("not an ONNX model: it has no graph with nodes and outputs");
  }
  return model;
}

OnnxValueInfo ToValueInfo(const pb::ValueInfoProto& value) {
  OnnxValueInfo info;
  info.name = value.name();
  if (value.type().has_tensor_type()) {
    const auto& tensor = value.type().tensor_type();
    info.elem_type = tensor.elem_type();
    info.has_shape = tensor.has_shape();
    for (const auto& dim : tensor.shape().dim()) {
      info.dims.push_back(dim.has_dim_value() ? dim.dim_value() : -1);
    }
  }
  return info;
}

}  // namespace

absl::StatusOr<OnnxModelInfo> ReadOnnxModelInfo(std::string_view model_bytes) {
  absl::StatusOr<pb::ModelProto> model = Parse(model_bytes);
  if (!model.ok()) return model.status();
  const pb::GraphProto& graph = model->graph();
  std::set<std::string, std::less<>> initializers;
  for (const auto& init : graph.initializer()) initializers.insert(init.name());

  OnnxModelInfo info;
  info.ir_version = model->ir_version();
  info.producer = model->producer_name();
  for (const auto& opset : model->opset_import()) {
    if (opset.domain().empty() || opset.domain() == "ai.onnx") info.opset = opset.version();
  }
  for (const auto& input : graph.input()) {
    // Before IR version 4 initializers were listed as inputs too; they are not fed by requests.
    if (!initializers.contains(input.name())) info.inputs.push_back(ToValueInfo(input));
  }
  for (const auto& output : graph.output()) info.outputs.push_back(ToValueInfo(output));
  for (const auto& node : graph.node()) {
    if (node.op_type() == "Identity" && node.input_size() == 1 &&
        initializers.contains(node.input(0))) {
      ++info.identity_on_initializer;
    }
  }
  return info;
}

absl::StatusOr<int> RewriteIdentityOnInitializer(std::string& model_bytes) {
  absl::StatusOr<pb::ModelProto> model = Parse(model_bytes);
  if (!model.ok()) return model.status();
  pb::GraphProto& graph = *model->mutable_graph();
  std::map<std::string, int, std::less<>> initializer_index;
  for (int i = 0; i < graph.initializer_size(); ++i)
    initializer_index[graph.initializer(i).name()] = i;

  int rewritten = 0;
  google::protobuf::RepeatedPtrField<pb::NodeProto> kept;
  for (pb::NodeProto& node : *graph.mutable_node()) {
    auto source = node.op_type() == "Identity" && node.input_size() == 1 && node.output_size() == 1
                      ? initializer_index.find(node.input(0))
                      : initializer_index.end();
    if (source == initializer_index.end()) {
      kept.Add(std::move(node));
      continue;
    }
    // A copy of the whole tensor (dims, type, data: the fields this file does not declare travel
    // as unknown fields), renamed to the value the Identity produced.
    pb::TensorProto copy = graph.initializer(source->second);
    copy.set_name(node.output(0));
    *graph.add_initializer() = std::move(copy);
    ++rewritten;
  }
  if (rewritten == 0) return 0;
  graph.mutable_node()->Swap(&kept);
  std::string out;
  if (!model->SerializeToString(&out)) {
    return absl::InternalError("serializing the rewritten ONNX model failed");
  }
  model_bytes = std::move(out);
  return rewritten;
}

std::optional<DataType> DataTypeFromOnnx(int32_t elem_type) {
  switch (elem_type) {
    case 1:
      return DataType::kFp32;
    case 2:
      return DataType::kUint8;
    case 3:
      return DataType::kInt8;
    case 4:
      return DataType::kUint16;
    case 5:
      return DataType::kInt16;
    case 6:
      return DataType::kInt32;
    case 7:
      return DataType::kInt64;
    case 8:
      return DataType::kBytes;
    case 9:
      return DataType::kBool;
    case 10:
      return DataType::kFp16;
    case 11:
      return DataType::kFp64;
    case 12:
      return DataType::kUint32;
    case 13:
      return DataType::kUint64;
    case 16:
      return DataType::kBf16;
    default:
      return std::nullopt;
  }
}

std::string OnnxElemTypeName(int32_t elem_type) {
  static constexpr const char* kNames[] = {"UNDEFINED",  "FLOAT",   "UINT8",  "INT8",   "UINT16",
                                           "INT16",      "INT32",   "INT64",  "STRING", "BOOL",
                                           "FLOAT16",    "DOUBLE",  "UINT32", "UINT64", "COMPLEX64",
                                           "COMPLEX128", "BFLOAT16"};
  if (elem_type >= 0 && elem_type < static_cast<int32_t>(std::size(kNames))) {
    return kNames[elem_type];
  }
  return fmt::format("type {}", elem_type);
}

}  // namespace inferd::onnx
