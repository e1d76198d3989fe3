// SPDX-License-Identifier: Apache-2.0
// Tensors as an Apache Arrow IPC stream (application/vnd.apache.arrow.stream): a Schema message,
// exactly one RecordBatch, the end-of-stream marker (docs/protocols.md, "Apache Arrow IPC
// stream"). The flatbuffer messages are read with our transcription of the format's schema
// (arrow_format.fbs), each one checked by the flatbuffers verifier before it is read.
//
// One column per tensor. A tensor column is Arrow's canonical extension `arrow.fixed_shape_tensor`:
// a FixedSizeList<T> whose field metadata holds ARROW:extension:name = arrow.fixed_shape_tensor
// and ARROW:extension:metadata = {"shape": [...]}, one row per batch item for a batched model
// (one row otherwise); T is Bool, Int(8..64, signed or not), FloatingPoint (half, single,
// double) or Binary (BYTES). A FixedSizeList without the metadata is a tensor of shape
// [listSize] per row. A Binary (or Utf8) column is a BYTES tensor of one element per row.
// Refused with INVALID_ARGUMENT naming the column: dictionaries, compressed bodies, big-endian
// schemas, nulls, any other type, and a list size that disagrees with the shape metadata.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "inferd/infer.h"

namespace inferd::codec {

inline constexpr std::string_view kArrowStreamMediaType = "application/vnd.apache.arrow.stream";

// The inputs of a stream, one per column, in column order. With `batched` (the model's
// max_batch_size > 0) a column's rows are the batch dimension: shape [rows, ...shape]; without,
// a tensor column must have one row and its shape is the metadata's. Fixed-size values are views
// into `body` (kept alive by `owner`) when aligned to their element size (the stream format
// aligns buffers to 8 bytes, and the HTTP server places the body 64-byte aligned); Bool values
// (bit-packed in Arrow) and BYTES are converted into buffers the input owns.
absl::StatusOr<std::vector<InferInput>> DecodeArrowStream(std::span<const std::byte> body,
                                                          std::shared_ptr<const void> owner,
                                                          bool batched);

// Outputs as a stream: `head` (Schema message and the RecordBatch's metadata) then `body` (views
// into the outputs' bytes for fixed-size types, padding, converted Bool/BYTES buffers held by
// `storage`, and the end-of-stream marker), to be sent in order.
struct EncodedArrowStream {
  std::string head;
  std::vector<std::span<const std::byte>> body;
  std::shared_ptr<const void> storage;
};
absl::StatusOr<EncodedArrowStream> EncodeArrowStream(std::span<const InferOutput> outputs,
                                                     bool batched);

}  // namespace inferd::codec
