// SPDX-License-Identifier: Apache-2.0
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "backends/builtin/builtin_models.h"
#include "fmt/format.h"
#include "inferd/datatype.h"

namespace inferd::builtin {

absl::Status CheckInputsPairWithOutputs(const ModelSpec& spec, std::string_view model_kind) {
  if (spec.inputs.empty() || spec.inputs.size() != spec.outputs.size()) {
    return absl::InvalidArgumentError(fmt::format(
        "model '{}': the builtin {} model returns input i as output i, so it needs as many outputs "
        "as inputs (at least one); the config has {} inputs and {} outputs",
        spec.name, model_kind, spec.inputs.size(), spec.outputs.size()));
  }
  for (size_t i = 0; i < spec.inputs.size(); ++i) {
    const TensorSpec& in = spec.inputs[i];
    const TensorSpec& out = spec.outputs[i];
    if (in.datatype != out.datatype) {
      return absl::InvalidArgumentError(
          fmt::format("model '{}': the builtin {} model returns input '{}' ({}) as output '{}', "
                      "which the config declares {}",
                      spec.name, model_kind, in.name, DataTypeName(in.datatype), out.name,
                      DataTypeName(out.datatype)));
    }
  }
  return absl::OkStatus();
}

absl::Status CopyInputsToOutputs(ExecutionBatch& batch,
                                 const std::vector<std::string>& output_names) {
  const auto inputs = batch.inputs();
  if (inputs.size() != output_names.size()) {
    return absl::InvalidArgumentError(fmt::format("the batch has {} inputs, the model expects {}",
                                                  inputs.size(), output_names.size()));
  }
  for (size_t i = 0; i < inputs.size(); ++i) {
    const TensorView& in = inputs[i];
    const std::string& name = output_names[i];
    if (!batch.OutputRequested(name)) continue;
    absl::StatusOr<std::byte*> out =
        batch.AllocateOutput(name, in.datatype, in.shape, in.byte_size);
    if (!out.ok()) return out.status();
    if (in.byte_size > 0) std::memcpy(*out, in.data, in.byte_size);
  }
  return absl::OkStatus();
}

namespace {

class IdentityInstance final : public ModelInstance {
 public:
  explicit IdentityInstance(std::shared_ptr<const std::vector<std::string>> output_names)
      : output_names_(std::move(output_names)) {}

  absl::Status Execute(ExecutionBatch& batch) override {
    return CopyInputsToOutputs(batch, *output_names_);
  }

 private:
  std::shared_ptr<const std::vector<std::string>> output_names_;
};

class IdentityModel final : public BackendModel {
 public:
  explicit IdentityModel(std::shared_ptr<const std::vector<std::string>> output_names)
      : output_names_(std::move(output_names)) {}

  absl::StatusOr<std::unique_ptr<ModelInstance>> CreateInstance(int /*index*/) override {
    return std::make_unique<IdentityInstance>(output_names_);
  }

 private:
  std::shared_ptr<const std::vector<std::string>> output_names_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<BackendModel>> LoadIdentityModel(const ModelSpec& spec) {
  if (absl::Status s = CheckInputsPairWithOutputs(spec, "identity"); !s.ok()) return s;
  auto names = std::make_shared<std::vector<std::string>>();
  for (const TensorSpec& out : spec.outputs) names->push_back(out.name);
  return std::make_unique<IdentityModel>(std::move(names));
}

}  // namespace inferd::builtin
