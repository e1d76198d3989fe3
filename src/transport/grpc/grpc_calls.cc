// SPDX-License-Identifier: Apache-2.0
#include "transport/grpc/grpc_calls.h"

#include <atomic>
#include <string>
#include <utility>

#include "core/client_text.h"
#include "core/exception_boundary.h"
#include "fmt/format.h"
#include "inferd/status.h"
#include "server/inference_server.h"
#include "spdlog/spdlog.h"
#include "transport/grpc/grpc_handlers.h"
#include "transport/grpc/infer_codec.h"
#include "transport/shm/shm_region_registry.h"

namespace inferd::grpc_transport {

grpc::Status ToGrpcStatus(const absl::Status& status) {
  if (status.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(GrpcCodeFromStatusCode(status.code())),
                      SafeErrorMessage(std::string(status.message())));
}

void CallContext::RequestIfAccepting(const std::function<void()>& request) {
  absl::MutexLock lock(&mu_);
  if (accepting_) request();
}

void CallContext::StopAccepting() {
  absl::MutexLock lock(&mu_);
  accepting_ = false;
}

void CallContext::Offload(std::function<void()> work) {
  {
    absl::MutexLock lock(&mu_);
    ++offloaded_;
  }
  std::thread([this, work = std::move(work)] {
    work();
    absl::MutexLock lock(&mu_);
    --offloaded_;
  }).detach();
}

void CallContext::WaitForOffloaded() {
  absl::MutexLock lock(&mu_);
  mu_.Await(absl::Condition(
      +[](int* n) { return *n == 0; }, &offloaded_));
}

void CallContext::AddStream() {
  absl::MutexLock lock(&streams_mu_);
  ++streams_;
}

void CallContext::StreamStarted(grpc::ServerContext* stream) {
  absl::MutexLock lock(&streams_mu_);
  started_streams_.insert(stream);
}

void CallContext::ReleaseStream(grpc::ServerContext* stream) {
  absl::MutexLock lock(&streams_mu_);
  --streams_;
  started_streams_.erase(stream);
}

void CallContext::CancelStreams() {
  absl::MutexLock lock(&streams_mu_);
  for (grpc::ServerContext* stream : started_streams_) stream->TryCancel();
}

void CallContext::WaitForStreams(absl::Duration timeout) {
  absl::MutexLock lock(&streams_mu_);
  streams_mu_.AwaitWithTimeout(absl::Condition(
                           +[](int* n) { return *n == 0; }, &streams_),
                       timeout);
}

namespace {

// A unary RPC answered by a Handle* function.
template <typename Request, typename Response>
class UnaryCall final : public Tag {
 public:
  using RequestMethod = void (Service::*)(grpc::ServerContext*, Request*,
                                          grpc::ServerAsyncResponseWriter<Response>*,
                                          grpc::CompletionQueue*, grpc::ServerCompletionQueue*,
                                          void*);
  using Handler = grpc::Status (*)(CallContext&, const Request&, Response&);

  static void Listen(CallContext* context, grpc::ServerCompletionQueue* cq, RequestMethod method,
                     Handler handler, bool offload) {
    context->RequestIfAccepting([&] {
      auto* call = new UnaryCall(context, cq, method, handler, offload);
      (context->service().*method)(&call->server_context_, &call->request_, &call->writer_, cq, cq,
                                   call);
    });
  }

  void Proceed(bool ok) override {
    if (!started_) {
      started_ = true;
      if (!ok) {  // The server is shutting down: no call arrived.
        delete this;
        return;
      }
      Listen(context_, cq_, method_, handler_, offload_);
      if (offload_) {
        context_->Offload([this] { Respond(); });
      } else {
        Respond();
      }
      return;
    }
    delete this;  // The response was sent (or the call was cancelled).
  }

 private:
  UnaryCall(CallContext* context, grpc::ServerCompletionQueue* cq, RequestMethod method,
            Handler handler, bool offload)
      : context_(context), cq_(cq), method_(method), handler_(handler), offload_(offload) {}

  void Respond() {
    grpc::Status status;
    if (absl::Status s = CallCatchingExceptions(
            "handling the call", [&] { status = handler_(*context_, request_, response_); });
        !s.ok()) {
      status = ToGrpcStatus(s);
    }
    if (status.ok()) {
      writer_.Finish(response_, status, this);
    } else {
      writer_.FinishWithError(status, this);
    }
  }

