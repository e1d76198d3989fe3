// SPDX-License-Identifier: Apache-2.0
// Running one request on one model instance: an ExecutionBatch over a single InferPayload, and the
// execute-and-time step every scheduler shares. The instance-queue scheduler uses it for every
// request; the dynamic batcher uses it for a batch of one (no gather copy, no scatter).
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "core/clock.h"
#include "core/infer_payload.h"
#include "inferd/backend.h"
#include "scheduler/scheduler.h"

namespace inferd {

// An ExecutionBatch whose inputs are the payload's inputs (views, no copy) and whose outputs are
// allocated from the payload's allocator (HeapOutputAllocator() when it has none).
//
// AllocateOutput fails with NOT_FOUND for an output the request did not ask for, INTERNAL for an
// output allocated twice or a byte size that is not shape × element size (fixed-size types), or
// the allocator's error. Outputs are kept aside until FinishOutputs() moves them into
// payload.response.outputs. Not thread-safe: one backend thread uses it during Execute.
class SingleRequestBatch : public ExecutionBatch {
 public:
  // `payload` must outlive the batch; `model_name` is for error messages.
  SingleRequestBatch(InferPayload& payload, std::string_view model_name);

  int batch_size() const override;
  std::span<const TensorView> inputs() const override;
  bool OutputRequested(std::string_view name) const override;
  absl::StatusOr<std::byte*> AllocateOutput(std::string_view name, DataType datatype,
                                            std::span<const int64_t> shape,
                                            size_t byte_size) override;

  // After a successful Execute: fails with INTERNAL if a requested output was not produced, else
  // appends the outputs to payload.response.outputs in the order the request asked for them.
  absl::Status FinishOutputs();

 private:
  // Index of `name` in payload.requested_outputs, or -1.
  int RequestedIndex(std::string_view name) const;

  InferPayload& payload_;
  std::string model_name_;
  // One slot per requested output, filled by AllocateOutput.
  std::vector<std::optional<InferOutput>> outputs_;
};

// What every ExecutionBatch::AllocateOutput checks of a backend's output: a BYTES shape must have
// an element count, any other datatype exactly shape × element size bytes. INTERNAL naming the
// model and output otherwise (the backend is wrong, not the request).
absl::Status CheckOutputByteSize(std::string_view model_name, std::string_view name,
                                 DataType datatype, std::span<const int64_t> shape,
                                 size_t byte_size);

// Runs `payload` alone on `instance`: stamps compute_start_ns/compute_end_ns from `clock`,
// executes, finishes the outputs and reports one ExecutionRecord to `observer` (when not null).
// Returns the request's final status; the caller completes the payload. Called on the instance's
// thread.
absl::Status ExecuteSingleRequest(ModelInstance& instance, InferPayload& payload,
                                  std::string_view model_name, const Clock& clock,
                                  ExecutionObserver* observer);

}  // namespace inferd
