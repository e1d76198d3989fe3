// SPDX-License-Identifier: Apache-2.0
// grpc://host[:port]: the client side of inference.GRPCInferenceService.
//
// Inference uses grpc++'s callback API (no thread of ours waits on a request); the other RPCs are
// blocking calls. Input bytes are copied once, into the request message; output tensors are views
// into the response message, which the InferResponse's outputs keep alive.
#include <algorithm>
#include <deque>
#include <memory>
#include <string>

#include "absl/synchronization/mutex.h"
#include "client/client_transport.h"
#include "fmt/format.h"
#include "google/protobuf/text_format.h"
#include "grpc_service.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "transport/grpc/http2_tuning.h"
#include "transport/grpc/infer_codec.h"

namespace inferd {
namespace {

using inference::GRPCInferenceService;

absl::Status FromGrpc(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

std::string VersionString(int64_t version) { return version > 0 ? std::to_string(version) : ""; }

void EncodeRequest(const InferRequest& request, inference::ModelInferRequest& message) {
  message.set_model_name(request.model_name);
  message.set_model_version(VersionString(request.model_version));
  message.set_id(request.id);
  grpc_transport::EncodeParameters(request.parameters, *message.mutable_parameters());
  for (const InferInput& in : request.inputs) {
    auto* tensor = message.add_inputs();
    tensor->set_name(in.name);
    tensor->set_datatype(std::string(DataTypeName(in.datatype)));
    for (int64_t d : in.shape) tensor->add_shape(d);
    grpc_transport::EncodeParameters(in.parameters, *tensor->mutable_parameters());
    message.add_raw_input_contents()->assign(reinterpret_cast<const char*>(in.data), in.byte_size);
  }
  for (const RequestedOutput& out : request.outputs) {
    auto* tensor = message.add_outputs();
    tensor->set_name(out.name);
    grpc_transport::EncodeParameters(out.parameters, *tensor->mutable_parameters());
  }
}

// Builds an InferResponse whose outputs point into `message` and keep it alive.
absl::StatusOr<InferResponse> DecodeResponse(
    std::shared_ptr<const inference::ModelInferResponse> message) {
  InferResponse response;
  response.model_name = message->model_name();
  response.id = message->id();
  if (!message->model_version().empty()) {
    auto version = grpc_transport::ParseModelVersion(message->model_version(), "model_version");
    if (!version.ok()) return absl::InternalError(std::string(version.status().message()));
    response.model_version = *version;
  }
  if (absl::Status s =
          grpc_transport::DecodeParameters(message->parameters(), "response", response.parameters);
      !s.ok()) {
    return s;
  }
  if (message->raw_output_contents_size() != message->outputs_size()) {
    return absl::InternalError(fmt::format(
        "the server's response has {} outputs but {} raw_output_contents; this client reads "
        "outputs only from raw_output_contents",
        message->outputs_size(), message->raw_output_contents_size()));
  }
  for (int i = 0; i < message->outputs_size(); ++i) {
    const auto& tensor = message->outputs(i);
    InferOutput out;
    out.name = tensor.name();
    const auto type = DataTypeFromName(tensor.datatype());
    if (!type) {
      return absl::InternalError(
          fmt::format("output '{}' of the server's response has an unknown "
                      "datatype '{}'",
                      tensor.name(), tensor.datatype()));
    }
    out.datatype = *type;
    out.shape.assign(tensor.shape().begin(), tensor.shape().end());
    if (absl::Status s = grpc_transport::DecodeParameters(
            tensor.parameters(), fmt::format("output '{}'", out.name), out.parameters);
        !s.ok()) {
      return s;
    }
    const std::string& bytes = message->raw_output_contents(i);
    out.data = reinterpret_cast<const std::byte*>(bytes.data());
    out.byte_size = bytes.size();
    out.owner = message;
    response.outputs.push_back(std::move(out));
  }
  return response;
}

// The result one ModelStreamInferResponse carries. inferd puts the status code of a failed
// request in the "error_code" parameter; other servers send only the message.
absl::StatusOr<InferResponse> DecodeStreamResponse(
    std::shared_ptr<inference::ModelStreamInferResponse> message) {
  if (!message->error_message().empty()) {
    absl::StatusCode code = absl::StatusCode::kUnknown;
    const auto& params = message->infer_response().parameters();
    if (auto it = params.find("error_code"); it != params.end() && it->second.has_int64_param()) {
      code = static_cast<absl::StatusCode>(it->second.int64_param());
    }
    return absl::Status(code, message->error_message());
  }
  return DecodeResponse(std::shared_ptr<const inference::ModelInferResponse>(
      message, message->mutable_infer_response()));
}

// One ModelStreamInfer call. Writes are queued (gRPC allows one outstanding write); the hold
// taken at the start keeps the call open until Finish() or destruction ends the writes.
class GrpcInferStream final : public InferStream,
                              public grpc::ClientBidiReactor<inference::ModelInferRequest,
                                                             inference::ModelStreamInferResponse> {
 public:
  GrpcInferStream(GRPCInferenceService::Stub* stub, StreamCallback callback)
      : callback_(std::move(callback)) {
    stub->async()->ModelStreamInfer(&context_, this);
    AddHold();
    incoming_ = std::make_shared<inference::ModelStreamInferResponse>();
    StartRead(incoming_.get());
    StartCall();
  }

  ~GrpcInferStream() override {
    {
      absl::MutexLock lock(&mu_);
      if (!done_) context_.TryCancel();
      closing_ = true;
      MaybeCloseLocked();
    }
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(&done_));
  }

  absl::Status Write(InferRequest request) override {
    auto message = std::make_unique<inference::ModelInferRequest>();
    EncodeRequest(request, *message);
    absl::MutexLock lock(&mu_);
    if (done_) {
      return absl::UnavailableError(
          fmt::format("the inference stream has ended: {}", final_status_.error_message()));
    }
    if (closing_) return absl::FailedPreconditionError("the inference stream is finished");
    queue_.push_back(std::move(message));
    if (!writing_) {
      writing_ = true;
      StartWrite(queue_.front().get());
    }
    return absl::OkStatus();
  }

  absl::Status Finish() override {
    absl::MutexLock lock(&mu_);
    closing_ = true;
    MaybeCloseLocked();
    mu_.Await(absl::Condition(&done_));
    return FromGrpc(final_status_);
  }

  void OnWriteDone(bool ok) override {
    absl::MutexLock lock(&mu_);
    queue_.pop_front();
    if (!ok) queue_.clear();  // The stream broke; OnDone reports why.
    if (!queue_.empty()) {
      StartWrite(queue_.front().get());
      return;
    }
    writing_ = false;
    MaybeCloseLocked();
  }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // The server ended the stream.
    std::shared_ptr<inference::ModelStreamInferResponse> message = std::move(incoming_);
    incoming_ = std::make_shared<inference::ModelStreamInferResponse>();
    const std::string id = message->infer_response().id();
    callback_(id, DecodeStreamResponse(std::move(message)));
    StartRead(incoming_.get());
  }

