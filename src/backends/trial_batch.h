// SPDX-License-Identifier: Apache-2.0
// A batch of zero-filled inputs with the config's datatypes and shapes (batch size 1), whose
// outputs land in vectors. The ML backends run one at load time, so a config that does not match
// its model (a wrong datatype or shape, an output the model does not produce) fails the load with
// a clear error instead of failing every request later.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "fmt/format.h"
#include "inferd/backend.h"
#include "inferd/tensor.h"

namespace inferd {

class TrialBatch final : public ExecutionBatch {
 public:
  // nullopt when an input has a variable dimension or a datatype without a fixed size: no
  // concrete trial input exists then.
  static std::optional<TrialBatch> Create(const ModelSpec& spec) {
    TrialBatch batch;
    batch.shapes_.reserve(spec.inputs.size());
    for (const TensorSpec& input : spec.inputs) {
      Shape shape = input.reshape.value_or(input.dims);
      if (spec.max_batch_size > 0) shape.insert(shape.begin(), 1);
      absl::StatusOr<size_t> bytes = FixedTensorByteSize(input.datatype, shape);
      if (!bytes.ok()) return std::nullopt;
      batch.shapes_.push_back(std::move(shape));
      batch.buffers_.emplace_back(*bytes);
    }
    for (size_t i = 0; i < spec.inputs.size(); ++i) {
      batch.views_.push_back(TensorView{spec.inputs[i].name, spec.inputs[i].datatype,
                                        batch.shapes_[i], batch.buffers_[i].data(),
                                        batch.buffers_[i].size()});
    }
    for (const TensorSpec& output : spec.outputs) batch.outputs_[output.name];
    return batch;
  }

  // "INPUT__0 FP32 [1,3,32,32], ...": what the trial fed, for error messages.
  std::string Describe() const {
    std::string text;
    for (const TensorView& view : views_) {
      if (!text.empty()) text += ", ";
      text += fmt::format("{} {} {}", view.name, DataTypeName(view.datatype),
                          ShapeToString(view.shape));
    }
    return text;
  }

  // Fills FP32 and FP64 inputs with a fixed pseudo-random sequence in [0, 1) (other types stay
  // zero): a trial input on which two versions of a model can be compared.
  void FillPseudoRandom() {
    uint32_t state = 12345;
    auto next = [&state] {
      state = state * 1664525u + 1013904223u;
      return static_cast<double>(state >> 8) / static_cast<double>(1u << 24);
    };
    for (size_t i = 0; i < views_.size(); ++i) {
      std::vector<std::byte>& buffer = buffers_[i];
      if (views_[i].datatype == DataType::kFp32) {
        for (size_t k = 0; k + sizeof(float) <= buffer.size(); k += sizeof(float)) {
          const float v = static_cast<float>(next());
          std::memcpy(buffer.data() + k, &v, sizeof v);
        }
      } else if (views_[i].datatype == DataType::kFp64) {
        for (size_t k = 0; k + sizeof(double) <= buffer.size(); k += sizeof(double)) {
          const double v = next();
          std::memcpy(buffer.data() + k, &v, sizeof v);
        }
      }
    }
  }

  // The bytes the last run wrote for an output (empty if none).
  const std::vector<std::byte>& Output(std::string_view name) const {
    static const std::vector<std::byte> kNone;
    auto it = outputs_.find(name);
    return it == outputs_.end() ? kNone : it->second;
  }

  int batch_size() const override { return 1; }
  std::span<const TensorView> inputs() const override { return views_; }
  bool OutputRequested(std::string_view name) const override {
    return outputs_.find(name) != outputs_.end();
  }
  absl::StatusOr<std::byte*> AllocateOutput(std::string_view name, DataType /*datatype*/,
                                            std::span<const int64_t> /*shape*/,
                                            size_t byte_size) override {
    auto it = outputs_.find(name);
    if (it == outputs_.end()) {
      return absl::InvalidArgumentError(fmt::format("unknown output '{}'", name));
    }
    it->second.assign(byte_size, std::byte{0});
    return it->second.data();
  }

 private:
  TrialBatch() = default;
  std::vector<Shape> shapes_;
  std::vector<std::vector<std::byte>> buffers_;
  std::vector<TensorView> views_;
  std::map<std::string, std::vector<std::byte>, std::less<>> outputs_;
};

}  // namespace inferd
