// SPDX-License-Identifier: Apache-2.0
// The RPC state machines of the gRPC server on the completion-queue API. Private to
// src/transport/grpc/.
//
// Every pointer handed to gRPC as a completion tag is a Tag; a completion-queue thread calls
// Proceed(ok) for each event. A call object deletes itself after its last event.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "grpc_service.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "transport/grpc/grpc_server.h"

namespace inferd {

class InferenceServer;

namespace grpc_transport {

// ModelStreamInfer is served raw (grpc::ByteBuffer in and out): a message that does not parse gets
// an error response instead of ending the stream, and a queued response's size is known.
using Service = inference::GRPCInferenceService::WithRawMethod_ModelStreamInfer<
    inference::GRPCInferenceService::AsyncService>;

// Back-pressure on one ModelStreamInfer stream (GrpcServerOptions::stream_max_pending_*).
struct StreamLimits {
  int max_pending_responses = 256;  // Answered-but-unwritten plus running; 0: no limit.
  int64_t max_pending_bytes = 64 * 1024 * 1024;  // Answered-but-unwritten; 0: no limit.
};

class Tag {
 public:
  virtual ~Tag() = default;
  virtual void Proceed(bool ok) = 0;
};

// absl::Status → grpc::Status, through the one mapping table (GrpcCodeFromStatusCode).
grpc::Status ToGrpcStatus(const absl::Status& status);

// What the call objects need from the server: the service, the inference server, the rule that
// no new call is requested once shutdown began, and threads for slow handlers.
class CallContext {
 public:
  CallContext(InferenceServer* inference, int64_t max_message_bytes,
              ShmRegionRegistry* shm_registry = nullptr, StreamLimits stream_limits = {})
      : inference_(inference),
        max_message_bytes_(max_message_bytes),
        shm_registry_(shm_registry),
        stream_limits_(stream_limits) {}

  Service& service() { return service_; }
  InferenceServer& inference() { return *inference_; }
  int64_t max_message_bytes() const { return max_message_bytes_; }
  ShmRegionRegistry* shm_registry() { return shm_registry_; }  // May be null.
  const StreamLimits& stream_limits() const { return stream_limits_; }

  // Runs `request` (which asks gRPC for the next call) unless shutdown began. Holding the lock
  // across it orders every request before the completion queues shut down.
  void RequestIfAccepting(const std::function<void()>& request) ABSL_LOCKS_EXCLUDED(mu_);
  void StopAccepting() ABSL_LOCKS_EXCLUDED(mu_);

  // Runs `work` on a thread of its own (repository load/unload can take seconds and must not hold
  // a completion-queue thread). WaitForOffloaded() joins them all.
  void Offload(std::function<void()> work) ABSL_LOCKS_EXCLUDED(mu_);
  void WaitForOffloaded() ABSL_LOCKS_EXCLUDED(mu_);

  // Streaming calls alive (requested or running). A cancelled stream still starts its Finish
  // operation, so the completion queues may shut down only once every stream is gone:
  // WaitForStreams() waits for that (at most `timeout`).
  // (Their own lock: a stream is created inside RequestIfAccepting, which holds mu_.)
  void AddStream() ABSL_LOCKS_EXCLUDED(streams_mu_);
  void StreamStarted(grpc::ServerContext* stream) ABSL_LOCKS_EXCLUDED(streams_mu_);
  void ReleaseStream(grpc::ServerContext* stream) ABSL_LOCKS_EXCLUDED(streams_mu_);
  void WaitForStreams(absl::Duration timeout) ABSL_LOCKS_EXCLUDED(streams_mu_);
  // Cancels every started stream (its client sees CANCELLED); their calls then end as usual.
  void CancelStreams() ABSL_LOCKS_EXCLUDED(streams_mu_);

 private:
  Service service_;
  InferenceServer* inference_;
  int64_t max_message_bytes_;
  ShmRegionRegistry* shm_registry_;
  const StreamLimits stream_limits_;
  absl::Mutex mu_;
  bool accepting_ ABSL_GUARDED_BY(mu_) = true;
  int offloaded_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Mutex streams_mu_;
  int streams_ ABSL_GUARDED_BY(streams_mu_) = 0;
  absl::flat_hash_set<grpc::ServerContext*> started_streams_ ABSL_GUARDED_BY(streams_mu_);
};

// Asks for the first call of every RPC on `cq`; each call asks for its successor when it starts.
void ListenForAllCalls(CallContext* context, grpc::ServerCompletionQueue* cq);

}  // namespace grpc_transport
}  // namespace inferd
