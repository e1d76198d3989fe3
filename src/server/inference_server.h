// SPDX-License-Identifier: Apache-2.0
// InferenceServer: the one facade every transport calls. It owns the model lifecycle, the backend
// loader and the repository poller; it validates requests against their model's config and hands
// them to the model's scheduler. Every method is thread-safe.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "backends/backend_loader.h"
#include "inferd/infer.h"
#include "inferd/server_types.h"
#include "model_config.pb.h"
#include "repository/model_lifecycle.h"
#include "server/loaded_model.h"

namespace inferd {

struct ServerOptions {
  std::string model_repository;
  ModelControlMode control_mode = ModelControlMode::kNone;
  // Explicit mode: models to load at start-up ("*" loads all).
  std::vector<std::string> startup_models;
  // Poll mode: seconds between repository scans (> 0).
  int repository_poll_secs = 15;
  // Fail Create when a model fails to load at start-up (tritonserver's --exit-on-error).
  bool exit_on_error = true;
  std::string backend_directory;  // Empty: next to the executable (see BackendLoaderOptions).
  // A request whose transport allows it (InferOptions::allow_inline) runs on the transport's
  // thread when its model (without dynamic batching) has an idle instance, nothing queued, and
  // recent executions of at most this many microseconds: it saves two thread hand-offs, which
  // cost more than such a model. 0 turns it off (--inline-execution-max-us).
  int inline_execution_max_us = 100;
  // Every model's queue bound unless its config sets one (parameters { key: "max_queue_size" } or
  // dynamic_batching's queue policies): a request arriving at a full queue is refused at once with
  // RESOURCE_EXHAUSTED. 0: unbounded (--max-queue-size-default).
  int64_t max_queue_size_default = 256;
};

// How a transport lets Infer run a request.
struct InferOptions {
  // The callback may run on the calling thread before Infer returns, after the model executed
  // there (see ServerOptions::inline_execution_max_us). Only for callers whose callback does not
  // wait for anything the calling thread holds.
  bool allow_inline = false;
  // With allow_inline: only a request whose inputs total at most this many bytes runs inline
  // (0: any size). gRPC sets it because its completion-queue threads are also its pollers, and a
  // model copying a large tensor there holds up the transport's own I/O.
  size_t inline_max_input_bytes = 0;
};

class InferenceServer {
 public:
  // Opens the repository and loads the start-up models for the control mode. Errors: NOT_FOUND for
  // a missing repository; the first model's load error when exit_on_error; INVALID_ARGUMENT for
  // inconsistent options.
  static absl::StatusOr<std::unique_ptr<InferenceServer>> Create(ServerOptions options);
  ~InferenceServer();  // Shutdown().

  // Asynchronous inference: validates, enqueues and returns; `callback` runs exactly once, on an
  // instance thread or (for requests refused before queueing, or run inline when
  // options.allow_inline) on the calling thread. `allocator` places outputs; null means heap
  // buffers owned by the response.
  void Infer(InferRequest request, InferCallback callback,
             std::shared_ptr<OutputAllocator> allocator = nullptr, InferOptions options = {});

  bool IsLive() const;
  // Live, not draining or shutting down, and every model that was asked to load at start-up is
  // ready.
  bool IsReady() const;
  // OK(true/false) for a model in the repository; NOT_FOUND for an unknown model or version.
  absl::StatusOr<bool> IsModelReady(std::string_view name, int64_t version) const;

  ServerMetadata Metadata() const;
  absl::StatusOr<ModelMetadata> GetModelMetadata(std::string_view name, int64_t version) const;
  absl::StatusOr<std::shared_ptr<const inference::ModelConfig>> GetModelConfig(
      std::string_view name, int64_t version) const;

  // Repository extension. FAILED_PRECONDITION in control mode none.
  absl::Status LoadModel(std::string_view name);
  absl::Status UnloadModel(std::string_view name);
  std::vector<ModelIndexEntry> RepositoryIndex(bool ready_only) const;

  // Statistics of every loaded version (empty name), of a model's loaded versions, or of one
  // version. NOT_FOUND for an unknown model or version.
  absl::StatusOr<std::vector<ModelStatistics>> Statistics(std::string_view name,
                                                          int64_t version) const;

  // The first step of a graceful stop (SIGTERM): readiness goes false so load balancers stop
  // routing here, while requests are still accepted and served as usual (some are still routed
  // here until the endpoint change has spread). Idempotent; BeginShutdown follows.
  void BeginDrain();
  // Readiness goes false and new requests are refused with UNAVAILABLE; requests already
  // accepted keep running. Idempotent.
  void BeginShutdown();
  // BeginShutdown, stop polling, and unload every model once its in-flight requests finished.
  void Shutdown();

  const ServerOptions& options() const { return options_; }
  const BackendLoader& backend_loader() const { return *loader_; }

 private:
  InferenceServer(ServerOptions options, ModelRepository repository);
  absl::Status LoadStartupModels();
  // Infer, with `retries_left` re-dispatches for a request that a version being replaced refused
  // before running it (a reload swapped versions between lookup and enqueue).
  void Dispatch(InferRequest request, InferCallback callback,
                std::shared_ptr<OutputAllocator> allocator, InferOptions options,
                int64_t received_ns, int retries_left);
  void PollLoop();

  ServerOptions options_;
  std::unique_ptr<BackendLoader> loader_;
  std::unique_ptr<ModelVersionFactory> factory_;
  std::unique_ptr<ModelLifecycle> lifecycle_;  // Destroyed before the factory and loader.
  std::atomic<bool> draining_{false};
  std::atomic<bool> shutting_down_{false};
  bool startup_ok_ = false;  // Every start-up model loaded; written only in Create.

  absl::Mutex poll_mu_;
  bool stop_polling_ ABSL_GUARDED_BY(poll_mu_) = false;
  std::thread poll_thread_;
};

}  // namespace inferd