  void OnDone(const grpc::Status& status) override {
    absl::MutexLock lock(&mu_);
    final_status_ = status;
    done_ = true;
  }

 private:
  // Once closing and nothing is left to write: half-close and let the call end.
  void MaybeCloseLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
    if (!closing_ || writing_ || hold_released_) return;
    hold_released_ = true;
    StartWritesDone();
    RemoveHold();
  }

  StreamCallback callback_;
  grpc::ClientContext context_;
  std::shared_ptr<inference::ModelStreamInferResponse> incoming_;  // Read path only.
  absl::Mutex mu_;
  std::deque<std::unique_ptr<inference::ModelInferRequest>> queue_ ABSL_GUARDED_BY(mu_);
  bool writing_ ABSL_GUARDED_BY(mu_) = false;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  bool hold_released_ ABSL_GUARDED_BY(mu_) = false;
  bool done_ ABSL_GUARDED_BY(mu_) = false;
  grpc::Status final_status_ ABSL_GUARDED_BY(mu_);
};

// Counts the asynchronous calls whose ClientContext is still alive.
//
// Every ClientContext holds a reference to the grpc::Channel. If the last one were dropped on a
// gRPC callback thread, the Channel's destructor would shut down and join the callback threads
// from one of them (Debian's grpc++ 1.51 then frees the completion queue twice). So the transport
// waits, in its destructor, until every call's context is gone, and drops the Channel itself.
class InflightCalls {
 public:
  class Token {
   public:
    explicit Token(std::shared_ptr<InflightCalls> calls) : calls_(std::move(calls)) {
      absl::MutexLock lock(&calls_->mu_);
      ++calls_->count_;
    }
    Token(const Token&) = delete;
    Token& operator=(const Token&) = delete;
    ~Token() {
      absl::MutexLock lock(&calls_->mu_);
      --calls_->count_;
    }

