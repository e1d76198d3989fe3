// SPDX-License-Identifier: Apache-2.0
// Reading a model's config `parameters` in a backend plugin: typed, with a default, and an
// INVALID_ARGUMENT naming the key and the value when the value is malformed (the caller adds the
// model's name).
#pragma once

#include <cctype>
#include <charconv>
#include <filesystem>
#include <string>
#include <string_view>
#include <system_error>
#include <thread>

#include "absl/status/statusor.h"
#include "core/cpus.h"
#include "fmt/format.h"
#include "inferd/backend.h"

namespace inferd {

// An integer parameter in [min_value, max_value]; `default_value` when the key is absent.
inline absl::StatusOr<int> IntParameter(const ModelSpec& spec, std::string_view key,
                                        int default_value, int min_value, int max_value) {
  auto it = spec.parameters.find(key);
  if (it == spec.parameters.end()) return default_value;
  const std::string& text = it->second;
  int value = 0;
  auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (err != std::errc() || end != text.data() + text.size() || value < min_value ||
      value > max_value) {
    return absl::InvalidArgumentError(
        fmt::format("parameter {} must be an integer from {} to {}, got '{}'", key, min_value,
                    max_value, text));
  }
  return value;
}

// A floating-point parameter >= 0; `default_value` when the key is absent.
inline absl::StatusOr<double> DoubleParameter(const ModelSpec& spec, std::string_view key,
                                              double default_value) {
  auto it = spec.parameters.find(key);
  if (it == spec.parameters.end()) return default_value;
  const std::string& text = it->second;
  double value = 0;
  auto [end, err] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (err != std::errc() || end != text.data() + text.size() || !(value >= 0)) {
    return absl::InvalidArgumentError(
        fmt::format("parameter {} must be a number >= 0, got '{}'", key, text));
  }
  return value;
}

// A boolean parameter: true/false, 1/0, yes/no, on/off (any case).
inline absl::StatusOr<bool> BoolParameter(const ModelSpec& spec, std::string_view key,
                                          bool default_value) {
  auto it = spec.parameters.find(key);
  if (it == spec.parameters.end()) return default_value;
  std::string text = it->second;
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (text == "true" || text == "1" || text == "yes" || text == "on") return true;
  if (text == "false" || text == "0" || text == "no" || text == "off") return false;
  return absl::InvalidArgumentError(
      fmt::format("parameter {} must be true or false, got '{}'", key, it->second));
}

// The thread-count default of the ML backends: the CPUs the process may run on (at least 1).
inline int DefaultThreadCount() { return AvailableCpus(); }

// The model file of a version: config `default_model_filename`, else `default_filename`, in the
// version folder. INVALID_ARGUMENT naming the path when it is not a regular file.
inline absl::StatusOr<std::string> ModelFilePath(const ModelSpec& spec,
                                                 std::string_view default_filename,
                                                 std::string_view backend_name) {
  const std::string filename =
      spec.model_filename.empty() ? std::string(default_filename) : spec.model_filename;
  const std::string path = (std::filesystem::path(spec.version_dir) / filename).string();
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) {
    return absl::InvalidArgumentError(
        fmt::format("model file '{}' does not exist (the {} backend loads '{}' from the version "
                    "folder)",
                    path, backend_name, filename));
  }
  return path;
}

}  // namespace inferd