  CallContext* context_;
  grpc::ServerCompletionQueue* cq_;
  RequestMethod method_;
  Handler handler_;
  bool offload_;
  bool started_ = false;
  grpc::ServerContext server_context_;
  Request request_;
  Response response_;
  grpc::ServerAsyncResponseWriter<Response> writer_{&server_context_};
};

// ModelInfer: the request message stays in the call while the model runs (the inputs are views
// into it) and the outputs are written into the response message.
//
// Only small requests may run inline on a completion-queue thread (InferOptions::
// inline_max_input_bytes; the scheduler also limits inline execution to models whose executions
// average at most --inline-execution-max-us). Those threads are also gRPC's pollers: a model moving a large tensor
// there holds up the transport's own work (602,112-byte identity round trips 660-720 µs with the
// hand-off to the instance thread, 910 µs inline), while for a small one the hand-off to the
// instance thread and back is most of the server's time (docs/benchmarks.md, "Requests in
// flight").
constexpr size_t kInlineMaxInputBytes = 64 * 1024;
class InferCall final : public Tag {
 public:
  static void Listen(CallContext* context, grpc::ServerCompletionQueue* cq) {
    context->RequestIfAccepting([&] {
      auto* call = new InferCall(context, cq);
      context->service().RequestModelInfer(&call->server_context_, &call->request_, &call->writer_,
                                           cq, cq, call);
    });
  }

  void Proceed(bool ok) override {
    if (started_) {
      delete this;
      return;
    }
    started_ = true;
    if (!ok) {
      delete this;
      return;
    }
    Listen(context_, cq_);
    absl::Status status = CallCatchingExceptions("handling the call", [&] { return Start(); });
    if (!status.ok()) FinishWithError(status);
  }

 private:
  InferCall(CallContext* context, grpc::ServerCompletionQueue* cq) : context_(context), cq_(cq) {}

  // Decodes the request and hands it to the server; an error before the hand-off is returned.
  absl::Status Start() {
    auto decoded = DecodeInferRequest(request_);
    if (!decoded.ok()) return decoded.status();
    typed_contents_ = decoded->typed_contents;
    // Triton's system shared memory: inputs read from regions, outputs written into them.
    auto allocator = ResolveSharedMemory(context_->shm_registry(), decoded->request,
                                         std::make_shared<ResponseOutputAllocator>(&response_));
    if (!allocator.ok()) return allocator.status();
    shm_outputs_ = SharedMemoryOutputs(decoded->request);
    context_->inference().Infer(
        std::move(decoded->request),
        [this](absl::StatusOr<InferResponse> result) { Complete(std::move(result)); },
        *std::move(allocator),
        InferOptions{.allow_inline = true, .inline_max_input_bytes = kInlineMaxInputBytes});
    return absl::OkStatus();
  }

  // Runs on the instance thread (or here, for a request refused before queueing). The last use
  // of `this`: once Finish is called the call may be deleted.
  void Complete(absl::StatusOr<InferResponse> result) {
    if (finishing_.exchange(true)) return;  // An exception already answered the call.
    absl::Status status = CallCatchingExceptions("encoding the response", [&] {
      if (!result.ok()) return result.status();
      if (shm_outputs_) MarkSharedMemoryOutputs(*shm_outputs_, *result);
      return EncodeInferResponse(*std::move(result), typed_contents_, response_);
    });
    if (!status.ok()) {
      writer_.FinishWithError(ToGrpcStatus(status), this);
      return;
    }
    writer_.Finish(response_, grpc::Status::OK, this);
  }

  // Answers the call with an error unless the completion already did (or is doing so).
  void FinishWithError(const absl::Status& status) {
    if (finishing_.exchange(true)) return;
    writer_.FinishWithError(ToGrpcStatus(status), this);
  }

  CallContext* context_;
  grpc::ServerCompletionQueue* cq_;
  bool started_ = false;
  std::atomic<bool> finishing_{false};  // Set by whichever answers the call first.
  std::shared_ptr<InferRequest> shm_outputs_;  // Outputs written to shared memory, if any.
  bool typed_contents_ = false;
  grpc::ServerContext server_context_;
  inference::ModelInferRequest request_;
  inference::ModelInferResponse response_;
  grpc::ServerAsyncResponseWriter<inference::ModelInferResponse> writer_{&server_context_};
};

// ModelStreamInfer: reads requests one after another and runs each as it arrives; responses are
// written in completion order, one at a time (gRPC allows one outstanding write), from a queue. An
// error on one request becomes that request's error_message and the stream goes on; so does a
// message that is not a ModelInferRequest at all (the method is raw, so a parse failure is ours to
// answer like any failed request, instead of gRPC ending the read side). Every response has the
// parameter triton_final_response: true. The call finishes once the client half-closed, every
// request answered and the queue drained.
//
// Back-pressure: while the responses not yet written (queued, or still running) reach
// StreamLimits::max_pending_responses, or the queued ones' bytes reach max_pending_bytes, the
// stream reads no further request; it reads again as writes complete. A client that never reads
// therefore pins a bounded amount of memory, and HTTP/2 flow control stops its writes.
class StreamCall {
 public:
  static void Listen(CallContext* context, grpc::ServerCompletionQueue* cq) {
    context->RequestIfAccepting([&] {
      auto* call = new StreamCall(context, cq);
      context->service().RequestModelStreamInfer(&call->server_context_, &call->stream_, cq, cq,
                                                 &call->started_op_);
    });
  }

