// SPDX-License-Identifier: Apache-2.0
// Running several requests as one batch: their inputs are gathered into one buffer per input (one
// copy per request), the backend runs once, and each request gets its rows of every output back.
// A request that uses the default heap allocator gets views into the batch's output buffer (no
// copy; the buffer lives while any response holds it); a request that brought its own allocator
// (a transport writing into shared memory or a response buffer) gets its slice copied there.
#pragma once

#include <cstddef>
#include <memory>
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

// Gather buffers an instance reuses from batch to batch (the backend never keeps input views past
// Execute), so steady-state batching allocates no input memory.
struct GatherBuffers {
  std::vector<std::vector<std::byte>> inputs;
};

// An ExecutionBatch over requests of a batching model (max_batch_size > 0) whose inputs have the
// same shapes except the batch dimension (SameInputShapes). Not thread-safe: one instance thread
// uses it.
class GatheredBatch final : public ExecutionBatch {
 public:
  // `payloads` and `buffers` must outlive the batch; `model_name` is for error messages.
  GatheredBatch(std::span<InferPayload* const> payloads, std::string_view model_name,
                GatherBuffers& buffers);

  // Copies every request's inputs into the batch buffers. Call once, before Execute.
  void GatherInputs();

  int batch_size() const override { return total_batch_; }
  std::span<const TensorView> inputs() const override { return inputs_; }
  bool OutputRequested(std::string_view name) const override;
  // Checks like SingleRequestBatch (requested, once, byte size = shape x element size) and that
  // the first dimension is the batch size; INTERNAL otherwise.
  absl::StatusOr<std::byte*> AllocateOutput(std::string_view name, DataType datatype,
                                            std::span<const int64_t> shape,
                                            size_t byte_size) override;

  // After a successful Execute: appends to each request's response its rows of the outputs it
  // asked for, in the order it asked for them. One status per request (a batch output that was
  // not produced or is malformed fails all; an allocator's error fails its own request).
  std::vector<absl::Status> ScatterOutputs();

 private:
  struct BatchOutput {
    std::string name;
    DataType datatype = DataType::kInvalid;
    Shape shape;
    std::shared_ptr<std::byte> buffer;
    size_t byte_size = 0;
  };

  int OutputIndex(std::string_view name) const;
  // Byte offset of each request's first row in a BYTES output (plus the end), or an error.
  absl::StatusOr<std::vector<size_t>> BytesRowOffsets(const BatchOutput& out) const;
  // Appends rows [begin, end) of `out` to the request's response.
  absl::Status ScatterOne(InferPayload& payload, const BatchOutput& out, size_t begin, size_t end);

  std::span<InferPayload* const> payloads_;
  std::string model_name_;
  GatherBuffers& buffers_;
  int total_batch_ = 0;
  std::vector<Shape> input_shapes_;
  std::vector<TensorView> inputs_;
  std::vector<std::string> output_names_;  // Union of the requests' requested outputs.
  std::vector<std::optional<BatchOutput>> outputs_;
};

// Runs `payloads` (two or more) as one batch on `instance`: gathers, executes, scatters; stamps
// every payload's compute timestamps and durations with the batch's and reports one
// ExecutionRecord (batch_size = the sum of the requests' batch sizes) to `observer` when not null.
// Returns one final status per payload; the caller completes them. Called on the instance's thread.
std::vector<absl::Status> ExecuteGatheredBatch(ModelInstance& instance,
                                               std::span<InferPayload* const> payloads,
                                               std::string_view model_name, const Clock& clock,
                                               ExecutionObserver* observer,
                                               GatherBuffers& buffers);

}  // namespace inferd
