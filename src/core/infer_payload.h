// SPDX-License-Identifier: Apache-2.0
// A request on its way from InferenceServer::Infer through a model's scheduler to a backend
// instance and back. The server builds it after validation; the scheduler owns it while it is
// queued and executing; Complete() hands it back to the server.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "inferd/infer.h"
#include "inferd/tensor.h"

namespace inferd {

class InferPayload {
 public:
  // Called exactly once with the payload and the final status. On OK, `response` holds the
  // outputs.
  using CompletionFn = std::function<void(std::unique_ptr<InferPayload>, absl::Status)>;

  InferRequest request;
  // Validated inputs in the model config's order, shapes as the backend sees them (reshape
  // applied, batch dimension first when the model batches). Views into request.inputs' memory.
  std::vector<TensorView> inputs;
  std::vector<Shape> input_shapes;  // Storage behind inputs[i].shape.
  // Batch size of this request: inputs' first dimension when the model batches, else 1.
  int batch_size = 1;
  // Outputs to return, by config name (all of the model's when the request named none).
  std::vector<std::string> requested_outputs;
  // Triton's classification extension: requested outputs to return as their top N classes, with
  // N (> 0). Applied by the server once the model ran.
  std::vector<std::pair<std::string, int64_t>> classifications;
  std::shared_ptr<OutputAllocator> allocator;
  InferResponse response;

  // The caller accepts completion on its own thread before Enqueue returns (InferOptions).
  bool allow_inline = false;

  // Request parameters the scheduler honours (Triton's schedule-policy extension).
  int64_t priority = 0;          // 0: the model's default level.
  int64_t timeout_micros = 0;    // 0: the model's default.

  // Monotonic timestamps (ns), filled along the way for statistics.
  int64_t received_ns = 0;
  int64_t queue_start_ns = 0;
  int64_t compute_start_ns = 0;
  int64_t compute_end_ns = 0;
  // What the execution that carried this request cost (the whole batch's figures, as Triton
  // reports them per request). Set by the scheduler.
  int64_t compute_input_ns = 0;
  int64_t compute_infer_ns = 0;
  int64_t compute_output_ns = 0;

  CompletionFn on_complete;

  // Finishes the request: hands the payload to on_complete. Consumes the payload.
  static void Complete(std::unique_ptr<InferPayload> payload, absl::Status status);
};

}  // namespace inferd
