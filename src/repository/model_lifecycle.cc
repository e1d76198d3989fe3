// SPDX-License-Identifier: Apache-2.0
#include "repository/model_lifecycle.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>
#include <system_error>
#include <tuple>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "core/client_text.h"
#include "repository/config_autocomplete.h"
#include "repository/model_config.h"
#include "repository/onnx_autocomplete.h"
#include "spdlog/spdlog.h"

namespace inferd {
namespace fs = std::filesystem;
namespace {

// absl here is built with its own string_view; std::string_view does not convert implicitly.
absl::string_view Sv(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// A string that changes when anything a load reads changes: config.pbtxt's content and, for
// every other file under the model folder (version folders, label files), its path, size and
// modification time. Hidden files and folders (editor swap files, .git) are skipped.
std::string Fingerprint(const std::string& model_dir) {
  std::string fp = "config:";
  {
    std::ifstream config(model_dir + "/config.pbtxt", std::ios::binary);
    if (config) {
      fp.append(std::istreambuf_iterator<char>(config), std::istreambuf_iterator<char>());
    } else {
      fp += "<missing>";
    }
  }
  std::vector<std::string> entries;
  std::error_code ec;
  fs::recursive_directory_iterator it(model_dir, fs::directory_options::skip_permission_denied, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const fs::path& path = it->path();
    const std::string filename = path.filename().string();
    if (!filename.empty() && filename.front() == '.') {
      it.disable_recursion_pending();
      continue;
    }
    std::string rel = path.lexically_relative(model_dir).string();
    if (rel == "config.pbtxt") continue;
    std::error_code entry_ec;
    if (it->is_regular_file(entry_ec)) {
      const auto size = it->file_size(entry_ec);
      const auto mtime = it->last_write_time(entry_ec).time_since_epoch().count();
      entries.push_back(absl::StrCat(rel, "|", size, "|", mtime));
    } else {
      entries.push_back(absl::StrCat(rel, "/"));
    }
  }
  if (ec) entries.push_back(absl::StrCat("<error ", ec.message(), ">"));
  std::sort(entries.begin(), entries.end());
  for (const std::string& entry : entries) absl::StrAppend(&fp, "\n", entry);
  return fp;
}

}  // namespace

std::string_view ModelStateName(ModelState state) {
  switch (state) {
    case ModelState::kUnavailable:
      return "UNAVAILABLE";
    case ModelState::kLoading:
      return "LOADING";
    case ModelState::kReady:
      return "READY";
    case ModelState::kUnloading:
      return "UNLOADING";
  }
  return "UNAVAILABLE";
}

ModelLifecycle::ModelLifecycle(ModelRepository repository, ServableFactory* factory)
    : repository_(std::move(repository)), factory_(factory) {}

ModelLifecycle::~ModelLifecycle() { UnloadAll(); }

absl::Status ModelLifecycle::Load(std::string_view name) {
  absl::MutexLock lock(&load_mu_);
  return LoadLocked(name);
}

absl::Status ModelLifecycle::LoadLocked(std::string_view name) {
  absl::StatusOr<std::string> dir = repository_.ModelDir(name);
  if (!dir.ok()) return dir.status();
  // Taken before reading, so that an edit made during the load is seen by the next poll.
  std::string fingerprint = Fingerprint(*dir);
  {
    absl::MutexLock lock(&mu_);
    models_.try_emplace(std::string(name)).first->second.loading = true;
  }

  absl::StatusOr<std::vector<int64_t>> available = repository_.ListVersions(name);
  absl::StatusOr<ParsedModelConfig> parsed = ReadModelConfig(*dir, name);
  if (absl::IsNotFound(parsed.status()) && available.ok() && !available->empty() &&
      std::filesystem::exists(absl::StrCat(*dir, "/", available->back(), "/model.onnx"))) {
    // No config.pbtxt beside an ONNX model: Triton's auto-complete makes the whole config.
    parsed = ParsedModelConfig{};
    parsed->config.set_name(std::string(name));
    parsed->config.set_backend("onnxruntime");
    spdlog::info("model '{}': no config.pbtxt; completing the config from model.onnx", name);
  }
  if (!parsed.ok()) return RecordLoadFailure(name, std::move(fingerprint), parsed.status());
  for (const std::string& warning : parsed->warnings) spdlog::warn("{}", warning);
  if (!available.ok()) return RecordLoadFailure(name, std::move(fingerprint), available.status());
  // Triton's defaults: the config the model runs with is the config the API serves.
  CompleteModelConfig(parsed->config);
  if (IsOnnxRuntimeConfig(parsed->config) &&
      (parsed->config.input().empty() || parsed->config.output().empty())) {
    // Inputs and outputs from the latest version's model file, then the defaults and checks
    // again for what that added.
    const std::string file = absl::StrCat(
        *dir, "/", available->empty() ? int64_t{1} : available->back(), "/",
        parsed->config.default_model_filename());
    absl::Status completed = CompleteOnnxTensors(parsed->config, file);
    if (completed.ok()) {
      CompleteModelConfig(parsed->config);
      completed = ValidateModelConfig(parsed->config);
    }
    if (!completed.ok()) return RecordLoadFailure(name, std::move(fingerprint), completed);
  }
  absl::StatusOr<std::vector<int64_t>> selected = SelectVersions(parsed->config, *available);
  if (!selected.ok()) return RecordLoadFailure(name, std::move(fingerprint), selected.status());

  auto config = std::make_shared<const inference::ModelConfig>(std::move(parsed->config));
  std::map<int64_t, ServableHandle> built;
  for (int64_t version : *selected) {
    ServableLocation location{std::string(name), version, *dir, absl::StrCat(*dir, "/", version)};
    const auto start = std::chrono::steady_clock::now();
    absl::StatusOr<std::shared_ptr<Servable>> servable = factory_->Create(*config, location);
    if (servable.ok() && *servable == nullptr) {
      servable = absl::InternalError(absl::StrCat("model ", QuoteClientText(name), " version ",
                                                  version, ": the factory returned no model"));
    }
    if (!servable.ok()) {
      // The new build is abandoned; what was built of it never served a request.
      for (auto& [v, handle] : built) handle.servable->Drain();
      return RecordLoadFailure(name, std::move(fingerprint), servable.status());
    }
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                        std::chrono::steady_clock::now() - start)
                        .count();
    spdlog::info("loaded model '{}' version {} in {} ms, memory {:.1f} MiB", name, version, ms,
                 static_cast<double>((*servable)->MemoryBytes()) / (1 << 20));
    built[version] = ServableHandle{std::move(*servable), config, version};
  }

