// SPDX-License-Identifier: Apache-2.0
#include "transport/grpc/grpc_server.h"

#include <chrono>
#include <limits>
#include <thread>
#include <vector>

#include "core/cpus.h"
#include "core/exception_boundary.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"
#include "transport/grpc/grpc_calls.h"
#include "transport/grpc/http2_tuning.h"

namespace inferd {

class GrpcServer::Impl {
 public:
  explicit Impl(const GrpcServerOptions& options)
      : options_(options), context_(options.server, options.max_message_bytes, options.shm_registry,
                 {options.stream_max_pending_responses, options.stream_max_pending_bytes}) {}
  ~Impl() { Stop(); }

  absl::Status Start() {
    // An IPv6 literal needs brackets before the port.
    const std::string host =
        options_.address.find(':') != std::string::npos && options_.address.front() != '['
            ? fmt::format("[{}]", options_.address)
            : options_.address;
    const std::string target = fmt::format("{}:{}", host, options_.port);
    const int max_bytes = static_cast<int>(options_.max_message_bytes);
    grpc::ServerBuilder builder;
    builder.AddListeningPort(target, grpc::InsecureServerCredentials(), &port_);
    builder.SetMaxReceiveMessageSize(max_bytes);
    builder.SetMaxSendMessageSize(max_bytes);
    // Two servers must not share a port silently.
    builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
    grpc_tuning::ForEachHttp2Setting(
        [&](const char* key, int value) { builder.AddChannelArgument(key, value); });
    builder.RegisterService(&context_.service());
    const int queues =
        options_.completion_queue_threads > 0 ? options_.completion_queue_threads : AvailableCpus();
    for (int i = 0; i < queues; ++i) {
      cqs_.push_back(builder.AddCompletionQueue());
    }
    server_ = builder.BuildAndStart();
    if (server_ == nullptr || port_ == 0) {
      server_.reset();
      cqs_.clear();
      return absl::UnavailableError(
          fmt::format("cannot listen for gRPC on {}: the address is in use or not local", target));
    }
    for (auto& cq : cqs_) {
      grpc_transport::ListenForAllCalls(&context_, cq.get());
      threads_.emplace_back([cq = cq.get()] { Poll(cq); });
    }
    spdlog::info("GRPC server listening on {}:{}", options_.address, port_);
    return absl::OkStatus();
  }

  void Stop() {
    if (server_ == nullptr) return;
    context_.StopAccepting();
    server_->Shutdown(std::chrono::system_clock::now() +
                      std::chrono::milliseconds(options_.shutdown_grace_ms));
    context_.WaitForOffloaded();
    // Cancelled streams still finish through the queues: shut those down only after.
    context_.WaitForStreams(absl::Seconds(10));
    for (auto& cq : cqs_) cq->Shutdown();
    for (std::thread& t : threads_) t.join();
    threads_.clear();
    server_.reset();
    cqs_.clear();
  }

  int port() const { return port_; }
  void CancelStreams() { context_.CancelStreams(); }

 private:
  static void Poll(grpc::ServerCompletionQueue* cq) {
    pthread_setname_np(pthread_self(), "inferd-grpc");
    void* tag = nullptr;
    bool ok = false;
    while (cq->Next(&tag, &ok)) {
      // The last line of defence (each call catches its own): an exception must not end the
      // process, nor this thread, which polls for every call on its queue.
      absl::Status status = CallCatchingExceptions(
          "handling a gRPC event", [&] { static_cast<grpc_transport::Tag*>(tag)->Proceed(ok); });
      if (!status.ok()) spdlog::error("{}", std::string(status.message()));
    }
  }

  GrpcServerOptions options_;
  grpc_transport::CallContext context_;
  std::unique_ptr<grpc::Server> server_;
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> cqs_;
  std::vector<std::thread> threads_;
  int port_ = 0;
};

GrpcServer::GrpcServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
GrpcServer::~GrpcServer() { Stop(); }

absl::StatusOr<std::unique_ptr<GrpcServer>> GrpcServer::Create(GrpcServerOptions options) {
  if (options.server == nullptr) {
    return absl::InvalidArgumentError("the gRPC server needs an InferenceServer");
  }
  if (options.port < 0 || options.port > 65535) {
    return absl::InvalidArgumentError(
        fmt::format("--grpc-port {} is not a port number (0..65535)", options.port));
  }
  if (options.max_message_bytes < 1024 ||
      options.max_message_bytes > std::numeric_limits<int>::max()) {
    return absl::InvalidArgumentError(
        fmt::format("--grpc-max-message-size {} must be between 1024 and {} bytes",
                    options.max_message_bytes, std::numeric_limits<int>::max()));
  }
  if (options.completion_queue_threads < 0) {
    return absl::InvalidArgumentError(
        fmt::format("--grpc-infer-thread-count must be 0 (one per CPU) or more, got {}",
                    options.completion_queue_threads));
  }
  if (options.address.empty()) {
    return absl::InvalidArgumentError("--grpc-address is empty");
  }
  if (options.stream_max_pending_responses < 0 || options.stream_max_pending_bytes < 0) {
    return absl::InvalidArgumentError(
        "--grpc-stream-max-pending-responses and --grpc-stream-max-pending-bytes must be >= 0");
  }
  auto impl = std::make_unique<Impl>(options);
  if (absl::Status s = impl->Start(); !s.ok()) return s;
  return std::unique_ptr<GrpcServer>(new GrpcServer(std::move(impl)));
}

int GrpcServer::port() const { return impl_->port(); }

void GrpcServer::Stop() {
  if (impl_) impl_->Stop();
}

void GrpcServer::CancelStreams() {
  if (impl_) impl_->CancelStreams();
}

}  // namespace inferd
