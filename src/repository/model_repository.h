// SPDX-License-Identifier: Apache-2.0
// A model repository on disk in Triton's layout: <repo>/<model>/config.pbtxt and numeric version
// folders <repo>/<model>/<version>/.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "model_config.pb.h"

namespace inferd {

// Whether `name` is acceptable as a model name before any path is built from it: non-empty, at
// most 255 bytes, no '/', no NUL, not "." or "..", and not starting with '.'.
bool IsValidModelName(std::string_view name);

class ModelRepository {
 public:
  // NOT_FOUND naming the path when `root` is not a readable directory.
  static absl::StatusOr<ModelRepository> Open(std::string root);

  const std::string& root() const { return root_; }

  // Model names: sub-directories of the root with a valid name, sorted. Hidden entries and plain
  // files are skipped.
  absl::StatusOr<std::vector<std::string>> ListModels() const;

  // <root>/<name>; INVALID_ARGUMENT for an invalid name, NOT_FOUND when it does not exist.
  absl::StatusOr<std::string> ModelDir(std::string_view name) const;

  // The numeric version folders of a model, ascending. Folders whose name is not a positive
  // integer or starts with '0' are ignored, as in Triton.
  absl::StatusOr<std::vector<int64_t>> ListVersions(std::string_view name) const;

 private:
  explicit ModelRepository(std::string root) : root_(std::move(root)) {}
  std::string root_;
};

// Applies a version policy to the versions on disk: latest{n} (default n = 1) the n highest; all;
// specific{versions} those listed (NOT_FOUND naming a listed version that is not on disk). Result
// is ascending. FAILED_PRECONDITION when no version is selected ("model 'm' has no version
// folders").
absl::StatusOr<std::vector<int64_t>> SelectVersions(const inference::ModelConfig& config,
                                                    const std::vector<int64_t>& available);

}  // namespace inferd