   private:
    std::shared_ptr<InflightCalls> calls_;
  };

  void WaitForNone() {
    absl::MutexLock lock(&mu_);
    mu_.Await(absl::Condition(
        +[](int* count) { return *count == 0; }, &count_));
  }

 private:
  absl::Mutex mu_;
  int count_ ABSL_GUARDED_BY(mu_) = 0;
};

class GrpcTransport final : public ClientTransport {
 public:
  explicit GrpcTransport(std::shared_ptr<grpc::Channel> channel)
      : channel_(std::move(channel)), stub_(GRPCInferenceService::NewStub(channel_)) {}

  ~GrpcTransport() override { inflight_->WaitForNone(); }

  void InferAsync(InferRequest request, InferCallback callback) override {
    struct Call {
      explicit Call(std::shared_ptr<InflightCalls> calls) : token(std::move(calls)) {}
      InflightCalls::Token token;  // First member: released after the context.
      grpc::ClientContext context;
      inference::ModelInferRequest request;
      std::shared_ptr<inference::ModelInferResponse> response =
          std::make_shared<inference::ModelInferResponse>();
      InferCallback callback;
    };
    auto call = std::make_shared<Call>(inflight_);
    EncodeRequest(request, call->request);
    call->callback = std::move(callback);
    stub_->async()->ModelInfer(&call->context, &call->request, call->response.get(),
                               [call](grpc::Status status) {
                                 InferCallback done = std::move(call->callback);
                                 if (!status.ok()) {
                                   done(FromGrpc(status));
                                   return;
                                 }
                                 done(DecodeResponse(std::move(call->response)));
                               });
  }

  absl::StatusOr<bool> IsServerLive() override {
    inference::ServerLiveResponse response;
    if (auto s = Call(&Stub::ServerLive, inference::ServerLiveRequest(), response); !s.ok()) {
      return s;
    }
    return response.live();
  }

  absl::StatusOr<bool> IsServerReady() override {
    inference::ServerReadyResponse response;
    if (auto s = Call(&Stub::ServerReady, inference::ServerReadyRequest(), response); !s.ok()) {
      return s;
    }
    return response.ready();
  }

  absl::StatusOr<bool> IsModelReady(std::string_view model, int64_t version) override {
    inference::ModelReadyRequest request;
    request.set_name(std::string(model));
    request.set_version(VersionString(version));
    inference::ModelReadyResponse response;
    if (auto s = Call(&Stub::ModelReady, request, response); !s.ok()) return s;
    return response.ready();
  }