 private:
  using Response = inference::ModelStreamInferResponse;
  struct Op final : Tag {
    Op(StreamCall* c, void (StreamCall::*f)(bool)) : call(c), fn(f) {}
    void Proceed(bool ok) override { (call->*fn)(ok); }
    StreamCall* call;
    void (StreamCall::*fn)(bool);
  };

  StreamCall(CallContext* context, grpc::ServerCompletionQueue* cq)
      : context_(context), cq_(cq), limits_(context->stream_limits()) {
    context_->AddStream();
  }
  ~StreamCall() { context_->ReleaseStream(&server_context_); }

  void OnStarted(bool ok) {
    if (!ok) {
      delete this;
      return;
    }
    context_->StreamStarted(&server_context_);
    Listen(context_, cq_);
    absl::MutexLock lock(&mu_);
    reading_ = true;
    stream_.Read(&incoming_, &read_op_);
  }

  void OnRead(bool ok) {
    if (!ok) {  // The client half-closed or went away.
      bool finish = false;
      {
        absl::MutexLock lock(&mu_);
        reading_ = false;
        reads_done_ = true;
        finish = ShouldFinishLocked();
      }
      if (finish) Finish();
      return;
    }
    grpc::ByteBuffer bytes;
    bytes.Swap(&incoming_);
    {
      absl::MutexLock lock(&mu_);
      ++pending_;  // Counted before it can complete, so the stream cannot finish under it.
    }
    // The exception boundary for one message: it gets an error response and the stream goes on.
    auto answered = std::make_shared<std::atomic<bool>>(false);
    absl::Status status = CallCatchingExceptions(
        "handling the stream message", [&] { Dispatch(std::move(bytes), answered); });
    if (!status.ok() && !answered->exchange(true)) {
      Response response;
      SetError(inference::ModelInferRequest(), status, response);
      Enqueue(response);
    }
    absl::MutexLock lock(&mu_);
    reading_ = false;
    ResumeReadingLocked();
  }

  // Reads the next request unless the client's responses are over the limits, a read is already
  // outstanding, or the read side ended.
  void ResumeReadingLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (reading_ || reads_done_ || finishing_) return;
    const bool too_many = limits_.max_pending_responses > 0 &&
                          pending_ + static_cast<int64_t>(queue_.size()) >=
                              limits_.max_pending_responses;
    const bool too_big = limits_.max_pending_bytes > 0 && queued_bytes_ >= limits_.max_pending_bytes;
    if (!broken_ && (too_many || too_big)) return;
    reading_ = true;
    stream_.Read(&incoming_, &read_op_);
  }