  // Swap: from here new requests get the new versions. The replaced ones drain outside the lock.
  std::vector<ServableHandle> replaced;
  std::set<int64_t> dropped;
  {
    absl::MutexLock lock(&mu_);
    ModelEntry& entry = models_[std::string(name)];
    for (auto& [version, handle] : entry.versions) {
      if (!built.contains(version)) {
        dropped.insert(version);
        entry.unloading.push_back(version);
      }
      replaced.push_back(std::move(handle));
    }
    entry.versions = std::move(built);
    entry.loading = false;
    entry.reason.clear();
    entry.fingerprint = std::move(fingerprint);
  }
  for (ServableHandle& handle : replaced) {
    handle.servable->Drain();
    if (dropped.contains(handle.version)) {
      spdlog::info("unloaded model '{}' version {} (no longer selected)", name, handle.version);
    }
  }
  if (!dropped.empty()) {
    absl::MutexLock lock(&mu_);
    if (auto it = models_.find(name); it != models_.end()) it->second.unloading.clear();
  }
  return absl::OkStatus();
}

absl::Status ModelLifecycle::RecordLoadFailure(std::string_view name, std::string fingerprint,
                                               absl::Status error) {
  bool still_serving = false;
  {
    absl::MutexLock lock(&mu_);
    ModelEntry& entry = models_[std::string(name)];
    entry.loading = false;
    entry.reason = std::string(error.message());
    entry.fingerprint = std::move(fingerprint);
    still_serving = !entry.versions.empty();
  }
  if (still_serving) {
    spdlog::error("reloading model '{}' failed; the loaded versions keep serving: {}", name,
                  std::string(error.message()));
  } else {
    spdlog::error("loading model '{}' failed: {}", name, std::string(error.message()));
  }
  return error;
}

absl::Status ModelLifecycle::Unload(std::string_view name) {
  absl::MutexLock lock(&load_mu_);
  return UnloadLocked(name, /*forget=*/false);
}

absl::Status ModelLifecycle::UnloadLocked(std::string_view name, bool forget) {
  std::map<int64_t, ServableHandle> victims;
  {
    absl::MutexLock lock(&mu_);
    auto it = models_.find(name);
    if (it == models_.end() || it->second.versions.empty()) {
      if (forget && it != models_.end()) models_.erase(it);
      return absl::NotFoundError(absl::StrCat("model ", QuoteClientText(name), " is not loaded"));
    }
    ModelEntry& entry = it->second;
    victims = std::move(entry.versions);
    entry.versions.clear();
    for (const auto& [version, handle] : victims) entry.unloading.push_back(version);
    entry.reason = "unloaded";
  }
  for (auto& [version, handle] : victims) {
    handle.servable->Drain();
    spdlog::info("unloaded model '{}' version {}", name, version);
  }
  {
    absl::MutexLock lock(&mu_);
    if (auto it = models_.find(name); it != models_.end()) {
      if (forget) {
        models_.erase(it);
      } else {
        it->second.unloading.clear();
      }
    }
  }
  return absl::OkStatus();
}

absl::Status ModelLifecycle::LoadAll() {
  absl::MutexLock lock(&load_mu_);
  absl::StatusOr<std::vector<std::string>> names = repository_.ListModels();
  if (!names.ok()) return names.status();
  absl::Status first;
  for (const std::string& name : *names) {
    absl::Status status = LoadLocked(name);
    if (first.ok()) first = status;
  }
  return first;
}

void ModelLifecycle::Poll() {
  absl::MutexLock lock(&load_mu_);
  absl::StatusOr<std::vector<std::string>> names = repository_.ListModels();
  if (!names.ok()) {
    // A transient listing error must not unload every model.
    spdlog::error("repository poll skipped: {}", std::string(names.status().message()));
    return;
  }
  const std::set<std::string, std::less<>> on_disk(names->begin(), names->end());
  std::map<std::string, std::string, std::less<>> known;  // name → fingerprint
  {
    absl::ReaderMutexLock reader(&mu_);
    for (const auto& [name, entry] : models_) known.emplace(name, entry.fingerprint);
  }
  for (const auto& [name, fingerprint] : known) {
    if (on_disk.contains(name)) continue;
    spdlog::info("model '{}' was removed from the repository", name);
    (void)UnloadLocked(name, /*forget=*/true);
  }
  for (const std::string& name : *names) {
    auto it = known.find(name);
    if (it != known.end()) {
      absl::StatusOr<std::string> dir = repository_.ModelDir(name);
      if (!dir.ok() || Fingerprint(*dir) == it->second) continue;
      spdlog::info("model '{}' changed in the repository; reloading", name);
    }
    (void)LoadLocked(name);  // failures are logged and recorded in the index
  }
}

void ModelLifecycle::UnloadAll() {
  absl::MutexLock lock(&load_mu_);
  std::vector<std::string> loaded;
  {
    absl::ReaderMutexLock reader(&mu_);
    for (const auto& [name, entry] : models_) {
      if (!entry.versions.empty()) loaded.push_back(name);
    }
  }
  for (const std::string& name : loaded) (void)UnloadLocked(name, /*forget=*/false);
}

absl::StatusOr<ServableHandle> ModelLifecycle::Get(std::string_view name, int64_t version) const {
  {
    absl::ReaderMutexLock lock(&mu_);
    auto it = models_.find(name);
    if (it != models_.end()) {
      const ModelEntry& entry = it->second;
      if (!entry.versions.empty()) {
        if (version == 0) return entry.versions.rbegin()->second;
        auto v = entry.versions.find(version);
        if (v != entry.versions.end()) return v->second;
        return absl::NotFoundError(
            absl::StrCat("model ", QuoteClientText(name), " has no version ", version));
      }
      std::string_view reason = entry.reason;
      if (entry.loading) {
        reason = "loading";
      } else if (!entry.unloading.empty()) {
        reason = "unloading";
      }
      return absl::UnavailableError(absl::StrCat("model ", QuoteClientText(name), " is not ready",
                                                 reason.empty() ? "" : ": ", Sv(reason)));
    }
  }
  // Not known to the lifecycle: a model folder never loaded (explicit mode) or no model at all.
  if (repository_.ModelDir(name).ok()) {
    return absl::UnavailableError(
        absl::StrCat("model ", QuoteClientText(name), " is not ready: not loaded"));
  }
  return absl::NotFoundError(absl::StrCat("unknown model: ", QuoteClientText(name)));
}

absl::StatusOr<std::shared_ptr<const inference::ModelConfig>> ModelLifecycle::GetConfig(
    std::string_view name, int64_t version) const {
  absl::StatusOr<ServableHandle> handle = Get(name, version);
  if (!handle.ok()) return handle.status();
  return handle->config;
}

std::vector<int64_t> ModelLifecycle::ReadyVersions(std::string_view name) const {
  std::vector<int64_t> versions;
  absl::ReaderMutexLock lock(&mu_);
  if (auto it = models_.find(name); it != models_.end()) {
    for (const auto& [version, handle] : it->second.versions) versions.push_back(version);
  }
  return versions;
}

std::vector<RepositoryIndexEntry> ModelLifecycle::Index(bool ready_only) const {
  std::vector<std::string> on_disk;
  if (!ready_only) {
    absl::StatusOr<std::vector<std::string>> names = repository_.ListModels();
    if (names.ok()) on_disk = std::move(*names);
  }
  std::vector<RepositoryIndexEntry> index;
  {
    absl::ReaderMutexLock lock(&mu_);
    for (const auto& [name, entry] : models_) {
      for (const auto& [version, handle] : entry.versions) {
        index.push_back({name, version, ModelState::kReady, ""});
      }
      for (int64_t version : entry.unloading) {
        index.push_back({name, version, ModelState::kUnloading, ""});
      }
      if (entry.versions.empty() && entry.unloading.empty()) {
        if (entry.loading) {
          index.push_back({name, 0, ModelState::kLoading, ""});
        } else {
          index.push_back({name, 0, ModelState::kUnavailable, entry.reason});
        }
      }
    }
    for (const std::string& name : on_disk) {
      if (!models_.contains(name)) index.push_back({name, 0, ModelState::kUnavailable, ""});
    }
  }
  if (ready_only) {
    std::erase_if(index,
                  [](const RepositoryIndexEntry& e) { return e.state != ModelState::kReady; });
  }
  std::sort(index.begin(), index.end(), [](const auto& a, const auto& b) {
    return std::tie(a.name, a.version) < std::tie(b.name, b.version);
  });
  return index;
}

}  // namespace inferd
