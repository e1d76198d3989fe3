// SPDX-License-Identifier: Apache-2.0
// Test doubles for scheduler tests: a ModelInstance whose Execute is a lambda, a helper that writes
// an FP32 output, payload builders, and an observer that keeps every record.
#pragma once

#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "core/infer_payload.h"
#include "inferd/backend.h"
#include "scheduler/scheduler.h"

namespace inferd::testing {

// A ModelInstance that runs a function.
class FakeModelInstance : public ModelInstance {
 public:
  using ExecuteFn = std::function<absl::Status(ExecutionBatch&)>;
  explicit FakeModelInstance(ExecuteFn fn) : fn_(std::move(fn)) {}
  absl::Status Execute(ExecutionBatch& batch) override { return fn_(batch); }

 private:
  ExecuteFn fn_;
};

inline std::vector<std::unique_ptr<ModelInstance>> FakeInstances(
    int count, const FakeModelInstance::ExecuteFn& fn) {
  std::vector<std::unique_ptr<ModelInstance>> instances;
  for (int i = 0; i < count; ++i) instances.push_back(std::make_unique<FakeModelInstance>(fn));
  return instances;
}

// Allocates `name` as FP32 [values.size()] and copies `values` into it.
inline absl::Status WriteFp32Output(ExecutionBatch& batch, std::string_view name,
                                    const std::vector<float>& values) {
  const std::vector<int64_t> shape = {static_cast<int64_t>(values.size())};
  absl::StatusOr<std::byte*> out =
      batch.AllocateOutput(name, DataType::kFp32, shape, values.size() * sizeof(float));
  if (!out.ok()) return out.status();
  std::memcpy(*out, values.data(), values.size() * sizeof(float));
  return absl::OkStatus();
}

// A payload with one FP32 input "INPUT0" of shape [values.size()], asking for `outputs`.
inline std::unique_ptr<InferPayload> MakeFp32Payload(std::vector<float> values,
                                                     std::vector<std::string> outputs,
                                                     InferPayload::CompletionFn on_complete) {
  auto payload = std::make_unique<InferPayload>();
  payload->request.model_name = "m";
  payload->request.inputs.push_back(InferInput::Copy<float>(
      "INPUT0", DataType::kFp32, {static_cast<int64_t>(values.size())}, values));
  payload->input_shapes.push_back(payload->request.inputs[0].shape);
  const InferInput& in = payload->request.inputs[0];
  payload->inputs.push_back(
      TensorView{in.name, in.datatype, payload->input_shapes[0], in.data, in.byte_size});
  payload->requested_outputs = std::move(outputs);
  payload->on_complete = std::move(on_complete);
  return payload;
}

// The first FP32 value of the first input (tests number their requests this way).
inline float FirstInputValue(const ExecutionBatch& batch) {
  return batch.inputs()[0].As<float>()[0];
}

// Keeps every ExecutionRecord.
class RecordingObserver : public ExecutionObserver {
 public:
  void OnExecution(const ExecutionRecord& record) override {
    absl::MutexLock lock(&mu_);
    records_.push_back(record);
  }
  std::vector<ExecutionRecord> records() const {
    absl::MutexLock lock(&mu_);
    return records_;
  }

 private:
  mutable absl::Mutex mu_;
  std::vector<ExecutionRecord> records_ ABSL_GUARDED_BY(mu_);
};

}  // namespace inferd::testing
