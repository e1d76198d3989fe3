// SPDX-License-Identifier: Apache-2.0
#include "repository/config_autocomplete.h"

#include <string>
#include <string_view>

namespace inferd {
namespace {

// Triton's names (core: src/constants.h).
constexpr std::string_view kOnnxRuntimeBackend = "onnxruntime";
constexpr std::string_view kOnnxRuntimePlatform = "onnxruntime_onnx";
constexpr std::string_view kOnnxFilename = "model.onnx";
constexpr std::string_view kPyTorchBackend = "pytorch";
constexpr std::string_view kPyTorchPlatform = "pytorch_libtorch";
constexpr std::string_view kPyTorchFilename = "model.pt";
constexpr int kDefaultCpuInstanceCount = 2;  // For the backends that opt in (onnxruntime).
constexpr uint64_t kSequenceIdleDefaultMicroseconds = 1000 * 1000;

bool IsOnnxRuntime(const inference::ModelConfig& c) {
  return c.backend() == kOnnxRuntimeBackend || c.backend() == "onnx" ||
         (c.backend().empty() &&
          (c.platform() == kOnnxRuntimePlatform || c.platform() == "onnx_onnxv1"));
}

bool IsPyTorch(const inference::ModelConfig& c) {
  return c.backend() == kPyTorchBackend || c.backend() == "torchscript" ||
         (c.backend().empty() && c.platform() == kPyTorchPlatform);
}

void CompleteBackendFields(inference::ModelConfig& config) {
  if (IsOnnxRuntime(config)) {
    if (config.backend().empty()) config.set_backend(std::string(kOnnxRuntimeBackend));
    if (config.platform().empty()) config.set_platform(std::string(kOnnxRuntimePlatform));
    if (config.default_model_filename().empty()) {
      config.set_default_model_filename(std::string(kOnnxFilename));
    }
  } else if (IsPyTorch(config)) {
    if (config.backend().empty()) config.set_backend(std::string(kPyTorchBackend));
    if (config.platform().empty()) config.set_platform(std::string(kPyTorchPlatform));
    if (config.default_model_filename().empty()) {
      config.set_default_model_filename(std::string(kPyTorchFilename));
    }
  }
}

void CompleteInstanceGroups(inference::ModelConfig& config) {
  using Group = inference::ModelInstanceGroup;
  if (config.instance_group().empty()) {
    Group* group = config.add_instance_group();
    group->set_name(config.name());
    group->set_kind(Group::KIND_AUTO);
  }
  const bool onnxruntime = IsOnnxRuntime(config);
  int index = 0;
  for (Group& group : *config.mutable_instance_group()) {
    if (group.name().empty()) group.set_name(config.name() + "_" + std::to_string(index));
    ++index;
    if (group.kind() == Group::KIND_AUTO) group.set_kind(Group::KIND_CPU);
    if (group.count() < 1) {
      group.set_count(group.kind() == Group::KIND_CPU && onnxruntime ? kDefaultCpuInstanceCount
                                                                     : 1);
    }
  }
}

}  // namespace

void CompleteModelConfig(inference::ModelConfig& config) {
  CompleteBackendFields(config);
  if (!config.has_version_policy()) {
    config.mutable_version_policy()->mutable_latest()->set_num_versions(1);
  }
  if (config.has_dynamic_batching() && config.dynamic_batching().preferred_batch_size().empty() &&
      config.max_batch_size() > 0) {
    config.mutable_dynamic_batching()->add_preferred_batch_size(config.max_batch_size());
  }
  if (config.has_sequence_batching() &&
      config.sequence_batching().max_sequence_idle_microseconds() == 0) {
    config.mutable_sequence_batching()->set_max_sequence_idle_microseconds(
        kSequenceIdleDefaultMicroseconds);
  }
  if (!config.has_ensemble_scheduling()) {
    inference::ModelOptimizationPolicy* optimization = config.mutable_optimization();
    if (!optimization->has_input_pinned_memory()) {
      optimization->mutable_input_pinned_memory()->set_enable(true);
    }
    if (!optimization->has_output_pinned_memory()) {
      optimization->mutable_output_pinned_memory()->set_enable(true);
    }
    CompleteInstanceGroups(config);
  }
}

}  // namespace inferd
