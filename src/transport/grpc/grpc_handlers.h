// SPDX-License-Identifier: Apache-2.0
// Handlers of the unary RPCs other than ModelInfer: each turns a request message into calls on
// the InferenceServer and fills the response message. They run on a completion-queue thread
// (load/unload on a thread of their own) and never block on inference.
#pragma once

#include "grpc_service.pb.h"
#include "grpcpp/support/status.h"
#include "transport/grpc/grpc_calls.h"

namespace inferd::grpc_transport {

grpc::Status HandleServerLive(CallContext& c, const inference::ServerLiveRequest& request,
                              inference::ServerLiveResponse& response);
grpc::Status HandleServerReady(CallContext& c, const inference::ServerReadyRequest& request,
                               inference::ServerReadyResponse& response);
grpc::Status HandleModelReady(CallContext& c, const inference::ModelReadyRequest& request,
                              inference::ModelReadyResponse& response);
grpc::Status HandleServerMetadata(CallContext& c, const inference::ServerMetadataRequest& request,
                                  inference::ServerMetadataResponse& response);
grpc::Status HandleModelMetadata(CallContext& c, const inference::ModelMetadataRequest& request,
                                 inference::ModelMetadataResponse& response);
grpc::Status HandleModelConfig(CallContext& c, const inference::ModelConfigRequest& request,
                               inference::ModelConfigResponse& response);
grpc::Status HandleModelStatistics(CallContext& c, const inference::ModelStatisticsRequest& request,
                                   inference::ModelStatisticsResponse& response);
grpc::Status HandleRepositoryIndex(CallContext& c, const inference::RepositoryIndexRequest& request,
                                   inference::RepositoryIndexResponse& response);
grpc::Status HandleRepositoryModelLoad(CallContext& c,
                                       const inference::RepositoryModelLoadRequest& request,
                                       inference::RepositoryModelLoadResponse& response);
grpc::Status HandleRepositoryModelUnload(CallContext& c,
                                         const inference::RepositoryModelUnloadRequest& request,
                                         inference::RepositoryModelUnloadResponse& response);

// System shared memory (grpc_shm.cc), on the registry shared with the HTTP transport.
grpc::Status SystemSharedMemory(CallContext& c,
                                const inference::SystemSharedMemoryStatusRequest& request,
                                inference::SystemSharedMemoryStatusResponse& response);
grpc::Status SystemSharedMemory(CallContext& c,
                                const inference::SystemSharedMemoryRegisterRequest& request,
                                inference::SystemSharedMemoryRegisterResponse& response);
grpc::Status SystemSharedMemory(CallContext& c,
                                const inference::SystemSharedMemoryUnregisterRequest& request,
                                inference::SystemSharedMemoryUnregisterResponse& response);
template <typename Request, typename Response>
grpc::Status HandleSystemSharedMemory(CallContext& c, const Request& request, Response& response) {
  return SystemSharedMemory(c, request, response);
}
// CUDA shared memory: UNIMPLEMENTED, inferd is built without GPU support.
template <typename Request, typename Response>
grpc::Status HandleCudaSharedMemory(CallContext&, const Request&, Response&) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                      "CUDA shared memory is not supported: inferd is built without GPU support");
}
template <typename Request, typename Response>
grpc::Status HandleUnsupportedSetting(CallContext&, const Request&, Response&) {
  return grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                      "trace and log settings cannot be changed through inferd's gRPC API; use "
                      "the --log-* flags");
}

}  // namespace inferd::grpc_transport
