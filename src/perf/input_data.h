// SPDX-License-Identifier: Apache-2.0
// The tensors a profile sends: shapes resolved from the model's metadata, its batching and
// --shape, and data that is zero, random, read from a perf_analyzer JSON input-data file, or read
// from a folder of <input name>.npy files. Every problem is an INVALID_ARGUMENT or NOT_FOUND
// whose message names the input, the file and what was expected.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "inferd/infer.h"
#include "inferd/server_types.h"

namespace inferd::perf {

struct InputSpec {
  std::string name;
  DataType datatype = DataType::kInvalid;
  Shape shape;  // The full request shape, batch dimension included when the model batches.
};

// max_batch_size > 0: the metadata's leading -1 is the batch dimension and becomes `batch_size`;
// other -1 dimensions come from `shapes` (without the batch dimension, as perf_analyzer's
// --shape). Errors: a -1 dimension with no --shape, a --shape naming no input of the model, a
// --shape that contradicts a fixed dimension, batch_size > 1 for a model that does not batch or
// above max_batch_size.
absl::StatusOr<std::vector<InputSpec>> ResolveInputs(
    const ModelMetadata& metadata, int64_t max_batch_size, int64_t batch_size,
    const std::map<std::string, std::vector<int64_t>>& shapes);

// One request's inputs per step; requests cycle through the steps. Each input owns its bytes.
// `source`: "zero", "random", a .json file (perf_analyzer's {"data": [{NAME: [values] |
// {"content": [...], "shape": [...]} | {"b64": "..."}}, ...]} format; the values of one entry
// are one batch element, repeated for the batch, or the whole batch), or a folder of .npy files.
// `batched`: the specs' leading dimension is the batch.
absl::StatusOr<std::vector<std::vector<InferInput>>> MakeInputData(
    const std::vector<InputSpec>& specs, const std::string& source, bool batched, uint64_t seed);

}  // namespace inferd::perf
