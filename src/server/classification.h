// SPDX-License-Identifier: Apache-2.0
// Triton's classification extension: a requested output with the parameter `classification: N`
// (HTTP: a JSON number; gRPC: int64_param) comes back as the top N classes of the tensor instead
// of its raw values, as a BYTES tensor of "<value>:<index>" strings, or "<value>:<index>:<label>"
// when the output has a `label_filename`. The server facade applies it after the model ran, so
// every transport gets it.
//
// What Triton does, and this follows (server: src/classification.cc, src/http_server.cc,
// src/grpc/infer_handler.cc; core: src/label_provider.cc):
// - A batching model's output ([batch, ...], first dimension the batch) gives N classes per batch
//   item: shape [batch, min(N, elements per item)]; otherwise the whole tensor is one item: shape
//   [min(N, elements)]. N larger than the number of classes is clamped.
// - Classes are ordered by value, highest first, compared in the output's own datatype; ties keep
//   the lower index first (Triton leaves their order unspecified).
// - <value> is printed as C++'s std::to_string prints it: integers in decimal, floating point with
//   six decimals ("0.750000"). FP16 and BF16 (which Triton refuses) are widened to float first.
// - <label> is line <index> of the label file, read line by line; an index beyond the file or an
//   empty line adds no label. inferd also drops a line's trailing '\r' (CRLF files).
// - BOOL and BYTES outputs cannot be classified (INVALID_ARGUMENT), nor can an output that also
//   names a shared-memory region. 0 means no classification.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "inferd/infer.h"

namespace inferd {

inline constexpr std::string_view kClassificationParameter = "classification";

// The class count a requested output asks for: 0 without the parameter. INVALID_ARGUMENT naming
// the output and model when it is not a non-negative integer (a boolean, a string, a fraction).
absl::StatusOr<int64_t> ClassificationCount(const RequestedOutput& output, std::string_view model);

// Whether outputs of `datatype` can be classified (every numeric type; not BOOL or BYTES).
bool IsClassifiable(DataType datatype);

// The top `count` classes of `raw` as a BYTES output of the same name. `batched`: the model
// batches, so the first dimension is the batch. `labels` may be null or shorter than the class
// count. INVALID_ARGUMENT for a datatype that cannot be classified; INTERNAL when the bytes do not
// match the shape.
absl::StatusOr<InferOutput> Classify(const InferOutput& raw, int64_t count, bool batched,
                                     const std::vector<std::string>* labels);

// Reads a label file: one label per line. `model_dir` is the model's directory and
// `label_filename` the output's label_filename, which must name a file inside that directory (no
// absolute path, no "..", no symbolic link leading out of it), exist, be a regular file and be at
// most 64 MiB: INVALID_ARGUMENT otherwise (the config is wrong, so the load fails). Messages name
// the model, the file and the output.
absl::StatusOr<std::vector<std::string>> ReadLabelFile(const std::string& model_dir,
                                                       std::string_view label_filename,
                                                       std::string_view model,
                                                       std::string_view output);

}  // namespace inferd
