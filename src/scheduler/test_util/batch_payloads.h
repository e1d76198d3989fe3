// SPDX-License-Identifier: Apache-2.0
// Payloads of a batching model for batcher tests: one FP32 input "INPUT0" of shape
// [batch, width], row r filled with `value + r`, so every response can be checked against its
// own request; an echo instance that returns INPUT0 as OUTPUT0; and a collector of completions.
#pragma once

#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "core/infer_payload.h"
#include "inferd/backend.h"

namespace inferd::testing {

inline std::unique_ptr<InferPayload> MakeBatchPayload(float value, int batch, int width,
                                                      InferPayload::CompletionFn on_complete) {
  std::vector<float> values;
  for (int r = 0; r < batch; ++r) {
    for (int c = 0; c < width; ++c) values.push_back(value + static_cast<float>(r));
  }
  auto payload = std::make_unique<InferPayload>();
  payload->request.model_name = std::string("m");  // Not = "m": GCC 12 -Wrestrict false positive.
  payload->request.inputs.push_back(InferInput::Copy<float>(
      "INPUT0", DataType::kFp32, {batch, width}, std::span<const float>(values)));
  payload->input_shapes.push_back(payload->request.inputs[0].shape);
  const InferInput& in = payload->request.inputs[0];
  payload->inputs.push_back(
      TensorView{in.name, in.datatype, payload->input_shapes[0], in.data, in.byte_size});
  payload->batch_size = batch;
  payload->requested_outputs = {"OUTPUT0"};
  payload->on_complete = std::move(on_complete);
  return payload;
}

// Copies INPUT0 to OUTPUT0 (same shape), the way the builtin identity model does.
inline absl::Status EchoBatch(ExecutionBatch& batch) {
  const TensorView& in = batch.inputs()[0];
  absl::StatusOr<std::byte*> out =
      batch.AllocateOutput("OUTPUT0", in.datatype, in.shape, in.byte_size);
  if (!out.ok()) return out.status();
  if (in.byte_size > 0) std::memcpy(*out, in.data, in.byte_size);
  return absl::OkStatus();
}

// Completions keyed by the request's first value, in the order they arrived.
class CompletionLog {
 public:
  struct Entry {
    absl::Status status;
    std::unique_ptr<InferPayload> payload;  // Kept: responses may be views into batch buffers.
    int calls = 0;
  };

  InferPayload::CompletionFn Callback(float key) {
    return [this, key](std::unique_ptr<InferPayload> payload, absl::Status status) {
      absl::MutexLock lock(&mu_);
      Entry& entry = entries_[key];
      entry.status = std::move(status);
      entry.payload = std::move(payload);
      ++entry.calls;
      order_.push_back(key);
    };
  }

  bool Has(float key) {
    absl::MutexLock lock(&mu_);
    return entries_.count(key) > 0;
  }
  absl::Status Status(float key) {
    absl::MutexLock lock(&mu_);
    return entries_[key].status;
  }
  const InferPayload& Payload(float key) {
    absl::MutexLock lock(&mu_);
    return *entries_[key].payload;
  }
  int Calls(float key) {
    absl::MutexLock lock(&mu_);
    return entries_[key].calls;
  }
  // OUTPUT0 of a completed request, as floats (empty when it has none).
  std::vector<float> Output(float key) {
    absl::MutexLock lock(&mu_);
    Entry& entry = entries_[key];
    if (!entry.payload) return {};
    const InferOutput* out = entry.payload->response.FindOutput("OUTPUT0");
    if (out == nullptr) return {};
    auto values = out->As<float>();
    return {values.begin(), values.end()};
  }
  std::vector<float> order() {
    absl::MutexLock lock(&mu_);
    return order_;
  }
  size_t size() {
    absl::MutexLock lock(&mu_);
    return order_.size();
  }
  bool WaitFor(size_t count, absl::Duration timeout) {
    absl::MutexLock lock(&mu_);
    auto done = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) { return order_.size() >= count; };
    return mu_.AwaitWithTimeout(absl::Condition(&done), timeout);
  }

 private:
  absl::Mutex mu_;
  std::map<float, Entry> entries_ ABSL_GUARDED_BY(mu_);
  std::vector<float> order_ ABSL_GUARDED_BY(mu_);
};

// What a request of MakeBatchPayload(value, batch, width) must get back.
inline std::vector<float> ExpectedRows(float value, int batch, int width) {
  std::vector<float> values;
  for (int r = 0; r < batch; ++r) {
    for (int c = 0; c < width; ++c) values.push_back(value + static_cast<float>(r));
  }
  return values;
}

}  // namespace inferd::testing
