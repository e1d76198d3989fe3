// SPDX-License-Identifier: Apache-2.0
#include "repository/onnx_autocomplete.h"

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "backends/onnx/onnx_graph.h"
#include "inferd/datatype.h"

namespace inferd {
namespace {

constexpr int kDefaultMaxBatchSize = 4;  // Triton's --backend-config default-max-batch-size

template <typename Tensor>
absl::Status Fill(const std::string& prefix, const std::string& kind,
                  const std::vector<onnx::OnnxValueInfo>& graph, bool batched,
                  google::protobuf::RepeatedPtrField<Tensor>* out) {
  for (const onnx::OnnxValueInfo& info : graph) {
    std::optional<DataType> type = onnx::DataTypeFromOnnx(info.elem_type);
    if (!type) {
      return absl::InvalidArgumentError(absl::StrCat(
          prefix, "cannot complete the config from the model: ", kind, " '", info.name,
          "' has element type ", onnx::OnnxElemTypeName(info.elem_type),
          ", which has no KServe datatype"));
    }
    if (!info.has_shape) {
      return absl::InvalidArgumentError(absl::StrCat(
          prefix, "cannot complete the config from the model: ", kind, " '", info.name,
          "' has no shape; give the ", kind, "s in config.pbtxt"));
    }
    Tensor* tensor = out->Add();
    tensor->set_name(info.name);
    tensor->set_data_type(static_cast<inference::DataType>(static_cast<int>(*type)));
    for (size_t d = batched ? 1 : 0; d < info.dims.size(); ++d) {
      tensor->add_dims(info.dims[d] < 0 ? -1 : info.dims[d]);
    }
    if (tensor->dims().empty()) {  // a scalar: Triton's form is dims [1] and an empty reshape
      tensor->add_dims(1);
      tensor->mutable_reshape();
    }
  }
  return absl::OkStatus();
}

bool FirstDimVariable(const std::vector<onnx::OnnxValueInfo>& tensors) {
  for (const onnx::OnnxValueInfo& t : tensors) {
    if (!t.has_shape || t.dims.empty() || t.dims[0] >= 0) return false;
  }
  return true;
}

}  // namespace

bool IsOnnxRuntimeConfig(const inference::ModelConfig& c) {
  return c.backend() == "onnxruntime" || c.backend() == "onnx" ||
         (c.backend().empty() &&
          (c.platform() == "onnxruntime_onnx" || c.platform() == "onnx_onnxv1"));
}

absl::Status CompleteOnnxTensors(inference::ModelConfig& config, const std::string& model_path) {
  if (!IsOnnxRuntimeConfig(config) || (!config.input().empty() && !config.output().empty())) {
    return absl::OkStatus();
  }
  const std::string prefix = absl::StrCat("model '", config.name(), "': ");
  std::ifstream file(model_path, std::ios::binary);
  if (!file) {
    return absl::InvalidArgumentError(absl::StrCat(
        prefix, "the config gives no ", config.input().empty() ? "inputs" : "outputs",
        " and there is no model file '", model_path, "' to complete them from"));
  }
  std::ostringstream bytes;
  bytes << file.rdbuf();
  absl::StatusOr<onnx::OnnxModelInfo> info = onnx::ReadOnnxModelInfo(bytes.str());
  if (!info.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(prefix, "'", model_path,
                                                   "' is not a valid ONNX model: ",
                                                   info.status().message()));
  }
  bool batched = config.max_batch_size() > 0;
  if (config.max_batch_size() == 0 && config.input().empty() && config.output().empty() &&
      FirstDimVariable(info->inputs) && FirstDimVariable(info->outputs)) {
    config.set_max_batch_size(kDefaultMaxBatchSize);
    if (!config.has_dynamic_batching() && !config.has_sequence_batching()) {
      config.mutable_dynamic_batching();
    }
    batched = true;
  }
  if (config.input().empty()) {
    if (auto s = Fill(prefix, "input", info->inputs, batched, config.mutable_input()); !s.ok()) {
      return s;
    }
  }
  if (config.output().empty()) {
    if (auto s = Fill(prefix, "output", info->outputs, batched, config.mutable_output());
        !s.ok()) {
      return s;
    }
  }
  return absl::OkStatus();
}

}  // namespace inferd
