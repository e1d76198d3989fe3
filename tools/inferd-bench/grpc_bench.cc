// SPDX-License-Identifier: Apache-2.0
#include "grpc_bench.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "child_process.h"
#include "fmt/format.h"
#include "grpc_service.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "core/cpus.h"
#include "inferd/client.h"
#include "transport/grpc/http2_tuning.h"


namespace inferd::bench {
namespace {

using Clock = std::chrono::steady_clock;
using inference::GRPCInferenceService;

constexpr size_t kLargeBytes = 602112;  // One ResNet50 input: 3 × 224 × 224 FP32.
constexpr size_t kSmallBytes = 16;
constexpr int kMaxMessageBytes = 48 * 1024 * 1024;

// A round-trip source: one request of a given size.
class Target {
 public:
  virtual ~Target() = default;
  virtual bool RoundTrip() = 0;  // False on an error (printed).
};

// Runs `total` requests with `in_flight` outstanding; `issue(done)` starts one request and calls
// done() when it completes.
double DriveInFlight(int in_flight, int total,
                     const std::function<void(std::function<void()>)>& issue) {
  std::atomic<int> issued{0};
  std::atomic<int> completed{0};
  absl::Notification all_done;
  std::function<void()> next = [&] {
    if (issued.fetch_add(1) >= total) return;
    issue([&] {
      if (completed.fetch_add(1) + 1 == total) {
        all_done.Notify();
      } else {
        next();
      }
    });
  };
  const auto start = Clock::now();
  for (int i = 0; i < in_flight; ++i) next();
  all_done.WaitForNotification();
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return total / seconds;
}

// inferd through its own grpc:// client.
class InferdTarget final : public Target {
 public:
  InferdTarget(std::unique_ptr<Client> client, size_t bytes)
      : client_(std::move(client)), input_(bytes / sizeof(float)) {
    for (size_t i = 0; i < input_.size(); ++i) input_[i] = static_cast<float>(i % 251);
  }
  InferRequest Request() const {
    InferRequest request;
    request.model_name = "identity";
    InferInput in;
    in.name = "INPUT0";
    in.datatype = DataType::kFp32;
    in.shape = {static_cast<int64_t>(input_.size())};
    in.data = reinterpret_cast<const std::byte*>(input_.data());
    in.byte_size = input_.size() * sizeof(float);
    request.inputs.push_back(std::move(in));
    return request;
  }
  bool RoundTrip() override {
    auto response = client_->Infer(Request());
    if (!response.ok()) {
      std::fprintf(stderr, "inferd request failed: %s\n", response.status().ToString().c_str());
      return false;
    }
    return response->outputs.size() == 1 &&
           response->outputs[0].byte_size == input_.size() * sizeof(float) &&
           std::memcmp(response->outputs[0].data, input_.data(), response->outputs[0].byte_size) ==
               0;
  }

 private:
  std::unique_ptr<Client> client_;
  std::vector<float> input_;
};

// The bare echo server through a bare stub, in the same style as inferd's client: the request
// message is built from the caller's buffer (one copy) and sent with the callback API.
class StubTarget final : public Target {
 public:
  StubTarget(int port, size_t bytes) : input_(bytes, '\x07') {
    grpc::ChannelArguments args;
    args.SetMaxReceiveMessageSize(-1);
    args.SetMaxSendMessageSize(-1);
    grpc_tuning::ForEachHttp2Setting([&](const char* key, int value) { args.SetInt(key, value); });
    stub_ = GRPCInferenceService::NewStub(grpc::CreateCustomChannel(
        fmt::format("127.0.0.1:{}", port), grpc::InsecureChannelCredentials(), args));
  }
  struct Call {
    grpc::ClientContext context;
    inference::ModelInferRequest request;
    inference::ModelInferResponse response;
  };
  std::shared_ptr<Call> NewCall() const {
    auto call = std::make_shared<Call>();
    call->request.set_model_name("identity");
    auto* in = call->request.add_inputs();
    in->set_name("INPUT0");
    in->set_datatype("FP32");
    in->add_shape(static_cast<int64_t>(input_.size() / sizeof(float)));
    call->request.add_raw_input_contents()->assign(input_.data(), input_.size());
    return call;
  }
  bool RoundTrip() override {
    auto call = NewCall();
    std::promise<grpc::Status> promise;
    stub_->async()->ModelInfer(&call->context, &call->request, &call->response,
                               [&promise](grpc::Status s) { promise.set_value(std::move(s)); });
    const grpc::Status status = promise.get_future().get();
    if (!status.ok()) {
      std::fprintf(stderr, "echo request failed: %s\n", status.error_message().c_str());
      return false;
    }
    return call->response.raw_output_contents_size() == 1 &&
           call->response.raw_output_contents(0) == input_;
  }
  // Completes `total` requests keeping `in_flight` outstanding; returns requests per second, or
  // 0 when a request failed (the first failure is printed).
  double Throughput(int in_flight, int total) {
    std::atomic<int> failed{0};
    const double rps = DriveInFlight(in_flight, total, [&](std::function<void()> done) {
      auto call = NewCall();
      stub_->async()->ModelInfer(
          &call->context, &call->request, &call->response,
          [call, &failed, done = std::move(done)](grpc::Status status) {
            if (!status.ok() && failed.fetch_add(1) == 0) {
              std::fprintf(stderr, "request failed: %s\n", status.error_message().c_str());
            }
            done();
          });
    });
    return failed.load() > 0 ? 0.0 : rps;
  }

