// SPDX-License-Identifier: Apache-2.0
// The gRPC transport: inference.GRPCInferenceService (KServe v2 with Triton's extensions) on
// grpc++'s asynchronous completion-queue API, in front of an InferenceServer.
//
// Each completion-queue thread runs the RPC state machines; ModelInfer hands the request to
// InferenceServer::Infer and answers from the instance thread that completes it, so no gRPC thread
// waits on a model. Repository load/unload run on a short-lived thread of their own. gRPC types
// do not leave src/transport/grpc/.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"

namespace inferd {

class InferenceServer;
class ShmRegionRegistry;

struct GrpcServerOptions {
  std::string address = "0.0.0.0";
  int port = 8001;  // 0: any free port (port() says which).
  // Largest request or response message accepted or sent. The default holds a batch of 64
  // ResNet50 inputs (64 × 602,112 bytes) with room for the message's other fields.
  int64_t max_message_bytes = 48 * 1024 * 1024;
  // Completion queues, each with its polling thread; 0: one per CPU the process may run on.
  int completion_queue_threads = 0;
  // Back-pressure on ModelStreamInfer: a stream stops reading requests while this many responses
  // (answered or still running) wait to be written, or this many bytes of answered ones; it
  // resumes as writes complete. 0: no limit.
  int stream_max_pending_responses = 256;
  int64_t stream_max_pending_bytes = 64 * 1024 * 1024;
  // How long Stop() lets open streams and calls finish before cancelling them.
  int shutdown_grace_ms = 2000;
  InferenceServer* server = nullptr;  // Not owned; must outlive the GrpcServer.
  // Triton's system shared-memory extension (null: its RPCs and parameters are refused).
  ShmRegionRegistry* shm_registry = nullptr;
};

class GrpcServer {
 public:
  // Binds and starts serving. INVALID_ARGUMENT for bad options; UNAVAILABLE when the address
  // cannot be bound.
  static absl::StatusOr<std::unique_ptr<GrpcServer>> Create(GrpcServerOptions options);
  ~GrpcServer();  // Stop().

  // The port actually bound.
  int port() const;
  // Stops accepting calls, lets open calls finish within the grace period (then cancels them),
  // and joins the threads. Call after InferenceServer::Shutdown(), so every in-flight request has
  // answered. Idempotent.
  void Stop();
  // Ends every open ModelStreamInfer stream (its client sees CANCELLED), so that a Stop() running
  // on another thread does not wait out its grace period for clients that keep idle streams
  // open. Call once every accepted request has been answered (InferenceServer::Shutdown()).
  void CancelStreams();

  class Impl;

 private:
  explicit GrpcServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace inferd
