// SPDX-License-Identifier: Apache-2.0
// The infer endpoint's body formats besides KServe JSON (private to src/transport/http/):
// choosing the request's format from Content-Type and the response's from Accept, and the
// requests and responses of a NumPy .npy body (docs/protocols.md, "Tensor body formats").
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "inferd/infer.h"
#include "model_config.pb.h"
#include "transport/http/http_api.h"

namespace inferd::http_detail {

enum class BodyFormat {
  kKserve,  // KServe JSON, with Triton's binary tensor extension.
  kNpy,     // application/x-npy: one tensor.
  kArrow,   // application/vnd.apache.arrow.stream: one record batch.
};

std::string_view MediaTypeOf(BodyFormat format);

// The format of a request body: npy or Arrow by their media types; anything else (including no
// Content-Type, as clients of the binary extension send) is KServe JSON.
BodyFormat RequestBodyFormat(std::string_view content_type);

// The response's format from Accept: the acceptable (q > 0) media type with the highest q that
// this server produces (earliest first on a tie); a wildcard ("*/*", "application/*") or no Accept
// means the request's own format. nullopt when nothing acceptable can be produced (406).
std::optional<BodyFormat> ResponseBodyFormat(std::string_view accept, BodyFormat request_format);

// The message of a 406 for `accept`.
std::string NotAcceptableMessage(std::string_view accept);

// The query parameter `key` of a target ("/v2/...?input=x"), percent-decoded; nullopt if absent.
std::optional<std::string> QueryParameter(std::string_view target, std::string_view key);

// The request whose only input is the .npy body: named by `?input=` or, for a model with one
// input, that input. The shape is the array's (the batch dimension included for a batched model,
// as in a JSON request).
absl::StatusOr<InferRequest> NpyInferRequest(const inference::ModelConfig& config,
                                             const HttpRequest& request);

// For a response format that carries one tensor (npy): makes `request` ask for exactly one
// output, named by `?output=`, else the one output the request names, else the model's only
// output. INVALID_ARGUMENT saying how to name one otherwise.
absl::Status SelectSingleOutput(const inference::ModelConfig& config, std::string_view target,
                                InferRequest& request);

// The .npy response of a finished inference (its single output).
absl::StatusOr<HttpResponse> NpyResponse(std::shared_ptr<const InferResponse> response);

// The request of an Arrow IPC stream body: one input per column (codec::DecodeArrowStream), rows
// as the batch dimension when the model is batched.
absl::StatusOr<InferRequest> ArrowInferRequest(const inference::ModelConfig& config,
                                               const HttpRequest& request);

// The Arrow IPC stream response of a finished inference (every output, one column each).
absl::StatusOr<HttpResponse> ArrowResponse(std::shared_ptr<const InferResponse> response,
                                           bool batched);

}  // namespace inferd::http_detail
