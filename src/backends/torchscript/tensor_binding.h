// SPDX-License-Identifier: Apache-2.0
// How a config's inputs and outputs map onto a TorchScript module's forward() arguments and
// results. Kept apart from libtorch so the rules are unit-tested without it.
//
// Inputs, first rule that applies:
//   1. Triton's naming: every input is named <anything>__<n> (INPUT__0): it feeds argument n.
//   2. Every input has the name of a forward() argument: it feeds that argument.
//   3. Otherwise: in config order, input i feeds argument i.
// Arguments no input feeds must have default values. Outputs: every output named <anything>__<n>
// (OUTPUT__0) is result n of the returned tuple; otherwise output i is result i.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "inferd/backend.h"

namespace inferd::torchscript {

// One forward() argument after `self`.
struct ArgumentInfo {
  std::string name;
  bool has_default = false;
};

struct InputBinding {
  std::vector<size_t> position;        // per config input: the argument it feeds
  size_t argument_count = 0;           // arguments to pass (the rest take their defaults)
  std::vector<size_t> default_filled;  // arguments below argument_count that take defaults
  std::string rule;                    // which rule applied, for the load log
};

// The <n> of a name ending in "__<n>" (Triton's INPUT__0 naming); nullopt otherwise.
std::optional<size_t> TritonIndex(std::string_view name);

// INVALID_ARGUMENT (without the model's name; the caller adds it) when the config declares more
// inputs than forward() takes, names an argument that does not exist, feeds one argument twice,
// or leaves an argument without a default unfed.
absl::StatusOr<InputBinding> BindInputs(const std::vector<TensorSpec>& inputs,
                                        const std::vector<ArgumentInfo>& arguments);

// Per config output: the index of its result. `result_count` is how many tensors forward()
// returns when its signature says (a Tensor: 1; a tuple: its size); INVALID_ARGUMENT when an
// output names a result past that.
absl::StatusOr<std::vector<size_t>> BindOutputs(const std::vector<TensorSpec>& outputs,
                                                std::optional<size_t> result_count);

}  // namespace inferd::torchscript
