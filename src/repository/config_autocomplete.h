// SPDX-License-Identifier: Apache-2.0
// The model configuration as Triton serves it: the defaults Triton fills into a config.pbtxt
// before it loads a model (and shows on the model-configuration endpoints), where they do not
// depend on reading the model file. inferd applies them at load, so the config a model runs with
// is the one GET v2/models/<m>/config and ModelConfig return, and tools that read it (Model
// Analyzer, KServe, dashboards) find the fields they expect.
//
// Followed: core: src/model_config_utils.cc (AutoCompleteBackendFields, NormalizeModelConfig,
// NormalizeInstanceGroup, SetDefaultInstanceCount) and src/constants.h.
#pragma once

#include "model_config.pb.h"

namespace inferd {

// Fills, where the config leaves them unset:
// - `platform` from `backend` and `backend` from `platform`: onnxruntime <-> onnxruntime_onnx,
//   pytorch <-> pytorch_libtorch (inferd's aliases onnx and torchscript get the same platforms;
//   the OIP name onnx_onnxv1 gets backend onnxruntime). Other backends (builtin) have no Triton
//   platform and keep an empty one, as Triton's custom backends do.
// - `default_model_filename`: model.onnx / model.pt for those backends.
// - `version_policy`: latest { num_versions: 1 }.
// - `instance_group`: one group named after the model when there is none; every group without a
//   name is named "<model>_<index>"; KIND_AUTO becomes KIND_CPU (inferd has no GPU support); a
//   count below 1 becomes Triton's default: 2 for a KIND_CPU group of the onnxruntime backend
//   (Triton: onnxruntime and tensorflow), otherwise 1.
// - `optimization.input_pinned_memory` and `output_pinned_memory`: { enable: true }.
// - `dynamic_batching.preferred_batch_size`: [max_batch_size] when empty and the model batches.
// - `sequence_batching.max_sequence_idle_microseconds`: 1000000 when 0.
// `name` is already filled by ParseModelConfig. Inputs and outputs are left as they are: filling
// them from the model file is a backend's auto-complete. Idempotent.
void CompleteModelConfig(inference::ModelConfig& config);

}  // namespace inferd
