// SPDX-License-Identifier: Apache-2.0
// What a client transport implements; Client forwards to it. Implementations are thread-safe.
#pragma once

#include <future>
#include <memory>
#include <string_view>

#include "inferd/client.h"

namespace inferd {

class ClientTransport {
 public:
  virtual ~ClientTransport() = default;
  // Runs `callback` exactly once with the result.
  virtual void InferAsync(InferRequest request, InferCallback callback) = 0;
  // InferAsync, waited for. A transport may wait its own way (ipc:// spins briefly first; http://
  // does the socket I/O of an idle connection on the waiting thread), but sends the same request
  // and decodes the same response as InferAsync.
  virtual absl::StatusOr<InferResponse> Infer(InferRequest request) {
    std::promise<absl::StatusOr<InferResponse>> promise;
    auto future = promise.get_future();
    InferAsync(std::move(request), [&promise](absl::StatusOr<InferResponse> result) {
      promise.set_value(std::move(result));
    });
    return future.get();
  }
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
  virtual absl::StatusOr<std::string> GetModelConfig(std::string_view /*model*/,
                                                     int64_t /*version*/) {
    return absl::UnimplementedError("this client transport cannot fetch model configurations");
  }
  virtual absl::StatusOr<std::unique_ptr<InferStream>> StartStream(StreamCallback /*callback*/) {
    return absl::UnimplementedError("this client transport has no streaming mode; use grpc://");
  }
  // Triton's system shared-memory extension; only http:// and grpc:// have it.
  virtual absl::Status RegisterSystemSharedMemory(std::string_view /*name*/,
                                                  std::string_view /*key*/, uint64_t /*byte_size*/,
                                                  uint64_t /*offset*/) {
    return NoSystemSharedMemory();
  }
  virtual absl::Status UnregisterSystemSharedMemory(std::string_view /*name*/) {
    return NoSystemSharedMemory();
  }
  virtual absl::StatusOr<std::vector<SharedMemoryRegionStatus>> GetSystemSharedMemoryStatus(
      std::string_view /*name*/) {
    return NoSystemSharedMemory();
  }
  static absl::Status NoSystemSharedMemory() {
    return absl::UnimplementedError(
        "this client transport has no system shared-memory extension; use http:// or grpc://");
  }
  // Writable memory for a tensor the caller fills and then sends; a transport that can send it
  // without a copy (ipc://: its shared region) hands out its own. Default: the heap.
  virtual absl::StatusOr<OutputBuffer> AllocateTensor(size_t byte_size) {
    auto storage = std::make_shared<std::vector<std::byte>>(byte_size);
    return OutputBuffer{storage->data(), storage};
  }
};

// grpc://host[:port] (default port 8001): inference.GRPCInferenceService.
absl::StatusOr<std::unique_ptr<ClientTransport>> CreateGrpcTransport(std::string_view target,
                                                                     const ClientOptions& options);

// local://<repository path>: an in-process InferenceServer.
absl::StatusOr<std::unique_ptr<ClientTransport>> CreateLocalTransport(std::string_view path,
                                                                      const ClientOptions& options);

}  // namespace inferd
