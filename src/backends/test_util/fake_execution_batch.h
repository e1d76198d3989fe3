// SPDX-License-Identifier: Apache-2.0
// A test stand-in for the scheduler's side of ModelInstance::Execute: it owns the input bytes,
// hands out views of them, and collects the outputs a backend writes into plain vectors.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "fmt/format.h"
#include "inferd/backend.h"
#include "inferd/tensor.h"

namespace inferd::testing {

struct FakeTensor {
  std::string name;
  DataType datatype = DataType::kInvalid;
  Shape shape;
  std::vector<std::byte> bytes;

  template <typename T>
  static FakeTensor Of(std::string name, DataType datatype, Shape shape,
                       const std::vector<T>& values) {
    FakeTensor t{std::move(name), datatype, std::move(shape), {}};
    t.bytes.resize(values.size() * sizeof(T));
    if (!values.empty()) std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
    return t;
  }
  static FakeTensor OfBytes(std::string name, DataType datatype, Shape shape,
                            std::string_view raw) {
    FakeTensor t{std::move(name), datatype, std::move(shape), {}};
    t.bytes.resize(raw.size());
    if (!raw.empty()) std::memcpy(t.bytes.data(), raw.data(), raw.size());
    return t;
  }

  template <typename T>
  std::vector<T> Values() const {
    std::vector<T> values(bytes.size() / sizeof(T));
    if (!values.empty()) std::memcpy(values.data(), bytes.data(), values.size() * sizeof(T));
    return values;
  }
  std::string Raw() const {
    return std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  }
};

class FakeExecutionBatch final : public ExecutionBatch {
 public:
  // `requested`: the outputs any request wants.
  FakeExecutionBatch(int batch_size, std::vector<FakeTensor> inputs,
                     std::set<std::string, std::less<>> requested)
      : batch_size_(batch_size), inputs_(std::move(inputs)), requested_(std::move(requested)) {
    for (const FakeTensor& t : inputs_) {
      views_.push_back({t.name, t.datatype, t.shape, t.bytes.data(), t.bytes.size()});
    }
  }

  FakeExecutionBatch(const FakeExecutionBatch&) = delete;
  FakeExecutionBatch& operator=(const FakeExecutionBatch&) = delete;

  // Makes every AllocateOutput fail with `status`.
  void FailAllocationsWith(absl::Status status) { allocation_error_ = std::move(status); }

  int batch_size() const override { return batch_size_; }
  std::span<const TensorView> inputs() const override { return views_; }
  bool OutputRequested(std::string_view name) const override {
    return requested_.find(name) != requested_.end();
  }

  absl::StatusOr<std::byte*> AllocateOutput(std::string_view name, DataType datatype,
                                            std::span<const int64_t> shape,
                                            size_t byte_size) override {
    if (!allocation_error_.ok()) return allocation_error_;
    if (!OutputRequested(name)) {
      return absl::InvalidArgumentError(fmt::format("output '{}' was not requested", name));
    }
    if (outputs_.count(std::string(name)) != 0) {
      return absl::InvalidArgumentError(fmt::format("output '{}' allocated twice", name));
    }
    if (datatype != DataType::kBytes) {
      absl::StatusOr<size_t> expected = FixedTensorByteSize(datatype, shape);
      if (!expected.ok()) return expected.status();
      if (*expected != byte_size) {
        return absl::InvalidArgumentError(fmt::format("output '{}': {} bytes do not fit shape {}",
                                                      name, byte_size, ShapeToString(shape)));
      }
    }
    FakeTensor& out = outputs_[std::string(name)];
    out.name = std::string(name);
    out.datatype = datatype;
    out.shape.assign(shape.begin(), shape.end());
    out.bytes.resize(byte_size);
    return out.bytes.data();
  }

  // Outputs by name, as the backend wrote them.
  const std::map<std::string, FakeTensor>& outputs() const { return outputs_; }

 private:
  int batch_size_;
  std::vector<FakeTensor> inputs_;
  std::vector<TensorView> views_;
  std::set<std::string, std::less<>> requested_;
  absl::Status allocation_error_;
  std::map<std::string, FakeTensor> outputs_;
};

}  // namespace inferd::testing
