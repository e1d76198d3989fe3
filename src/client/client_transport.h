// SPDX-License-Identifier: Apache-2.0
// What a client transport implements; Client forwards to it. Implementations are thread-safe.
#pragma once

#include <memory>
#include <string_view>

#include "inferd/client.h"

namespace inferd {

class ClientTransport {
 public:
  virtual ~ClientTransport() = default;
  // Runs `callback` exactly once with the result.
  virtual void InferAsync(InferRequest request, InferCallback callback) = 0;
  virtual absl::StatusOr<bool> IsServerLive() = 0;
  virtual absl::StatusOr<bool> IsServerReady() = 0;
  virtual absl::StatusOr<bool> IsModelReady(std::string_view model, int64_t version) = 0;
  virtual absl::StatusOr<ServerMetadata> GetServerMetadata() = 0;
  virtual absl::StatusOr<ModelMetadata> GetModelMetadata(std::string_view model,
                                                         int64_t version) = 0;
  virtual absl::Status LoadModel(std::string_view model) = 0;
  virtual absl::Status UnloadModel(std::string_view model) = 0;
  virtual absl::StatusOr<std::vector<ModelIndexEntry>> GetRepositoryIndex(bool ready_only) = 0;
  virtual absl::StatusOr<std::vector<ModelStatistics>> GetModelStatistics(std::string_view model,
                                                                          int64_t version) = 0;
};

// local://<repository path>: an in-process InferenceServer.
absl::StatusOr<std::unique_ptr<ClientTransport>> CreateLocalTransport(std::string_view path,
                                                                      const ClientOptions& options);

}  // namespace inferd