  // Starts one (already counted) request; its response is queued exactly once, by whoever sets
  // `answered` first (this, its completion, or the exception boundary in OnRead).
  void Dispatch(grpc::ByteBuffer bytes, const std::shared_ptr<std::atomic<bool>>& answered) {
    auto message = std::make_shared<inference::ModelInferRequest>();
    auto response = std::make_shared<Response>();
    if (grpc::Status parsed =
            grpc::SerializationTraits<inference::ModelInferRequest>::Deserialize(&bytes,
                                                                                 message.get());
        !parsed.ok()) {
      SetError(inference::ModelInferRequest(),
               absl::InvalidArgumentError(
                   "ModelStreamInfer: a message of the stream is not a valid ModelInferRequest "
                   "(protobuf parse failed); it is answered with this error and the stream goes "
                   "on"),
               *response);
      if (!answered->exchange(true)) Enqueue(*response);
      return;
    }
    auto decoded = DecodeInferRequest(*message);
    if (!decoded.ok()) {
      SetError(*message, decoded.status(), *response);
      if (!answered->exchange(true)) Enqueue(*response);
      return;
    }
    const bool typed = decoded->typed_contents;
    auto allocator = ResolveSharedMemory(
        context_->shm_registry(), decoded->request,
        std::make_shared<ResponseOutputAllocator>(response->mutable_infer_response()));
    if (!allocator.ok()) {
      SetError(*message, allocator.status(), *response);
      if (!answered->exchange(true)) Enqueue(*response);
      return;
    }
    std::shared_ptr<InferRequest> shm_outputs = SharedMemoryOutputs(decoded->request);
    context_->inference().Infer(
        std::move(decoded->request),
        [this, message, response, typed, shm_outputs,
         answered](absl::StatusOr<InferResponse> result) {
          if (answered->exchange(true)) return;  // An exception already answered it.
          absl::Status s = CallCatchingExceptions("encoding the response", [&] {
            if (!result.ok()) return result.status();
            if (shm_outputs) MarkSharedMemoryOutputs(*shm_outputs, *result);
            return EncodeInferResponse(*std::move(result), typed,
                                       *response->mutable_infer_response());
          });
          if (!s.ok()) SetError(*message, s, *response);
          MarkFinal(*response);
          Enqueue(*response);
        },
        *std::move(allocator));
  }

  static void SetError(const inference::ModelInferRequest& request, const absl::Status& status,
                       Response& response) {
    response.Clear();
    response.set_error_message(std::string(status.message()));
    inference::ModelInferResponse* r = response.mutable_infer_response();
    r->set_model_name(request.model_name());
    r->set_model_version(request.model_version());
    r->set_id(request.id());
    // inferd's addition: the status code, so a client can tell failures apart (clients that do
    // not know the parameter read error_message only).
    (*r->mutable_parameters())["error_code"].set_int64_param(GrpcCodeFromStatusCode(status.code()));
    MarkFinal(response);
  }

  // Every stream response carries Triton's `triton_final_response` parameter; each request gets
  // exactly one response (inferd has no decoupled models), so it is always the final one. As in
  // Triton, `triton_enable_empty_final_response` adds no empty response for such models: the
  // flag rides on the response itself (server: src/grpc/stream_infer_handler.cc).
  static void MarkFinal(Response& response) {
    (*response.mutable_infer_response()->mutable_parameters())["triton_final_response"]
        .set_bool_param(true);
  }

  // Serializes the answer to one request (counted in pending_) and queues it for writing. The last
  // use of `this` by the caller: the call may be deleted once this returns.
  void Enqueue(const Response& response) {
    grpc::ByteBuffer bytes;
    bool own_buffer = false;
    if (!grpc::SerializationTraits<Response>::Serialize(response, &bytes, &own_buffer).ok()) {
      Response failed;
      SetError(inference::ModelInferRequest(),
               absl::InternalError("cannot serialize a ModelStreamInferResponse"), failed);
      (void)grpc::SerializationTraits<Response>::Serialize(failed, &bytes, &own_buffer);
    }
    bool finish = false;
    {
      absl::MutexLock lock(&mu_);
      --pending_;
      if (!broken_) {
        queued_bytes_ += static_cast<int64_t>(bytes.Length());
        queue_.push_back(std::move(bytes));
        if (!writing_) {
          writing_ = true;
          stream_.Write(queue_.front(), &write_op_);
        }
      }
      finish = ShouldFinishLocked();
    }
    if (finish) Finish();
  }

  void OnWritten(bool ok) {
    bool finish = false;
    {
      absl::MutexLock lock(&mu_);
      queued_bytes_ -= static_cast<int64_t>(queue_.front().Length());
      queue_.pop_front();
      if (!ok) {  // The client went away: drop what is left.
        broken_ = true;
        queue_.clear();
        queued_bytes_ = 0;
      }
      if (!queue_.empty()) {
        stream_.Write(queue_.front(), &write_op_);
      } else {
        writing_ = false;
      }
      ResumeReadingLocked();
      finish = ShouldFinishLocked();
    }
    if (finish) Finish();
  }

