// SPDX-License-Identifier: Apache-2.0
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "backends/builtin/builtin_models.h"
#include "fmt/format.h"
#include "inferd/datatype.h"
#include "inferd/tensor.h"

namespace inferd::builtin {
namespace {

struct AddSubConfig {
  std::string model_name;
  DataType datatype = DataType::kInvalid;
  size_t input0 = 0;  // positions in the config (and batch) input list
  size_t input1 = 1;
  std::string output0;  // sum
  std::string output1;  // difference
};

// The position of the tensor called `name`, else `fallback`.
size_t PositionOf(const std::vector<TensorSpec>& tensors, std::string_view name, size_t fallback) {
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].name == name) return i;
  }
  return fallback;
}

// Elementwise sum and difference. Buffers may be unaligned (a tensor inside an HTTP body or a
// shared-memory region), so elements move through memcpy. INT32 wraps like two's complement.
template <typename T>
void AddSub(const std::byte* a, const std::byte* b, std::byte* sum, std::byte* diff, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    T x;
    T y;
    std::memcpy(&x, a + i * sizeof(T), sizeof(T));
    std::memcpy(&y, b + i * sizeof(T), sizeof(T));
    T s;
    T d;
    if constexpr (std::is_integral_v<T>) {
      using U = std::make_unsigned_t<T>;
      s = static_cast<T>(static_cast<U>(x) + static_cast<U>(y));
      d = static_cast<T>(static_cast<U>(x) - static_cast<U>(y));
    } else {
      s = x + y;
      d = x - y;
    }
    if (sum != nullptr) std::memcpy(sum + i * sizeof(T), &s, sizeof(T));
    if (diff != nullptr) std::memcpy(diff + i * sizeof(T), &d, sizeof(T));
  }
}

class AddSubInstance final : public ModelInstance {
 public:
  explicit AddSubInstance(std::shared_ptr<const AddSubConfig> config)
      : config_(std::move(config)) {}

  absl::Status Execute(ExecutionBatch& batch) override {
    const AddSubConfig& c = *config_;
    const auto inputs = batch.inputs();
    if (inputs.size() != 2) {
      return absl::InvalidArgumentError(fmt::format("model '{}' expects 2 inputs, the batch has {}",
                                                    c.model_name, inputs.size()));
    }
    const TensorView& a = inputs[c.input0];
    const TensorView& b = inputs[c.input1];
    if (!std::equal(a.shape.begin(), a.shape.end(), b.shape.begin(), b.shape.end())) {
      return absl::InvalidArgumentError(fmt::format(
          "model '{}': inputs '{}' and '{}' must have the same shape, got {} and {}", c.model_name,
          a.name, b.name, ShapeToString(a.shape), ShapeToString(b.shape)));
    }
    absl::StatusOr<size_t> byte_size = FixedTensorByteSize(c.datatype, a.shape);
    if (!byte_size.ok()) return byte_size.status();
    for (const TensorView* in : {&a, &b}) {
      if (in->datatype != c.datatype || in->byte_size != *byte_size) {
        return absl::InvalidArgumentError(fmt::format(
            "model '{}': input '{}' must be {} with {} bytes for shape {}, got {} with {} bytes",
            c.model_name, in->name, DataTypeName(c.datatype), *byte_size, ShapeToString(in->shape),
            DataTypeName(in->datatype), in->byte_size));
      }
    }

    std::byte* sum = nullptr;
    std::byte* diff = nullptr;
    if (batch.OutputRequested(c.output0)) {
      absl::StatusOr<std::byte*> out =
          batch.AllocateOutput(c.output0, c.datatype, a.shape, *byte_size);
      if (!out.ok()) return out.status();
      sum = *out;
    }
    if (batch.OutputRequested(c.output1)) {
      absl::StatusOr<std::byte*> out =
          batch.AllocateOutput(c.output1, c.datatype, a.shape, *byte_size);
      if (!out.ok()) return out.status();
      diff = *out;
    }
    const size_t count = *byte_size / DataTypeByteSize(c.datatype);
    if (c.datatype == DataType::kInt32) {
      AddSub<int32_t>(a.data, b.data, sum, diff, count);
    } else {
      AddSub<float>(a.data, b.data, sum, diff, count);
    }
    return absl::OkStatus();
  }

 private:
  std::shared_ptr<const AddSubConfig> config_;
};

class AddSubModel final : public BackendModel {
 public:
  explicit AddSubModel(std::shared_ptr<const AddSubConfig> config) : config_(std::move(config)) {}

  absl::StatusOr<std::unique_ptr<ModelInstance>> CreateInstance(int /*index*/) override {
    return std::make_unique<AddSubInstance>(config_);
  }

 private:
  std::shared_ptr<const AddSubConfig> config_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<BackendModel>> LoadAddSubModel(const ModelSpec& spec) {
  if (spec.inputs.size() != 2 || spec.outputs.size() != 2) {
    return absl::InvalidArgumentError(
        fmt::format("model '{}': the builtin add_sub model needs exactly 2 inputs and 2 outputs, "
                    "the config has {} inputs and {} outputs",
                    spec.name, spec.inputs.size(), spec.outputs.size()));
  }
  const DataType type = spec.inputs[0].datatype;
  for (const auto* list : {&spec.inputs, &spec.outputs}) {
    for (const TensorSpec& t : *list) {
      if (t.datatype != type) {
        return absl::InvalidArgumentError(fmt::format(
            "model '{}': the builtin add_sub model needs one datatype for all inputs and outputs, "
            "but '{}' is {} and '{}' is {}",
            spec.name, spec.inputs[0].name, DataTypeName(type), t.name, DataTypeName(t.datatype)));
      }
    }
  }
  if (type != DataType::kInt32 && type != DataType::kFp32) {
    return absl::InvalidArgumentError(fmt::format(
        "model '{}': the builtin add_sub model supports INT32 and FP32, not datatype {}", spec.name,
        DataTypeName(type)));
  }
  auto config = std::make_shared<AddSubConfig>();
  config->model_name = spec.name;
  config->datatype = type;
  config->input0 = PositionOf(spec.inputs, "INPUT0", 0);
  config->input1 = PositionOf(spec.inputs, "INPUT1", 1);
  if (config->input0 == config->input1) config->input1 = 1 - config->input0;
  const size_t output0 = PositionOf(spec.outputs, "OUTPUT0", 0);
  size_t output1 = PositionOf(spec.outputs, "OUTPUT1", 1);
  if (output0 == output1) output1 = 1 - output0;
  config->output0 = spec.outputs[output0].name;
  config->output1 = spec.outputs[output1].name;
  return std::make_unique<AddSubModel>(std::move(config));
}

}  // namespace inferd::builtin
