// SPDX-License-Identifier: Apache-2.0
// Triton's auto-complete of the onnxruntime backend: a config.pbtxt that gives no inputs or no
// outputs (or no config.pbtxt at all) gets them from the model file, so the config a model runs
// with, and the one the configuration endpoints serve, is complete. It reads the ONNX graph
// (src/backends/onnx/onnx_graph.h, protobuf only): no runtime is loaded.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "model_config.pb.h"

namespace inferd {

// Whether the config is served by ONNX Runtime (backend onnxruntime/onnx, or an ONNX platform
// without a backend).
bool IsOnnxRuntimeConfig(const inference::ModelConfig& config);

// For an ONNX Runtime config whose `input` or `output` list is empty, fills that list from the
// model file `model_path` (the latest version's): each graph input (initializers excluded) or
// output by name, with its datatype and dims, a variable or symbolic dimension as -1, a scalar as
// dims [1] with reshape []. When max_batch_size is 0 and every graph input and output has a
// variable first dimension, that dimension is taken as the batch: max_batch_size becomes 4 and
// the config gets `dynamic_batching {}`, as Triton does (its default-max-batch-size). Lists the
// config gives are left alone (the backend checks them against the model at load). Errors are
// INVALID_ARGUMENT naming the model, the file and the tensor (a type with no KServe datatype, a
// tensor without a shape). A config that needs nothing is not touched and the file not read.
absl::Status CompleteOnnxTensors(inference::ModelConfig& config, const std::string& model_path);

}  // namespace inferd
