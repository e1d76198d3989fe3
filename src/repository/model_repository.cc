// SPDX-License-Identifier: Apache-2.0
#include "repository/model_repository.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/client_text.h"

namespace inferd {
namespace fs = std::filesystem;
namespace {

// absl here is built with its own string_view; std::string_view does not convert implicitly.
absl::string_view Sv(std::string_view s) { return absl::string_view(s.data(), s.size()); }

}  // namespace

bool IsValidModelName(std::string_view name) {
  if (name.empty() || name.size() > 255) return false;
  if (name.front() == '.') return false;  // also rules out "." and ".."
  return name.find('/') == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

absl::StatusOr<ModelRepository> ModelRepository::Open(std::string root) {
  std::error_code ec;
  if (root.empty() || !fs::is_directory(root, ec)) {
    return absl::NotFoundError(
        absl::StrCat("model repository '", root, "' is not a readable directory"));
  }
  fs::directory_iterator probe(root, ec);
  if (ec) {
    return absl::NotFoundError(
        absl::StrCat("model repository '", root, "' is not a readable directory: ", ec.message()));
  }
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  return ModelRepository(std::move(root));
}

absl::StatusOr<std::vector<std::string>> ModelRepository::ListModels() const {
  std::error_code ec;
  fs::directory_iterator it(root_, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot list model repository '", root_, "': ", ec.message()));
  }
  std::vector<std::string> names;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    std::string name = it->path().filename().string();
    std::error_code dir_ec;
    if (IsValidModelName(name) && it->is_directory(dir_ec)) names.push_back(std::move(name));
  }
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot list model repository '", root_, "': ", ec.message()));
  }
  std::sort(names.begin(), names.end());
  return names;
}

absl::StatusOr<std::string> ModelRepository::ModelDir(std::string_view name) const {
  if (!IsValidModelName(name)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid model name ", QuoteClientText(name)));
  }
  std::string dir = absl::StrCat(root_, "/", Sv(name));
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    return absl::NotFoundError(absl::StrCat("model ", QuoteClientText(name),
                                            " is not in the model repository '", root_, "'"));
  }
  return dir;
}

absl::StatusOr<std::vector<int64_t>> ModelRepository::ListVersions(std::string_view name) const {
  absl::StatusOr<std::string> dir = ModelDir(name);
  if (!dir.ok()) return dir.status();
  std::error_code ec;
  fs::directory_iterator it(*dir, ec);
  if (ec) {
    return absl::UnavailableError(
        absl::StrCat("cannot list model directory '", *dir, "': ", ec.message()));
  }
  std::vector<int64_t> versions;
  for (; it != fs::directory_iterator(); it.increment(ec)) {
    const std::string entry = it->path().filename().string();
    std::error_code dir_ec;
    if (entry.empty() || entry.front() == '0' || !it->is_directory(dir_ec)) continue;
    int64_t version = 0;
    auto [end, err] = std::from_chars(entry.data(), entry.data() + entry.size(), version);
    if (err != std::errc() || end != entry.data() + entry.size() || version <= 0) continue;
    versions.push_back(version);
  }
  std::sort(versions.begin(), versions.end());
  return versions;
}

absl::StatusOr<std::vector<int64_t>> SelectVersions(const inference::ModelConfig& config,
                                                    const std::vector<int64_t>& available) {
  std::vector<int64_t> sorted = available;
  std::sort(sorted.begin(), sorted.end());
  sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
  std::vector<int64_t> selected;
  const auto& policy = config.version_policy();
  if (policy.has_all()) {
    selected = sorted;
  } else if (policy.has_specific()) {
    for (int64_t v : policy.specific().versions()) {
      if (!std::binary_search(sorted.begin(), sorted.end(), v)) {
        return absl::NotFoundError(absl::StrCat("model '", config.name(),
                                                "': version_policy.specific lists version ", v,
                                                ", which has no version folder"));
      }
      selected.push_back(v);
    }
    std::sort(selected.begin(), selected.end());
    selected.erase(std::unique(selected.begin(), selected.end()), selected.end());
  } else {
    size_t n = policy.has_latest() ? policy.latest().num_versions() : 1;
    n = std::max<size_t>(n, 1);
    const size_t skip = sorted.size() > n ? sorted.size() - n : 0;
    selected.assign(sorted.begin() + static_cast<std::ptrdiff_t>(skip), sorted.end());
  }
  if (selected.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("model '", config.name(), "' has no version folders"));
  }
  return selected;
}

}  // namespace inferd