 private:
  std::string input_;
  std::unique_ptr<GRPCInferenceService::Stub> stub_;
};

struct Figures {
  double median_us = 0;
  double p90_us = 0;
};

Figures Summarize(std::vector<double> samples) {
  std::sort(samples.begin(), samples.end());
  if (samples.empty()) return {};
  return {samples[samples.size() / 2], samples[samples.size() * 9 / 10]};
}

// Alternates rounds between the targets so drift on a shared machine hits them alike.
bool MeasureRoundTrips(const std::vector<Target*>& targets, int rounds, int per_round,
                       std::vector<Figures>& figures) {
  for (int i = 0; i < 20; ++i) {  // Warm up connections and allocators.
    for (Target* t : targets) {
      if (!t->RoundTrip()) return false;
    }
  }
  std::vector<std::vector<double>> samples(targets.size());
  for (int r = 0; r < rounds; ++r) {
    for (size_t t = 0; t < targets.size(); ++t) {
      for (int i = 0; i < per_round; ++i) {
        const auto start = Clock::now();
        if (!targets[t]->RoundTrip()) return false;
        samples[t].push_back(
            std::chrono::duration<double, std::micro>(Clock::now() - start).count());
      }
    }
  }
  figures.clear();
  for (auto& s : samples) figures.push_back(Summarize(std::move(s)));
  return true;
}

// The callback-API echo server: the request is const in this API, so the bytes are copied
// into the response (the cost that made inferd's server use the completion-queue API).
class CallbackEchoService final : public GRPCInferenceService::CallbackService {
  grpc::ServerUnaryReactor* ModelInfer(grpc::CallbackServerContext* context,
                                       const inference::ModelInferRequest* request,
                                       inference::ModelInferResponse* response) override {
    response->set_model_name(request->model_name());
    for (const auto& in : request->inputs()) {
      auto* out = response->add_outputs();
      out->set_name(in.name());
      out->set_datatype(in.datatype());
      *out->mutable_shape() = in.shape();
    }
    *response->mutable_raw_output_contents() = request->raw_input_contents();
    grpc::ServerUnaryReactor* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status::OK);
    return reactor;
  }
};

// The echo server's one call type.
class EchoCall {
 public:
  EchoCall(GRPCInferenceService::AsyncService* service, grpc::ServerCompletionQueue* cq)
      : service_(service), cq_(cq) {
    service_->RequestModelInfer(&context_, &request_, &writer_, cq_, cq_, this);
  }
  void Proceed(bool ok) {
    if (finished_ || !ok) {
      delete this;
      return;
    }
    new EchoCall(service_, cq_);
    response_.set_model_name(request_.model_name());
    for (int i = 0; i < request_.inputs_size(); ++i) {
      auto* out = response_.add_outputs();
      out->set_name(request_.inputs(i).name());
      out->set_datatype(request_.inputs(i).datatype());
      *out->mutable_shape() = request_.inputs(i).shape();
    }
    for (std::string& raw : *request_.mutable_raw_input_contents()) {
      response_.add_raw_output_contents()->swap(raw);
    }
    finished_ = true;
    writer_.Finish(response_, grpc::Status::OK, this);
  }

 private:
  GRPCInferenceService::AsyncService* service_;
  grpc::ServerCompletionQueue* cq_;
  grpc::ServerContext context_;
  inference::ModelInferRequest request_;
  inference::ModelInferResponse response_;
  grpc::ServerAsyncResponseWriter<inference::ModelInferResponse> writer_{&context_};
  bool finished_ = false;
};

}  // namespace

