// SPDX-License-Identifier: Apache-2.0
// The inferd client: one Client type for every transport, chosen by the URL's scheme.
//
//   local://<repository path>   an in-process server over that repository (no network; the
//                               "run the model locally" case and the model-alone baseline)
//
// Network transports (http://, grpc://, ipc://) plug in behind the same API.
//
// Every call is thread-safe; many requests may be in flight at once. Input bytes referenced by a
// request (InferInput::data without an owner) must stay valid until its result is delivered.
#pragma once

#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "inferd/infer.h"
#include "inferd/server_types.h"

namespace inferd {

struct ClientOptions {
  // local://: where backend plugins live (empty: next to the executable) and which models to
  // load ("explicit" control with these names; empty: every model in the repository).
  std::string backend_directory;
  std::vector<std::string> load_models;
};

class ClientTransport;

class Client {
 public:
  // INVALID_ARGUMENT for a URL with an unknown scheme; the transport's error when it cannot
  // start or connect.
  static absl::StatusOr<std::unique_ptr<Client>> Create(std::string_view url,
                                                        const ClientOptions& options = {});
  ~Client();

  // Synchronous inference: a wait on the asynchronous path.
  absl::StatusOr<InferResponse> Infer(InferRequest request);
  // Asynchronous inference returning a future.
  std::future<absl::StatusOr<InferResponse>> InferAsync(InferRequest request);
  // Asynchronous inference with a completion callback, run on a transport or server thread; it
  // must not block for long.
  void InferAsync(InferRequest request, InferCallback callback);

  absl::StatusOr<bool> IsServerLive();
  absl::StatusOr<bool> IsServerReady();
  absl::StatusOr<bool> IsModelReady(std::string_view model, int64_t version = 0);
  absl::StatusOr<ServerMetadata> GetServerMetadata();
  absl::StatusOr<ModelMetadata> GetModelMetadata(std::string_view model, int64_t version = 0);
  absl::Status LoadModel(std::string_view model);
  absl::Status UnloadModel(std::string_view model);
  absl::StatusOr<std::vector<ModelIndexEntry>> GetRepositoryIndex(bool ready_only = false);
  absl::StatusOr<std::vector<ModelStatistics>> GetModelStatistics(std::string_view model = "",
                                                                 int64_t version = 0);

 private:
  explicit Client(std::unique_ptr<ClientTransport> transport);
  std::unique_ptr<ClientTransport> transport_;
};

}  // namespace inferd