  absl::StatusOr<ServerMetadata> GetServerMetadata() override {
    inference::ServerMetadataResponse response;
    if (auto s = Call(&Stub::ServerMetadata, inference::ServerMetadataRequest(), response);
        !s.ok()) {
      return s;
    }
    ServerMetadata meta{response.name(), response.version(), {}};
    meta.extensions.assign(response.extensions().begin(), response.extensions().end());
    return meta;
  }

  absl::StatusOr<ModelMetadata> GetModelMetadata(std::string_view model, int64_t version) override {
    inference::ModelMetadataRequest request;
    request.set_name(std::string(model));
    request.set_version(VersionString(version));
    inference::ModelMetadataResponse response;
    if (auto s = Call(&Stub::ModelMetadata, request, response); !s.ok()) return s;
    ModelMetadata meta;
    meta.name = response.name();
    meta.versions.assign(response.versions().begin(), response.versions().end());
    meta.platform = response.platform();
    auto convert = [](const auto& tensors) {
      std::vector<TensorMetadata> out;
      for (const auto& t : tensors) {
        out.push_back(TensorMetadata{t.name(),
                                     DataTypeFromName(t.datatype()).value_or(DataType::kInvalid),
                                     Shape(t.shape().begin(), t.shape().end())});
      }
      return out;
    };
    meta.inputs = convert(response.inputs());
    meta.outputs = convert(response.outputs());
    return meta;
  }

  absl::Status LoadModel(std::string_view model) override {
    inference::RepositoryModelLoadRequest request;
    request.set_model_name(std::string(model));
    inference::RepositoryModelLoadResponse response;
    return Call(&Stub::RepositoryModelLoad, request, response);
  }

  // Triton's system shared-memory extension.
  absl::Status RegisterSystemSharedMemory(std::string_view name, std::string_view key,
                                          uint64_t byte_size, uint64_t offset) override {
    inference::SystemSharedMemoryRegisterRequest request;
    request.set_name(std::string(name));
    request.set_key(std::string(key));
    request.set_offset(offset);
    request.set_byte_size(byte_size);
    inference::SystemSharedMemoryRegisterResponse response;
    return Call(&Stub::SystemSharedMemoryRegister, request, response);
  }
  absl::Status UnregisterSystemSharedMemory(std::string_view name) override {
    inference::SystemSharedMemoryUnregisterRequest request;
    request.set_name(std::string(name));
    inference::SystemSharedMemoryUnregisterResponse response;
    return Call(&Stub::SystemSharedMemoryUnregister, request, response);
  }
  absl::StatusOr<std::vector<SharedMemoryRegionStatus>> GetSystemSharedMemoryStatus(
      std::string_view name) override {
    inference::SystemSharedMemoryStatusRequest request;
    request.set_name(std::string(name));
    inference::SystemSharedMemoryStatusResponse response;
    if (auto s = Call(&Stub::SystemSharedMemoryStatus, request, response); !s.ok()) return s;
    std::vector<SharedMemoryRegionStatus> out;
    for (const auto& [region_name, r] : response.regions()) {
      out.push_back({r.name(), r.key(), r.offset(), r.byte_size()});
    }
    std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    return out;
  }

  absl::Status UnloadModel(std::string_view model) override {
    inference::RepositoryModelUnloadRequest request;
    request.set_model_name(std::string(model));
    inference::RepositoryModelUnloadResponse response;
    return Call(&Stub::RepositoryModelUnload, request, response);
  }

  absl::StatusOr<std::vector<ModelIndexEntry>> GetRepositoryIndex(bool ready_only) override {
    inference::RepositoryIndexRequest request;
    request.set_ready(ready_only);
    inference::RepositoryIndexResponse response;
    if (auto s = Call(&Stub::RepositoryIndex, request, response); !s.ok()) return s;
    std::vector<ModelIndexEntry> out;
    for (const auto& m : response.models()) {
      out.push_back(ModelIndexEntry{m.name(), m.version(), m.state(), m.reason()});
    }
    return out;
  }