int RunGrpcEchoServer(int port, int threads, bool callback_api) {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  GRPCInferenceService::AsyncService service;
  CallbackEchoService callback_service;
  grpc::ServerBuilder builder;
  int bound = 0;
  builder.AddListeningPort(fmt::format("127.0.0.1:{}", port), grpc::InsecureServerCredentials(),
                           &bound);
  builder.SetMaxReceiveMessageSize(kMaxMessageBytes);
  builder.SetMaxSendMessageSize(kMaxMessageBytes);
  grpc_tuning::ForEachHttp2Setting(
      [&](const char* key, int value) { builder.AddChannelArgument(key, value); });
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> cqs;
  if (callback_api) {
    builder.RegisterService(&callback_service);
  } else {
    builder.RegisterService(&service);
    const int queues = threads > 0 ? threads : AvailableCpus();  // As inferd's default.
    for (int i = 0; i < queues; ++i) cqs.push_back(builder.AddCompletionQueue());
  }
  auto server = builder.BuildAndStart();
  if (server == nullptr || bound == 0) {
    std::fprintf(stderr, "echo server: cannot bind port %d\n", port);
    return 1;
  }
  std::vector<std::thread> pollers;
  for (auto& cq : cqs) {
    new EchoCall(&service, cq.get());
    pollers.emplace_back([cq = cq.get()] {
      void* tag;
      bool ok;
      while (cq->Next(&tag, &ok)) static_cast<EchoCall*>(tag)->Proceed(ok);
    });
  }
  std::printf("ECHO server (%s API) listening on 127.0.0.1:%d\n",
              callback_api ? "callback" : "completion-queue", bound);
  std::fflush(stdout);
  int received = 0;
  sigwait(&signals, &received);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  for (auto& cq : cqs) cq->Shutdown();
  for (std::thread& t : pollers) t.join();
  return 0;
}

