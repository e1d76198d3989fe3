// SPDX-License-Identifier: Apache-2.0
// Which models and versions are loaded, and the transitions between those states: load, reload,
// unload, repository polling. The lifecycle does not know what a loaded model is made of; the
// server supplies a ServableFactory that builds one (backend model + scheduler) from a config.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "model_config.pb.h"
#include "repository/model_repository.h"

namespace inferd {

// A loaded model version as the lifecycle sees it.
class Servable {
 public:
  virtual ~Servable() = default;
  // Stops accepting requests and returns when every in-flight request has finished. Called once,
  // by the lifecycle, from a thread that is not one of the servable's own.
  virtual void Drain() = 0;
  // Bytes of memory loading this version added (0 if unknown); logged with the load.
  virtual int64_t MemoryBytes() const { return 0; }
};

struct ServableLocation {
  std::string model_name;
  int64_t version = 0;
  std::string model_dir;
  std::string version_dir;
};

class ServableFactory {
 public:
  virtual ~ServableFactory() = default;
  // Builds a loaded version. Errors name the model and what failed.
  virtual absl::StatusOr<std::shared_ptr<Servable>> Create(const inference::ModelConfig& config,
                                                           const ServableLocation& location) = 0;
};

enum class ModelControlMode { kNone, kPoll, kExplicit };

enum class ModelState { kUnavailable, kLoading, kReady, kUnloading };
std::string_view ModelStateName(ModelState state);  // "READY", "UNAVAILABLE", ...

struct RepositoryIndexEntry {
  std::string name;
  int64_t version = 0;  // 0 when the entry is for a model with no loaded version
  ModelState state = ModelState::kUnavailable;
  std::string reason;  // why it is unavailable (the load error), or empty
};

// A loaded version, as handed to request paths: holding it keeps the version alive.
struct ServableHandle {
  std::shared_ptr<Servable> servable;
  std::shared_ptr<const inference::ModelConfig> config;
  int64_t version = 0;
};

// Thread-safe. Loads and unloads of one model are serialized; requests (Get) never wait on a load.
class ModelLifecycle {
 public:
  ModelLifecycle(ModelRepository repository, ServableFactory* factory);
  ~ModelLifecycle();  // Unloads everything (UnloadAll).

  // Reads the model's config, selects versions by its version_policy, builds every selected
  // version, then swaps them in: versions that stay are replaced by the new build, versions no
  // longer selected are unloaded. If any selected version fails to build, nothing changes for a
  // model already loaded (the old versions keep serving) and the error is returned and recorded
  // as the index reason. Config warnings are logged.
  absl::Status Load(std::string_view name);

  // Makes every version unavailable for new requests and drains it. NOT_FOUND when the model is
  // not loaded. Returns after in-flight requests of the model have finished.
  absl::Status Unload(std::string_view name);

  // Loads every model in the repository (control mode none, and explicit with "*"). Returns the
  // first error after trying them all; models that loaded keep serving.
  absl::Status LoadAll();

  // Polling: loads models added to the repository or whose config or version folders changed,
  // unloads models removed from it. A failed reload keeps the old version serving.
  void Poll();

  void UnloadAll();

  // A ready version: `version` 0 means the highest loaded version. NOT_FOUND "unknown model: 'm'"
  // or "model 'm' has no version 3"; UNAVAILABLE when the model exists in the repository but is
  // not loaded ("model 'm' is not ready: <reason>", the reason being "not loaded", "loading",
  // "unloading", "unloaded" or the last load error). While a loaded model reloads, Get returns
  // its old versions until the swap. A model whose folder left the repository is NOT_FOUND once
  // a poll has unloaded it. Never waits for a load; touches the disk only for a name it has
  // never seen (to tell "not loaded" from "unknown").
  absl::StatusOr<ServableHandle> Get(std::string_view name, int64_t version) const;

  // The config of a loaded model (the highest version's, or the given version's).
  absl::StatusOr<std::shared_ptr<const inference::ModelConfig>> GetConfig(std::string_view name,
                                                                          int64_t version) const;

  // Loaded versions of a model, ascending (empty if none).
  std::vector<int64_t> ReadyVersions(std::string_view name) const;

  // Every model in the repository and every loaded model, with state per version. With
  // `ready_only`, only READY entries.
  std::vector<RepositoryIndexEntry> Index(bool ready_only) const;

  const ModelRepository& repository() const { return repository_; }

 private:
  // What the lifecycle knows of one model. An entry stays after an unload or a failed load (as
  // UNAVAILABLE with its reason) and is erased when the model's folder leaves the repository.
  struct ModelEntry {
    std::map<int64_t, ServableHandle> versions;  // READY versions
    std::vector<int64_t> unloading;              // versions being drained
    bool loading = false;                        // a load is in progress
    std::string reason;                          // why no version is ready ("unloaded", an error)
    std::string fingerprint;                     // repository state at the last load attempt
  };

  absl::Status LoadLocked(std::string_view name) ABSL_EXCLUSIVE_LOCKS_REQUIRED(load_mu_);
  absl::Status UnloadLocked(std::string_view name, bool forget)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(load_mu_);
  // Records a failed load attempt of `name` and returns `error`.
  absl::Status RecordLoadFailure(std::string_view name, std::string fingerprint,
                                 absl::Status error) ABSL_LOCKS_EXCLUDED(mu_);

  ModelRepository repository_;
  ServableFactory* factory_;
  // Serializes Load/Unload/Poll (slow operations); never held by Get.
  absl::Mutex load_mu_ ABSL_ACQUIRED_BEFORE(mu_);
  mutable absl::Mutex mu_;
  std::map<std::string, ModelEntry, std::less<>> models_ ABSL_GUARDED_BY(mu_);
};

}  // namespace inferd
