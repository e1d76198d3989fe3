// SPDX-License-Identifier: Apache-2.0
#include "backends/torchscript/tensor_binding.h"

#include <algorithm>
#include <charconv>
#include <set>

#include "fmt/format.h"

namespace inferd::torchscript {
namespace {

std::string ArgumentList(const std::vector<ArgumentInfo>& arguments) {
  std::string text;
  for (const ArgumentInfo& a : arguments) text += (text.empty() ? "" : ", ") + a.name;
  return text;
}

std::string TensorList(const std::vector<TensorSpec>& tensors) {
  std::string text;
  for (const TensorSpec& t : tensors) text += (text.empty() ? "" : ", ") + t.name;
  return text;
}

// Triton indices of every tensor, or nullopt when not all of them follow the naming.
std::optional<std::vector<size_t>> AllTritonIndices(const std::vector<TensorSpec>& tensors) {
  if (tensors.empty()) return std::nullopt;
  std::vector<size_t> indices;
  for (const TensorSpec& t : tensors) {
    std::optional<size_t> index = TritonIndex(t.name);
    if (!index) return std::nullopt;
    indices.push_back(*index);
  }
  return indices;
}

}  // namespace

std::optional<size_t> TritonIndex(std::string_view name) {
  const size_t sep = name.rfind("__");
  if (sep == std::string_view::npos || sep == 0 || sep + 2 >= name.size()) return std::nullopt;
  const std::string_view digits = name.substr(sep + 2);
  size_t index = 0;
  auto [end, err] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
  if (err != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return index;
}

absl::StatusOr<InputBinding> BindInputs(const std::vector<TensorSpec>& inputs,
                                        const std::vector<ArgumentInfo>& arguments) {
  if (inputs.size() > arguments.size()) {
    return absl::InvalidArgumentError(
        fmt::format("the config declares {} input(s) ({}) but forward() takes {} argument(s) ({})",
                    inputs.size(), TensorList(inputs), arguments.size(), ArgumentList(arguments)));
  }
  InputBinding binding;
  if (auto indices = AllTritonIndices(inputs)) {
    binding.rule = "Triton's INPUT__<n> naming";
    binding.position = *std::move(indices);
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (binding.position[i] >= arguments.size()) {
        return absl::InvalidArgumentError(fmt::format(
            "config input '{}' names argument {}, but forward() takes {} argument(s) ({})",
            inputs[i].name, binding.position[i], arguments.size(), ArgumentList(arguments)));
      }
    }
  } else if (std::all_of(inputs.begin(), inputs.end(), [&](const TensorSpec& t) {
               return std::any_of(arguments.begin(), arguments.end(),
                                  [&](const ArgumentInfo& a) { return a.name == t.name; });
             })) {
    binding.rule = "forward() argument names";
    for (const TensorSpec& t : inputs) {
      const auto it = std::find_if(arguments.begin(), arguments.end(),
                                   [&](const ArgumentInfo& a) { return a.name == t.name; });
      binding.position.push_back(static_cast<size_t>(it - arguments.begin()));
    }
  } else {
    binding.rule = "config order";
    for (size_t i = 0; i < inputs.size(); ++i) binding.position.push_back(i);
  }

  std::set<size_t> fed;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!fed.insert(binding.position[i]).second) {
      return absl::InvalidArgumentError(
          fmt::format("config input '{}' feeds forward() argument '{}', which another input feeds "
                      "already",
                      inputs[i].name, arguments[binding.position[i]].name));
    }
  }
  binding.argument_count = fed.empty() ? 0 : *fed.rbegin() + 1;
  for (size_t p = 0; p < arguments.size(); ++p) {
    if (fed.contains(p)) continue;
    if (!arguments[p].has_default) {
      return absl::InvalidArgumentError(fmt::format(
          "forward() argument '{}' (position {}) has no default value and no config input feeds "
          "it (config inputs: {}; forward() arguments: {})",
          arguments[p].name, p, TensorList(inputs), ArgumentList(arguments)));
    }
    if (p < binding.argument_count) binding.default_filled.push_back(p);
  }
  return binding;
}

absl::StatusOr<std::vector<size_t>> BindOutputs(const std::vector<TensorSpec>& outputs,
                                                std::optional<size_t> result_count) {
  std::vector<size_t> index;
  if (auto indices = AllTritonIndices(outputs)) {
    index = *std::move(indices);
  } else {
    for (size_t i = 0; i < outputs.size(); ++i) index.push_back(i);
  }
  if (result_count) {
    for (size_t i = 0; i < outputs.size(); ++i) {
      if (index[i] >= *result_count) {
        return absl::InvalidArgumentError(
            fmt::format("config output '{}' is result {} of forward(), which returns {} tensor(s)",
                        outputs[i].name, index[i], *result_count));
      }
    }
  }
  return index;
}

}  // namespace inferd::torchscript