  absl::StatusOr<std::vector<ModelStatistics>> GetModelStatistics(std::string_view model,
                                                                  int64_t version) override {
    inference::ModelStatisticsRequest request;
    request.set_name(std::string(model));
    request.set_version(VersionString(version));
    inference::ModelStatisticsResponse response;
    if (auto s = Call(&Stub::ModelStatistics, request, response); !s.ok()) return s;
    auto duration = [](const inference::StatisticDuration& d) {
      return DurationStat{d.count(), d.ns()};
    };
    std::vector<ModelStatistics> out;
    for (const auto& m : response.model_stats()) {
      ModelStatistics s;
      s.name = m.name();
      s.version = m.version();
      s.last_inference_ms = m.last_inference();
      s.inference_count = m.inference_count();
      s.execution_count = m.execution_count();
      const auto& i = m.inference_stats();
      s.inference_stats = InferenceStats{duration(i.success()),       duration(i.fail()),
                                         duration(i.queue()),         duration(i.compute_input()),
                                         duration(i.compute_infer()), duration(i.compute_output())};
      for (const auto& b : m.batch_stats()) {
        s.batch_stats.push_back(BatchStats{static_cast<int64_t>(b.batch_size()),
                                           duration(b.compute_input()), duration(b.compute_infer()),
                                           duration(b.compute_output())});
      }
      for (const auto& u : m.memory_usage()) s.memory_bytes += static_cast<int64_t>(u.byte_size());
      out.push_back(std::move(s));
    }
    return out;
  }

  absl::StatusOr<std::string> GetModelConfig(std::string_view model, int64_t version) override {
    inference::ModelConfigRequest request;
    request.set_name(std::string(model));
    request.set_version(VersionString(version));
    inference::ModelConfigResponse response;
    if (auto s = Call(&Stub::ModelConfig, request, response); !s.ok()) return s;
    std::string text;
    google::protobuf::TextFormat::PrintToString(response.config(), &text);
    return text;
  }

  absl::StatusOr<std::unique_ptr<InferStream>> StartStream(StreamCallback callback) override {
    return std::unique_ptr<InferStream>(new GrpcInferStream(stub_.get(), std::move(callback)));
  }

 private:
  using Stub = GRPCInferenceService::Stub;

  template <typename Request, typename Response>
  absl::Status Call(grpc::Status (Stub::*method)(grpc::ClientContext*, const Request&, Response*),
                    const Request& request, Response& response) {
    grpc::ClientContext context;
    return FromGrpc((stub_.get()->*method)(&context, request, &response));
  }

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<Stub> stub_;
  std::shared_ptr<InflightCalls> inflight_ = std::make_shared<InflightCalls>();
};

}  // namespace

absl::StatusOr<std::unique_ptr<ClientTransport>> CreateGrpcTransport(
    std::string_view target, const ClientOptions& /*options*/) {
  std::string address(target);
  while (!address.empty() && address.back() == '/') address.pop_back();
  if (address.empty()) {
    return absl::InvalidArgumentError("grpc:// URL has no host; expected grpc://host[:port]");
  }
  // Default port unless the target already ends in one (":8001", "[::1]:8001").
  const size_t colon = address.rfind(':');
  const size_t bracket = address.rfind(']');
  if (colon == std::string::npos || (bracket != std::string::npos && colon < bracket)) {
    address += ":8001";
  }
  grpc::ChannelArguments args;
  // The server enforces its own limits; the client accepts what it is sent.
  args.SetMaxReceiveMessageSize(-1);
  args.SetMaxSendMessageSize(-1);
  grpc_tuning::ForEachHttp2Setting(
      [&](const char* key, int value) { args.SetInt(key, value); });
  auto channel = grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
  if (channel == nullptr) {
    return absl::InvalidArgumentError(fmt::format("cannot create a gRPC channel to '{}'", address));
  }
  return std::make_unique<GrpcTransport>(std::move(channel));
}

}  // namespace inferd
