// SPDX-License-Identifier: Apache-2.0
// The inferd client: one Client type for every transport, chosen by the URL's scheme.
//
//   local://<repository path>   an in-process server over that repository (no network; the
//                               "run the model locally" case and the model-alone baseline)
//
// Network transports (http://, grpc://, ipc://) plug in behind the same API.
//   ipc://<socket path>         a server on this machine through shared memory
//                               (src/client/ipc_transport.h; URL options region_mb, spin_us,
//                               max_spin_us, ring)
//
// Every call is thread-safe; many requests may be in flight at once. Input bytes referenced by a
// request (InferInput::data without an owner) must stay valid until its result is delivered.
#pragma once

#include <functional>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "inferd/infer.h"
#include "inferd/server_types.h"
#include "inferd/shm.h"

namespace inferd {

struct ClientOptions {
  // local://: where backend plugins live (empty: next to the executable) and which models to
  // load ("explicit" control with these names; empty: every model in the repository).
  std::string backend_directory;
  std::vector<std::string> load_models;
};

class ClientTransport;

// Called once per request sent on an InferStream, in completion order, with the request's id (as
// it was sent) and its result. Runs on a transport thread; it must not block for long.
using StreamCallback =
    std::function<void(const std::string& request_id, absl::StatusOr<InferResponse> result)>;

// A bidirectional stream of inference requests (grpc://: ModelStreamInfer). An error on one
// request is delivered for that request; the stream goes on. Thread-safe.
class InferStream {
 public:
  virtual ~InferStream() = default;  // Cancels the stream unless Finish() returned.
  // Queues one request for sending. FAILED_PRECONDITION after Finish(); the stream's error once
  // it has ended.
  virtual absl::Status Write(InferRequest request) = 0;
  // Half-closes the stream, waits until every response arrived and returns its final status.
  virtual absl::Status Finish() = 0;
};

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
  // Over grpc:// an unknown model or version is false (gRPC ModelReady answers so, as Triton's
  // does); http:// and local:// report it as NOT_FOUND.
  absl::StatusOr<bool> IsModelReady(std::string_view model, int64_t version = 0);
  absl::StatusOr<ServerMetadata> GetServerMetadata();
  absl::StatusOr<ModelMetadata> GetModelMetadata(std::string_view model, int64_t version = 0);
  absl::Status LoadModel(std::string_view model);
  absl::Status UnloadModel(std::string_view model);
  absl::StatusOr<std::vector<ModelIndexEntry>> GetRepositoryIndex(bool ready_only = false);
  absl::StatusOr<std::vector<ModelStatistics>> GetModelStatistics(std::string_view model = "",
                                                                 int64_t version = 0);
  // The model's configuration in protobuf text format (config.pbtxt syntax, Triton's
  // ModelConfig schema).
  absl::StatusOr<std::string> GetModelConfig(std::string_view model, int64_t version = 0);
  // Opens a stream of inference requests; UNIMPLEMENTED for transports without streaming.
  absl::StatusOr<std::unique_ptr<InferStream>> StartStream(StreamCallback callback);

  // A tensor buffer to fill before sending: over ipc:// it lies in the connection's shared region,
  // so the server reads the input where the caller wrote it (zero copy); elsewhere, the heap.
  struct InputBuffer {
    InferInput input;           // Points at `data`; input.owner keeps it reserved.
    std::span<std::byte> data;  // Write the tensor here.
  };
  absl::StatusOr<InputBuffer> AllocateInput(std::string name, DataType datatype, Shape shape,
                                            size_t byte_size);

  // Triton's system shared-memory extension (http://, grpc://; see inferd/shm.h). Register maps
  // [offset, offset + byte_size) of POSIX shm object `key` in the server under `name`; an empty
  // name unregisters every region / reports them all.
  absl::Status RegisterSystemSharedMemory(std::string_view name, std::string_view key,
                                          uint64_t byte_size, uint64_t offset = 0);
  absl::Status UnregisterSystemSharedMemory(std::string_view name = "");
  absl::StatusOr<std::vector<SharedMemoryRegionStatus>> GetSystemSharedMemoryStatus(
      std::string_view name = "");

 private:
  explicit Client(std::unique_ptr<ClientTransport> transport);
  std::unique_ptr<ClientTransport> transport_;
};

}  // namespace inferd
