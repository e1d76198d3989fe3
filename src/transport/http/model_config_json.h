// SPDX-License-Identifier: Apache-2.0
// The model-configuration extension's JSON form of a ModelConfig: protobuf's JSON mapping with the
// proto field names (snake_case, as Triton prints them), every field present, and 64-bit integers
// written as JSON numbers where protobuf would quote them (as Triton does).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "model_config.pb.h"

namespace inferd {

absl::StatusOr<std::string> ModelConfigToJson(const inference::ModelConfig& config);

}  // namespace inferd
