// SPDX-License-Identifier: Apache-2.0
// Reading and validating config.pbtxt against proto/model_config.proto (Triton's field names and
// numbers for the fields inferd supports).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "inferd/backend.h"
#include "model_config.pb.h"

namespace inferd {

struct ParsedModelConfig {
  inference::ModelConfig config;
  // One line per field present in the file that inferd does not support ("model 'm': field
  // 'optimization' is not supported by inferd and is ignored"). The caller logs them as warnings.
  std::vector<std::string> warnings;
};

// Parses config text (protobuf text format). `model_name` is the model's directory name: an
// absent `name` is filled with it; a different one is an error. Unknown fields (ones not in
// Triton's schema at all) are errors naming the field and line; Triton fields inferd does not
// support are parsed and reported in `warnings`. Then validates (ValidateModelConfig).
// Errors are INVALID_ARGUMENT and start with "model '<name>': ".
absl::StatusOr<ParsedModelConfig> ParseModelConfig(std::string_view text,
                                                   std::string_view model_name);

// Reads <model_dir>/config.pbtxt and parses it. NOT_FOUND when the file is missing.
absl::StatusOr<ParsedModelConfig> ReadModelConfig(const std::string& model_dir,
                                                  std::string_view model_name);

// Checks a config for what inferd needs: a name, a backend or platform, max_batch_size >= 0, a
// default_model_filename that is a plain file name, at least one input and one output, unique
// non-empty tensor names (per direction), a valid data_type on each, non-empty dims of -1 or > 0
// (a scalar is dims [1] with reshape { shape: [] }, as in Triton), a reshape with the same
// element count as dims (when both are fixed), instance_group count >= 0 with a valid kind and
// gpus >= 0, dynamic_batching preferred sizes in [1, max_batch_size] and priority levels
// consistent (default_priority_level and priority_queue_policy keys in [1, priority_levels]),
// and version_policy values > 0 (latest.num_versions, a non-empty specific list). Each error
// names the model, the field and the problem.
absl::Status ValidateModelConfig(const inference::ModelConfig& config);

// The backend-facing description of a config (ModelSpec without the paths and version).
ModelSpec ModelSpecFromConfig(const inference::ModelConfig& config);

// Total instance count across instance_group entries (1 when there are none).
int InstanceCount(const inference::ModelConfig& config);

}  // namespace inferd