int RunGrpcBench(const GrpcBenchOptions& options) {
  std::vector<std::string> inferd_args = {
      options.inferd_path, "--model-repository=" + options.model_repository, "--grpc-port=0",
      "--http-port=0", "--http-address=127.0.0.1", "--allow-metrics=false"};
  inferd_args.insert(inferd_args.end(), options.inferd_args.begin(), options.inferd_args.end());
  std::optional<ChildProcess> inferd, echo, callback_echo;
  const bool pinned = StartServersPinned(options.pin, [&] {
    inferd.emplace(inferd_args);
    echo.emplace(std::vector<std::string>{options.self_path, "grpc-echo-server", "--port=0",
                                          fmt::format("--threads={}", options.threads)});
    callback_echo.emplace(std::vector<std::string>{options.self_path, "grpc-echo-server",
                                                   "--port=0", "--api=callback"});
  });
  const int inferd_port = inferd->WaitForPort("GRPC server listening on ");
  const int http_port = inferd->WaitForPort("HTTP server listening on ");
  const int echo_port = echo->WaitForPort("ECHO server (completion-queue API) listening on ");
  const int callback_port = callback_echo->WaitForPort("ECHO server (callback API) listening on ");
  if (inferd_port == 0 || http_port == 0 || echo_port == 0 || callback_port == 0) {
    std::fprintf(stderr, "a server did not start.\ninferd:\n%s\necho:\n%s\n",
                 inferd->output().c_str(), echo->output().c_str());
    return 1;
  }
  std::printf(
      "gRPC round trips: inferd (identity FP32, grpc:// client) vs bare grpc++ echo "
      "(completion-queue server, callback client), %d alternating rounds%s\n",
      options.rounds, pinned ? " (servers on CPU 1, clients on CPU 0)" : "");
  std::printf("  %-10s %-8s %12s %12s %14s %12s\n", "payload", "server", "median us", "p90 us",
              "ratio (med)", "goal");
  bool all_ok = true;
  const std::string target = fmt::format("grpc://127.0.0.1:{}", inferd_port);
  for (auto [bytes, per_round, goal] :
       {std::tuple{kLargeBytes, options.large_samples_per_round, 1.15},
        std::tuple{kSmallBytes, options.samples_per_round, 1.3}}) {
    auto client = Client::Create(target);
    if (!client.ok()) {
      std::fprintf(stderr, "%s\n", client.status().ToString().c_str());
      return 1;
    }
    InferdTarget ours(*std::move(client), bytes);
    StubTarget echo_target(echo_port, bytes);
    StubTarget callback_target(callback_port, bytes);
    std::vector<Figures> f;
    if (!MeasureRoundTrips({&ours, &echo_target, &callback_target}, options.rounds, per_round, f)) {
      std::fprintf(stderr, "round trips failed or returned wrong bytes\n");
      return 1;
    }
    const Figures& a = f[0];
    const Figures& b = f[1];
    const double ratio = a.median_us / b.median_us;
    all_ok = all_ok && ratio <= goal;
    std::printf("  %-10zu %-8s %12.1f %12.1f %14s %12s\n", bytes, "inferd", a.median_us, a.p90_us,
                fmt::format("{:.3f}", ratio).c_str(),
                fmt::format("<= {:.2f} {}", goal, ratio <= goal ? "met" : "NOT met").c_str());
    std::printf("  %-10zu %-8s %12.1f %12.1f\n", bytes, "echo", b.median_us, b.p90_us);
    std::printf("  %-10zu %-8s %12.1f %12.1f %14s   (callback-API echo / CQ echo)\n", bytes,
                "echo-cb", f[2].median_us, f[2].p90_us,
                fmt::format("{:.3f}", f[2].median_us / b.median_us).c_str());
  }
  // A 602,112-byte round trip over inferd's HTTP, for the gRPC figure beside it.
  {
    auto http = Client::Create(fmt::format("http://127.0.0.1:{}", http_port));
    auto grpc_client = Client::Create(target);
    if (!http.ok() || !grpc_client.ok()) return 1;
    InferdTarget over_http(*std::move(http), kLargeBytes);
    InferdTarget over_grpc(*std::move(grpc_client), kLargeBytes);
    std::vector<Figures> f;
    if (!MeasureRoundTrips({&over_grpc, &over_http}, options.rounds,
                           options.large_samples_per_round, f)) {
      return 1;
    }
    const double ratio = f[0].median_us / f[1].median_us;
    std::printf("\n602,112-byte round trip, same inferd: gRPC median %.1f us, HTTP median %.1f us: "
                "gRPC / HTTP %.2f (goal <= 2: %s)\n",
                f[0].median_us, f[1].median_us, ratio, ratio <= 2.0 ? "met" : "NOT met");
  }

  // Requests in flight: one generator (a bare callback-API stub sending the same identity
  // request) against both servers, so the ratio is the servers' alone; each server's CPU time
  // and context switches per request over the level.
  std::printf("\nrequests in flight (one callback-API stub for both servers; CPU us and context "
              "switches per request are the server's):\n");
  std::printf("  %-8s %-9s %13s %13s %13s %13s %13s %13s\n", "payload", "in flight",
              "inferd req/s", "echo req/s", "inferd CPU us", "echo CPU us", "inferd cs/req",
              "echo cs/req");
  double cpu_at_1 = 0, cpu_at_8 = 0;
  bool levels_ok = true;
  for (auto [bytes, levels] : {std::pair{kSmallBytes, std::vector<int>{1, 8, 32}},
                               std::pair{kLargeBytes, std::vector<int>{8}}}) {
    StubTarget at_inferd(inferd_port, bytes);
    StubTarget at_echo(echo_port, bytes);
    const int total =
        bytes == kLargeBytes ? options.throughput_requests / 20 : options.throughput_requests;
    for (int in_flight : levels) {
      auto measure = [&](StubTarget& t, const ChildProcess& server) {
        t.Throughput(in_flight, std::max(1, total / 10));  // Warm-up.
        return MeasureLoadLevel(server, total, [&] { return t.Throughput(in_flight, total); });
      };
      const LoadLevelCost a = measure(at_inferd, *inferd);
      const LoadLevelCost b = measure(at_echo, *echo);
      levels_ok = levels_ok && a.requests_per_second > 0 && b.requests_per_second > 0;
      if (bytes == kSmallBytes && in_flight == 1) cpu_at_1 = a.cpu_us_per_request;
      if (bytes == kSmallBytes && in_flight == 8) cpu_at_8 = a.cpu_us_per_request;
      std::printf("  %-8zu %-9d %13.0f %13.0f %13.1f %13.1f %13.2f %13.2f   ratio %.3f\n", bytes,
                  in_flight, a.requests_per_second, b.requests_per_second, a.cpu_us_per_request,
                  b.cpu_us_per_request, a.switches_per_request, b.switches_per_request,
                  b.requests_per_second > 0 ? a.requests_per_second / b.requests_per_second
                                            : 0.0);
    }
  }
  if (cpu_at_1 > 0 && cpu_at_8 > 0) {
    std::printf("  inferd CPU per 16-byte request at 8 in flight / at 1: %.2f (goal <= 1.3: %s)\n",
                cpu_at_8 / cpu_at_1, cpu_at_8 / cpu_at_1 <= 1.3 ? "met" : "NOT met");
  }
  echo->Stop();
  callback_echo->Stop();
  inferd->Stop();
  std::printf("\nlatency goals: %s\n", all_ok ? "met" : "NOT met");
  if (!levels_ok) std::fprintf(stderr, "requests failed in a throughput level\n");
  return levels_ok ? 0 : 1;
}

}  // namespace inferd::bench
