// SPDX-License-Identifier: Apache-2.0
// Conversion between the gRPC inference messages (ModelInferRequest / ModelInferResponse) and
// inferd's InferRequest / InferResponse: the server side, and the parameter and version helpers
// the grpc:// client shares. Needs only core and the generated messages.
//
// Raw inputs are not copied: the InferInputs point into the request message's
// raw_input_contents, so the message must outlive the InferRequest's completion. Typed inputs
// (InferTensorContents) are packed into a buffer the InferInput owns. Outputs are written by the
// backend straight into the response message's raw_output_contents through
// ResponseOutputAllocator.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "grpc_service.pb.h"
#include "inferd/infer.h"

namespace inferd::grpc_transport {

// "" → 0 (the latest ready version); a decimal number → that version; anything else is
// INVALID_ARGUMENT naming the field.
absl::StatusOr<int64_t> ParseModelVersion(std::string_view version, std::string_view field);

struct DecodedInferRequest {
  InferRequest request;
  // The request sent typed `contents` for at least one input: answer with typed contents too.
  bool typed_contents = false;
};

// Checks the message's shape (datatypes, raw_input_contents count, raw vs typed contents, typed
// values against the shape) and builds the InferRequest. Errors are INVALID_ARGUMENT and name the
// model, the input and the field. The rest (known inputs, datatypes against the config, byte
// sizes) is the server's validation.
absl::StatusOr<DecodedInferRequest> DecodeInferRequest(const inference::ModelInferRequest& message);

// Places each output in a new raw_output_contents entry of `message`. Allocate runs on the
// executing instance's thread; one request's outputs are allocated by one thread at a time. The
// message must outlive the allocator's use and the response's completion.
class ResponseOutputAllocator final : public OutputAllocator {
 public:
  explicit ResponseOutputAllocator(inference::ModelInferResponse* message) : message_(message) {}
  absl::StatusOr<OutputBuffer> Allocate(std::string_view output_name, DataType datatype,
                                        std::span<const int64_t> shape, size_t byte_size) override;

 private:
  inference::ModelInferResponse* message_;
};

// Fills `message` (whose raw_output_contents may already hold the bytes written through a
// ResponseOutputAllocator) from `response`: names, versions, parameters, output metadata, and
// raw_output_contents in the order of `outputs` (bytes the allocator did not place are copied).
// With `typed_contents`, the outputs are returned as InferTensorContents instead, unless one is
// FP16 or BF16, which have no typed form.
absl::Status EncodeInferResponse(InferResponse response, bool typed_contents,
                                 inference::ModelInferResponse& message);

// Parameter conversion, shared by requests, tensors and responses.
absl::Status DecodeParameters(
    const google::protobuf::Map<std::string, inference::InferParameter>& from,
    std::string_view where, Parameters& to);
void EncodeParameters(const Parameters& from,
                      google::protobuf::Map<std::string, inference::InferParameter>& to);

}  // namespace inferd::grpc_transport
