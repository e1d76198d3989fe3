// SPDX-License-Identifier: Apache-2.0
// KServe v2 JSON bodies with Triton's binary tensor extension, for both ends of the HTTP protocol:
// the server decodes requests and encodes responses, the client does the reverse.
//
// A binary body is the JSON object followed by tensor bytes in the order of the `inputs` (or
// `outputs`) array, each tensor marked with the parameter "binary_data_size". Decoded tensors
// whose bytes came in the binary part are views into it (kept alive by `owner`); tensors sent as
// JSON own a decoded copy. Encoders return the JSON text and the list of binary chunks to send
// after it, as views into the tensors; nothing is copied.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "inferd/infer.h"
#include "inferd/server_types.h"

namespace inferd::codec {

// Reserved parameter names of the binary tensor extension.
inline constexpr std::string_view kBinaryDataSize = "binary_data_size";
inline constexpr std::string_view kBinaryData = "binary_data";
inline constexpr std::string_view kBinaryDataOutput = "binary_data_output";

struct EncodedInferMessage {
  std::string json;
  std::vector<std::span<const std::byte>> binary;  // Sent after the JSON, in order.
  size_t binary_size = 0;                           // Sum of the chunks' sizes.
};

// Which outputs a response carries as binary data: an output's own "binary_data" parameter, else
// the request's "binary_data_output", else JSON.
struct OutputBinarySelection {
  bool default_binary = false;
  std::vector<std::pair<std::string, bool>> per_output;
  bool IsBinary(std::string_view output) const;
};
OutputBinarySelection BinarySelectionOf(const InferRequest& request);

// Server side. `json` is the JSON header, `binary` the bytes after it (empty without the binary
// extension). INVALID_ARGUMENT with a message naming the field for anything malformed.
absl::StatusOr<InferRequest> DecodeInferRequest(std::string_view json,
                                                std::span<const std::byte> binary,
                                                std::shared_ptr<const void> owner);
absl::StatusOr<EncodedInferMessage> EncodeInferResponse(const InferResponse& response,
                                                        const OutputBinarySelection& binary);

// Client side. With `binary_inputs`, every input travels as binary data (FP16/BF16 always do);
// outputs and parameters are sent as the request names them.
absl::StatusOr<EncodedInferMessage> EncodeInferRequest(const InferRequest& request,
                                                       bool binary_inputs);
absl::StatusOr<InferResponse> DecodeInferResponse(std::string_view json,
                                                  std::span<const std::byte> binary,
                                                  std::shared_ptr<const void> owner);

// The other endpoints' bodies (protocols.md §1, §5.1, §6.1).
std::string EncodeError(std::string_view message);  // {"error": "..."}
// The message of an error body; the body itself when it is not one.
std::string DecodeError(std::string_view body);
std::string EncodeServerMetadata(const ServerMetadata& metadata);
absl::StatusOr<ServerMetadata> DecodeServerMetadata(std::string_view json);
std::string EncodeModelMetadata(const ModelMetadata& metadata);
absl::StatusOr<ModelMetadata> DecodeModelMetadata(std::string_view json);
std::string EncodeRepositoryIndex(const std::vector<ModelIndexEntry>& index);
absl::StatusOr<std::vector<ModelIndexEntry>> DecodeRepositoryIndex(std::string_view json);
std::string EncodeModelStatistics(const std::vector<ModelStatistics>& stats);
absl::StatusOr<std::vector<ModelStatistics>> DecodeModelStatistics(std::string_view json);

}  // namespace inferd::codec
