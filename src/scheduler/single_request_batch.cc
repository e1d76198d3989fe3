// SPDX-License-Identifier: Apache-2.0
#include "scheduler/single_request_batch.h"

#include <utility>

#include "core/exception_boundary.h"
#include "fmt/format.h"

namespace inferd {

absl::Status CheckOutputByteSize(std::string_view model_name, std::string_view name,
                                 DataType datatype, std::span<const int64_t> shape,
                                 size_t byte_size) {
  if (datatype == DataType::kBytes) {
    if (!ElementCount(shape).has_value()) {
      return absl::InternalError(fmt::format("model '{}' output '{}' has invalid shape {}",
                                             model_name, name, ShapeToString(shape)));
    }
  } else {
    absl::StatusOr<size_t> expected = FixedTensorByteSize(datatype, shape);
    if (!expected.ok()) {
      return absl::InternalError(fmt::format("model '{}' output '{}': {}", model_name, name,
                                             std::string(expected.status().message())));
    }
    if (*expected != byte_size) {
      return absl::InternalError(
          fmt::format("model '{}' output '{}' is {} bytes, but {} {} needs {}", model_name, name,
                      byte_size, DataTypeName(datatype), ShapeToString(shape), *expected));
    }
  }
  return absl::OkStatus();
}

SingleRequestBatch::SingleRequestBatch(InferPayload& payload, std::string_view model_name)
    : payload_(payload), model_name_(model_name), outputs_(payload.requested_outputs.size()) {}

int SingleRequestBatch::batch_size() const { return payload_.batch_size; }

std::span<const TensorView> SingleRequestBatch::inputs() const { return payload_.inputs; }

bool SingleRequestBatch::OutputRequested(std::string_view name) const {
  return RequestedIndex(name) >= 0;
}

int SingleRequestBatch::RequestedIndex(std::string_view name) const {
  const auto& requested = payload_.requested_outputs;
  for (size_t i = 0; i < requested.size(); ++i) {
    if (requested[i] == name) return static_cast<int>(i);
  }
  return -1;
}

absl::StatusOr<std::byte*> SingleRequestBatch::AllocateOutput(std::string_view name,
                                                              DataType datatype,
                                                              std::span<const int64_t> shape,
                                                              size_t byte_size) {
  const int index = RequestedIndex(name);
  if (index < 0) {
    return absl::NotFoundError(fmt::format(
        "model '{}' allocated output '{}', which the request did not ask for", model_name_, name));
  }
  if (outputs_[index].has_value()) {
    return absl::InternalError(
        fmt::format("model '{}' allocated output '{}' twice", model_name_, name));
  }
  if (absl::Status s = CheckOutputByteSize(model_name_, name, datatype, shape, byte_size);
      !s.ok()) {
    return s;
  }

  if (payload_.allocator == nullptr) payload_.allocator = HeapOutputAllocator();
  absl::StatusOr<OutputBuffer> buffer =
      payload_.allocator->Allocate(name, datatype, shape, byte_size);
  if (!buffer.ok()) return buffer.status();
  if (buffer->data == nullptr && byte_size > 0) {
    return absl::InternalError(fmt::format(
        "allocator returned no memory for output '{}' of model '{}'", name, model_name_));
  }

  InferOutput& out = outputs_[index].emplace();
  out.name = std::string(name);
  out.datatype = datatype;
  out.shape.assign(shape.begin(), shape.end());
  out.data = buffer->data;
  out.byte_size = byte_size;
  out.owner = std::move(buffer->owner);
  return buffer->data;
}

absl::Status SingleRequestBatch::FinishOutputs() {
  for (size_t i = 0; i < outputs_.size(); ++i) {
    if (!outputs_[i].has_value()) {
      return absl::InternalError(fmt::format("model '{}' did not produce output '{}'", model_name_,
                                             payload_.requested_outputs[i]));
    }
  }
  auto& response_outputs = payload_.response.outputs;
  response_outputs.reserve(response_outputs.size() + outputs_.size());
  for (auto& out : outputs_) response_outputs.push_back(std::move(*out));
  outputs_.clear();
  return absl::OkStatus();
}

absl::Status ExecuteSingleRequest(ModelInstance& instance, InferPayload& payload,
                                  std::string_view model_name, const Clock& clock,
                                  ExecutionObserver* observer) {
  payload.compute_start_ns = clock.NowNanos();
  SingleRequestBatch batch(payload, model_name);
  const int64_t infer_start_ns = clock.NowNanos();
  absl::Status status = CallCatchingExceptions("running the model's backend",
                                               [&] { return instance.Execute(batch); });
  const int64_t infer_end_ns = clock.NowNanos();
  if (status.ok()) status = batch.FinishOutputs();
  payload.compute_end_ns = clock.NowNanos();
  payload.compute_input_ns = infer_start_ns - payload.compute_start_ns;
  payload.compute_infer_ns = infer_end_ns - infer_start_ns;
  payload.compute_output_ns = payload.compute_end_ns - infer_end_ns;

  if (observer != nullptr) {
    ExecutionRecord record;
    record.batch_size = payload.batch_size;
    record.compute_input_ns = payload.compute_input_ns;
    record.compute_infer_ns = payload.compute_infer_ns;
    record.compute_output_ns = payload.compute_output_ns;
    record.ok = status.ok();
    observer->OnExecution(record);
  }
  return status;
}

}  // namespace inferd