  bool ShouldFinishLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!reads_done_ || pending_ > 0 || writing_ || finishing_) return false;
    finishing_ = true;
    return true;
  }

  void Finish() { stream_.Finish(grpc::Status::OK, &finished_op_); }
  void OnFinished(bool) { delete this; }

  CallContext* context_;
  grpc::ServerCompletionQueue* cq_;
  const StreamLimits limits_;
  grpc::ServerContext server_context_;
  grpc::ServerAsyncReaderWriter<grpc::ByteBuffer, grpc::ByteBuffer> stream_{&server_context_};
  Op started_op_{this, &StreamCall::OnStarted};
  Op read_op_{this, &StreamCall::OnRead};
  Op write_op_{this, &StreamCall::OnWritten};
  Op finished_op_{this, &StreamCall::OnFinished};
  grpc::ByteBuffer incoming_;  // Filled by the outstanding read (only the read path touches it).

  absl::Mutex mu_;
  std::deque<grpc::ByteBuffer> queue_ ABSL_GUARDED_BY(mu_);  // Front: being written.
  int64_t queued_bytes_ ABSL_GUARDED_BY(mu_) = 0;
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool reading_ ABSL_GUARDED_BY(mu_) = false;  // A read is outstanding (or being handled).
  bool reads_done_ ABSL_GUARDED_BY(mu_) = false;
  bool broken_ ABSL_GUARDED_BY(mu_) = false;
  bool finishing_ ABSL_GUARDED_BY(mu_) = false;
  int64_t pending_ ABSL_GUARDED_BY(mu_) = 0;  // Requests read and not yet answered.
};

template <typename Request, typename Response>
void ListenUnary(CallContext* context, grpc::ServerCompletionQueue* cq,
                 typename UnaryCall<Request, Response>::RequestMethod method,
                 grpc::Status (*handler)(CallContext&, const Request&, Response&),
                 bool offload = false) {
  UnaryCall<Request, Response>::Listen(context, cq, method, handler, offload);
}

}  // namespace

void ListenForAllCalls(CallContext* context, grpc::ServerCompletionQueue* cq) {
  using namespace inference;  // NOLINT: message names only.
  InferCall::Listen(context, cq);
  StreamCall::Listen(context, cq);
  ListenUnary(context, cq, &Service::RequestServerLive, &HandleServerLive);
  ListenUnary(context, cq, &Service::RequestServerReady, &HandleServerReady);
  ListenUnary(context, cq, &Service::RequestModelReady, &HandleModelReady);
  ListenUnary(context, cq, &Service::RequestServerMetadata, &HandleServerMetadata);
  ListenUnary(context, cq, &Service::RequestModelMetadata, &HandleModelMetadata);
  ListenUnary(context, cq, &Service::RequestModelConfig, &HandleModelConfig);
  ListenUnary(context, cq, &Service::RequestModelStatistics, &HandleModelStatistics);
  ListenUnary(context, cq, &Service::RequestRepositoryIndex, &HandleRepositoryIndex);
  ListenUnary(context, cq, &Service::RequestRepositoryModelLoad, &HandleRepositoryModelLoad,
              /*offload=*/true);
  ListenUnary(context, cq, &Service::RequestRepositoryModelUnload, &HandleRepositoryModelUnload,
              /*offload=*/true);
  ListenUnary(
      context, cq, &Service::RequestSystemSharedMemoryStatus,
      &HandleSystemSharedMemory<SystemSharedMemoryStatusRequest, SystemSharedMemoryStatusResponse>);
  ListenUnary(context, cq, &Service::RequestSystemSharedMemoryRegister,
              &HandleSystemSharedMemory<SystemSharedMemoryRegisterRequest,
                                        SystemSharedMemoryRegisterResponse>);
  ListenUnary(context, cq, &Service::RequestSystemSharedMemoryUnregister,
              &HandleSystemSharedMemory<SystemSharedMemoryUnregisterRequest,
                                        SystemSharedMemoryUnregisterResponse>);
  ListenUnary(
      context, cq, &Service::RequestCudaSharedMemoryStatus,
      &HandleCudaSharedMemory<CudaSharedMemoryStatusRequest, CudaSharedMemoryStatusResponse>);
  ListenUnary(
      context, cq, &Service::RequestCudaSharedMemoryRegister,
      &HandleCudaSharedMemory<CudaSharedMemoryRegisterRequest, CudaSharedMemoryRegisterResponse>);
  ListenUnary(context, cq, &Service::RequestCudaSharedMemoryUnregister,
              &HandleCudaSharedMemory<CudaSharedMemoryUnregisterRequest,
                                      CudaSharedMemoryUnregisterResponse>);
  ListenUnary(context, cq, &Service::RequestTraceSetting,
              &HandleUnsupportedSetting<TraceSettingRequest, TraceSettingResponse>);
  ListenUnary(context, cq, &Service::RequestLogSettings,
              &HandleUnsupportedSetting<LogSettingsRequest, LogSettingsResponse>);
}

}  // namespace inferd::grpc_transport
