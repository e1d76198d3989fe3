// SPDX-License-Identifier: Apache-2.0
// The models of the builtin backend. Each Load* checks the model config and returns a model whose
// instances implement it; errors name the model and what is wrong with its config.
//
//   identity  any datatype and shape; output i is a byte copy of input i.
//   add_sub   Triton's `simple`: OUTPUT0 = INPUT0 + INPUT1, OUTPUT1 = INPUT0 - INPUT1 (INT32,
//   FP32). busy      waits busy_a_us + busy_b_us × batch_size µs (busy_mode sleep or spin), then
//   returns
//             input i as output i: a stand-in for a GPU model whose time grows with the batch.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "inferd/backend.h"

namespace inferd::builtin {

absl::StatusOr<std::unique_ptr<BackendModel>> LoadIdentityModel(const ModelSpec& spec);
absl::StatusOr<std::unique_ptr<BackendModel>> LoadAddSubModel(const ModelSpec& spec);
absl::StatusOr<std::unique_ptr<BackendModel>> LoadBusyModel(const ModelSpec& spec);

// Checks that the config pairs each input with the output at the same position: as many outputs
// as inputs (at least one), the same datatype at each position.
absl::Status CheckInputsPairWithOutputs(const ModelSpec& spec, std::string_view model_kind);

// Copies each input of the batch to the output at the same position in `output_names`, with the
// input's datatype, shape and bytes; outputs nobody requested are skipped.
absl::Status CopyInputsToOutputs(ExecutionBatch& batch,
                                 const std::vector<std::string>& output_names);

}  // namespace inferd::builtin
