// SPDX-License-Identifier: Apache-2.0
// What the onnx backend needs to know about an ONNX model before OpenCV sees it: its inputs and
// outputs (names, element types, shapes), and the one rewrite OpenCV 4.6 needs for torch
// exports. No OpenCV here: this part is tested on its own.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "inferd/datatype.h"

namespace inferd::onnx {

// A graph input or output. `dims` has -1 for a symbolic or unknown dimension; `has_shape` is
// false when the model declares no shape at all.
struct OnnxValueInfo {
  std::string name;
  int32_t elem_type = 0;  // onnx.TensorProto.DataType: 1 FLOAT, 6 INT32, 7 INT64, ...
  bool has_shape = false;
  std::vector<int64_t> dims;
};

struct OnnxModelInfo {
  std::vector<OnnxValueInfo> inputs;  // graph inputs that are not initializers
  std::vector<OnnxValueInfo> outputs;
  int64_t ir_version = 0;
  int64_t opset = 0;                // of the default domain
  int identity_on_initializer = 0;  // Identity nodes whose input is an initializer
  std::string producer;
};

// Reads a serialized ModelProto. INVALID_ARGUMENT when the bytes are not a protobuf message or
// the message has no graph with nodes and outputs (what random bytes that happen to parse give).
absl::StatusOr<OnnxModelInfo> ReadOnnxModelInfo(std::string_view model_bytes);

// Rewrites every `Identity` node whose input is an initializer into an initializer named after
// the node's output, holding a copy of the input's tensor, and drops the node. The graph computes
// the same values. torch 1.13's exporter emits this pattern when it deduplicates equal constants
// (every BatchNorm of a randomly initialised ResNet50: 47 nodes), and OpenCV 4.6 fails on it
// ("Node [Identity@ai.onnx] parse error ... inputs.size()"). Returns how many nodes were
// rewritten; `model_bytes` is left unchanged when none was.
absl::StatusOr<int> RewriteIdentityOnInitializer(std::string& model_bytes);

// The inferd datatype of an ONNX element type, or nullopt for types inferd has no name for.
std::optional<DataType> DataTypeFromOnnx(int32_t elem_type);
// "FLOAT", "INT64", ... ("type 42" for unknown values).
std::string OnnxElemTypeName(int32_t elem_type);

}  // namespace inferd::onnx
