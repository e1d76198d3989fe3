// SPDX-License-Identifier: Apache-2.0
// End-to-end, the real inferd binary: what a hostile or careless client must not be able to do
// through gRPC streams and model queues (issue 13). A ModelStreamInfer message that does not parse
// is answered with an error and the stream goes on; a client that never reads its stream's
// responses pins a bounded amount of server memory and gets every response, in order, once it
// reads; a model without dynamic batching has a bounded queue and refuses overload at once with
// 503 / RESOURCE_EXHAUSTED naming the model and the limit. Each test then checks that the server
// still serves.
#include <sys/socket.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

#include "grpc_service.grpc.pb.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/grpcpp.h"
#include "http_test_util.h"
#include "test_util/server_process.h"

namespace inferd {
namespace {

using inference::GRPCInferenceService;
using inference::ModelInferRequest;
using inference::ModelInferResponse;
using inference::ModelStreamInferResponse;
using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::ServerProcess;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr int kResNetInputBytes = 602112;  // 3 × 224 × 224 FP32, the issue's response size.

// The real inferd on free HTTP and gRPC ports over a repository with:
//   identity1: identity, one instance (so a stream's responses come back in request order);
//   slow:      busy, one instance, 300 ms per request, no batcher, parameter max_queue_size 4;
//   slow_default: the same without the parameter (the server's --max-queue-size-default).
class LimitsServer {
 public:
  explicit LimitsServer(std::vector<std::string> extra_args = {}) {
    static int counter = 0;
    repo_ = fs::temp_directory_path() /
            ("inferd_limits_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(repo_);
    Write("identity1",
          "backend: \"builtin\"\nmax_batch_size: 0\n"
          "input [ { name: \"INPUT0\" data_type: TYPE_FP32 dims: [ -1 ] } ]\n"
          "output [ { name: \"OUTPUT0\" data_type: TYPE_FP32 dims: [ -1 ] } ]\n"
          "instance_group [ { count: 1 kind: KIND_CPU } ]\n"
          "parameters { key: \"builtin_model\" value { string_value: \"identity\" } }\n");
    const std::string slow =
        "backend: \"builtin\"\nmax_batch_size: 0\n"
        "input [ { name: \"INPUT0\" data_type: TYPE_FP32 dims: [ -1 ] } ]\n"
        "output [ { name: \"OUTPUT0\" data_type: TYPE_FP32 dims: [ -1 ] } ]\n"
        "instance_group [ { count: 1 kind: KIND_CPU } ]\n"
        "parameters { key: \"builtin_model\" value { string_value: \"busy\" } }\n"
        "parameters { key: \"busy_a_us\" value { string_value: \"300000\" } }\n";
    Write("slow", slow + "parameters { key: \"max_queue_size\" value { string_value: \"4\" } }\n");
    Write("slow_default", slow);
    std::vector<std::string> args = {"--model-repository=" + repo_.string(), "--http-port=0",
                                     "--grpc-port=0", "--allow-metrics=false"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    process_ = std::make_unique<ServerProcess>(testing::InferdBinary(), args);
    if (!process_->WaitForOutput("inferd ready", 60s)) return;
    http_port_ = PortAfter("HTTP server listening on ");
    grpc_port_ = PortAfter("GRPC server listening on ");
  }
  ~LimitsServer() {
    process_.reset();
    fs::remove_all(repo_);
  }
  bool ready() const { return http_port_ > 0 && grpc_port_ > 0; }
  int http_port() const { return http_port_; }
  std::string grpc_address() const { return "127.0.0.1:" + std::to_string(grpc_port_); }
  const std::string& output() const { return process_->output(); }

  long RssKb() const {
    std::ifstream status("/proc/" + std::to_string(process_->pid()) + "/status");
    for (std::string line; std::getline(status, line);) {
      if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    }
    return -1;
  }

 private:
  void Write(const std::string& model, const std::string& config) {
    fs::create_directories(repo_ / model / "1");
    std::ofstream(repo_ / model / "config.pbtxt") << "name: \"" << model << "\"\n" << config;
  }
  int PortAfter(const std::string& prefix) {
    const std::string& out = process_->output();
    const size_t at = out.find(prefix);
    if (at == std::string::npos) return 0;
    const std::string line = out.substr(at, out.find('\n', at) - at);
    return std::stoi(line.substr(line.rfind(':') + 1));
  }
  fs::path repo_;
  std::unique_ptr<ServerProcess> process_;
  int http_port_ = 0;
  int grpc_port_ = 0;
};

std::shared_ptr<grpc::Channel> NewChannel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(-1);
  args.SetMaxReceiveMessageSize(-1);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}

ModelInferRequest FloatRequest(const std::string& model, size_t floats, const std::string& id) {
  ModelInferRequest r;
  r.set_model_name(model);
  r.set_id(id);
  auto* in = r.add_inputs();
  in->set_name("INPUT0");
  in->set_datatype("FP32");
  in->add_shape(static_cast<int64_t>(floats));
  std::string raw(floats * sizeof(float), '\0');
  for (size_t i = 0; i < floats; ++i) {
    const float v = static_cast<float>(i % 1000);
    std::memcpy(raw.data() + i * sizeof(float), &v, sizeof(float));
  }
  r.add_raw_input_contents(std::move(raw));
  return r;
}

// One unary ModelInfer on identity1 that must succeed: the server still serves.
void ExpectGrpcStillServes(const std::string& address) {
  auto stub = GRPCInferenceService::NewStub(NewChannel(address));
  grpc::ClientContext context;
  ModelInferResponse response;
  grpc::Status status = stub->ModelInfer(&context, FloatRequest("identity1", 4, "after"), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.raw_output_contents_size(), 1);
  EXPECT_EQ(response.raw_output_contents(0).size(), 16u);
}

// A ModelStreamInfer call driven step by step with raw bytes (grpc::GenericStub), so that a test
// can send a message that is not a ModelInferRequest at all.
class RawStream {
 public:
  explicit RawStream(const std::string& address) : stub_(NewChannel(address)) {
    call_ = stub_.PrepareCall(&context_, "/inference.GRPCInferenceService/ModelStreamInfer", &cq_);
    call_->StartCall(Tag(1));
    ok_ = Await(1);
  }
  ~RawStream() {
    context_.TryCancel();
    cq_.Shutdown();
    void* tag;
    bool ok;
    while (cq_.Next(&tag, &ok)) {
    }
  }
  bool ok() const { return ok_; }

  bool WriteBytes(const std::string& bytes) {
    grpc::Slice slice(bytes);
    grpc::ByteBuffer buffer(&slice, 1);
    call_->Write(buffer, Tag(2));
    return Await(2);
  }
  bool Write(const ModelInferRequest& request) { return WriteBytes(request.SerializeAsString()); }
  std::optional<ModelStreamInferResponse> Read() {
    grpc::ByteBuffer buffer;
    call_->Read(&buffer, Tag(3));
    if (!Await(3)) return std::nullopt;
    std::vector<grpc::Slice> slices;
    if (!buffer.Dump(&slices).ok()) return std::nullopt;
    std::string bytes;
    for (const grpc::Slice& s : slices) {
      bytes.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
    ModelStreamInferResponse response;
    if (!response.ParseFromString(bytes)) return std::nullopt;
    return response;
  }
  grpc::Status Close() {
    call_->WritesDone(Tag(4));
    Await(4);
    grpc::Status status;
    call_->Finish(&status, Tag(5));
    Await(5);
    return status;
  }

 private:
  static void* Tag(intptr_t n) { return reinterpret_cast<void*>(n); }
  // Waits for operation `n` (the only one outstanding) and returns its ok.
  bool Await(intptr_t n) {
    void* tag = nullptr;
    bool ok = false;
    const auto deadline = std::chrono::system_clock::now() + 30s;
    if (cq_.AsyncNext(&tag, &ok, deadline) != grpc::CompletionQueue::GOT_EVENT) return false;
    return tag == Tag(n) && ok;
  }

  grpc::GenericStub stub_;
  grpc::ClientContext context_;
  grpc::CompletionQueue cq_;
  std::unique_ptr<grpc::GenericClientAsyncReaderWriter> call_;
  bool ok_ = false;
};

bool IsFinal(const ModelStreamInferResponse& r) {
  auto it = r.infer_response().parameters().find("triton_final_response");
  return it != r.infer_response().parameters().end() && it->second.bool_param();
}

class GrpcLimits : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new LimitsServer({"--grpc-stream-max-pending-responses=4",
                                "--max-queue-size-default=8"});
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(server_->ready()) << server_->output(); }
  static LimitsServer* server_;
};
LimitsServer* GrpcLimits::server_ = nullptr;

// Triton's behaviour: the bad message gets a response with error_message (and
// triton_final_response, like every response), and the requests after it are served.
TEST_F(GrpcLimits, UnparseableStreamMessageGetsAnErrorAndTheStreamGoesOn) {
  RawStream stream(server_->grpc_address());
  ASSERT_TRUE(stream.ok());
  ASSERT_TRUE(stream.Write(FloatRequest("identity1", 4, "before")));
  // Field 1 (model_name) claims 16 bytes and carries 3: not a ModelInferRequest.
  ASSERT_TRUE(stream.WriteBytes(std::string("\x0a\x10" "abc", 5)));
  ASSERT_TRUE(stream.Write(FloatRequest("identity1", 4, "after")));

  std::vector<ModelStreamInferResponse> responses;
  for (int i = 0; i < 3; ++i) {
    auto r = stream.Read();
    ASSERT_TRUE(r.has_value()) << "response " << i << " missing: the stream ended early";
    responses.push_back(*r);
  }
  int errors = 0;
  std::vector<std::string> served;
  for (const auto& r : responses) {
    EXPECT_TRUE(IsFinal(r));
    if (!r.error_message().empty()) {
      ++errors;
      EXPECT_THAT(r.error_message(),
                  AllOf(HasSubstr("not a valid ModelInferRequest"), HasSubstr("stream goes on")));
    } else {
      served.push_back(r.infer_response().id());
      EXPECT_EQ(r.infer_response().raw_output_contents(0).size(), 16u);
    }
  }
  EXPECT_EQ(errors, 1);
  EXPECT_THAT(served, ::testing::UnorderedElementsAre("before", "after"));
  grpc::Status status = stream.Close();
  EXPECT_TRUE(status.ok()) << status.error_message();
  ExpectGrpcStillServes(server_->grpc_address());
}

// A client that writes 300 ResNet-sized requests and reads nothing: the server stops reading its
// stream after 4 pending responses, so the client's writes stall (HTTP/2 flow control) and the
// server's memory stays bounded; once the client reads, all 300 responses arrive in order.
// `bounded`: false for the measurements (which only print their figures).
void NeverReadStream(const LimitsServer& server, bool bounded, const std::string& label) {
  constexpr int kRequests = 300;
  auto stub = GRPCInferenceService::NewStub(NewChannel(server.grpc_address()));
  grpc::ClientContext context;
  auto stream = stub->ModelStreamInfer(&context);
  const long rss_before = server.RssKb();
  std::atomic<int> written{0};
  std::thread writer([&] {
    const ModelInferRequest request = FloatRequest("identity1", kResNetInputBytes / 4, "");
    for (int i = 0; i < kRequests; ++i) {
      ModelInferRequest r = request;
      r.set_id(std::to_string(i));
      if (!stream->Write(r)) return;
      written = i + 1;
    }
    stream->WritesDone();
  });
  // Wait until the writer stops making progress (blocked by flow control) or is done, and the
  // server's RSS settles.
  int last = -1;
  long rss_stalled = 0;
  for (int quiet = 0, round = 0; quiet < 10 && round < 300; ++round) {
    std::this_thread::sleep_for(100ms);
    const long rss = server.RssKb();
    quiet = written == last && rss == rss_stalled ? quiet + 1 : 0;
    last = written;
    rss_stalled = rss;
  }
  std::cout << "[ figures ] never-read stream (" << label << "): "
            << written << " of " << kRequests << " requests written before the client blocked; "
            << "server RSS " << rss_before / 1024 << " MB -> " << rss_stalled / 1024 << " MB (+"
            << (rss_stalled - rss_before) / 1024 << " MB)\n";
  if (bounded) {
    EXPECT_LT(written.load(), kRequests) << "the server kept reading a stream nobody reads";
    // Unbounded, 300 responses of 602 KB took +190 MB; 4 pending ones and gRPC's buffers are far
    // below this.
    EXPECT_LT(rss_stalled - rss_before, 100 * 1024)
        << "server RSS grew by " << (rss_stalled - rss_before) / 1024 << " MB";
  }

  ModelStreamInferResponse response;
  for (int i = 0; i < kRequests; ++i) {
    ASSERT_TRUE(stream->Read(&response)) << "response " << i << " missing";
    ASSERT_TRUE(response.error_message().empty()) << response.error_message();
    EXPECT_EQ(response.infer_response().id(), std::to_string(i));
    ASSERT_EQ(response.infer_response().raw_output_contents_size(), 1);
    EXPECT_EQ(response.infer_response().raw_output_contents(0).size(),
              static_cast<size_t>(kResNetInputBytes));
  }
  writer.join();
  EXPECT_FALSE(stream->Read(&response));
  grpc::Status status = stream->Finish();
  EXPECT_TRUE(status.ok()) << status.error_message();
  ExpectGrpcStillServes(server.grpc_address());
}

TEST_F(GrpcLimits, StreamThatIsNeverReadIsBoundedThenDeliversInOrder) {
  NeverReadStream(*server_, /*bounded=*/true, "--grpc-stream-max-pending-responses=4");
}

// The figure without back-pressure, for docs/reliability.md (run with
// --gtest_also_run_disabled_tests).
TEST(GrpcLimitsMeasure, DISABLED_StreamThatIsNeverReadWithoutLimits) {
  LimitsServer server(
      {"--grpc-stream-max-pending-responses=0", "--grpc-stream-max-pending-bytes=0"});
  ASSERT_TRUE(server.ready()) << server.output();
  NeverReadStream(server, /*bounded=*/false, "no limits");
}

// The default limits (256 responses, 64 MiB), for docs/reliability.md.
TEST(GrpcLimitsMeasure, DISABLED_StreamThatIsNeverReadWithDefaultLimits) {
  LimitsServer server;
  ASSERT_TRUE(server.ready()) << server.output();
  NeverReadStream(server, /*bounded=*/false, "default limits: 256 responses, 64 MiB");
}

// 64 clients at once against a model that takes 300 ms per request, with no dynamic batching:
// the queue holds `limit`, the rest are refused at once with the model and the limit named.
struct Outcome {
  int ok = 0;
  int refused = 0;
  std::vector<std::string> other;  // Anything else: a failure of the test.
};

Outcome FloodOverGrpc(const std::string& address, const std::string& model,
                      const std::string& expect_text) {
  constexpr int kClients = 64;
  Outcome outcome;
  std::mutex mu;
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      auto stub = GRPCInferenceService::NewStub(NewChannel(address));
      grpc::ClientContext context;
      ModelInferResponse response;
      grpc::Status s = stub->ModelInfer(&context, FloatRequest(model, 4, std::to_string(c)),
                                        &response);
      std::lock_guard<std::mutex> lock(mu);
      if (s.ok()) {
        ++outcome.ok;
      } else if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED &&
                 s.error_message().find(expect_text) != std::string::npos) {
        ++outcome.refused;
      } else {
        outcome.other.push_back(std::to_string(s.error_code()) + ": " + s.error_message());
      }
    });
  }
  for (auto& t : clients) t.join();
  std::cout << "[ figures ] 64 gRPC clients on " << model << ": " << outcome.ok << " served, "
            << outcome.refused << " refused with RESOURCE_EXHAUSTED\n";
  return outcome;
}

TEST_F(GrpcLimits, ModelWithoutBatcherRefusesPastItsQueueParameter) {
  Outcome o = FloodOverGrpc(server_->grpc_address(), "slow",
                            "model 'slow' refused: the queue is full (max_queue_size 4)");
  EXPECT_TRUE(o.other.empty()) << o.other.front();
  EXPECT_EQ(o.ok + o.refused, 64);
  EXPECT_GE(o.refused, 1);
  EXPECT_LE(o.ok, 64 - o.refused);
  ExpectGrpcStillServes(server_->grpc_address());
}

TEST_F(GrpcLimits, ModelWithoutBatcherRefusesPastTheServerDefault) {
  Outcome o = FloodOverGrpc(server_->grpc_address(), "slow_default",
                            "model 'slow_default' refused: the queue is full (max_queue_size 8)");
  EXPECT_TRUE(o.other.empty()) << o.other.front();
  EXPECT_EQ(o.ok + o.refused, 64);
  EXPECT_GE(o.refused, 1);
  ExpectGrpcStillServes(server_->grpc_address());
}

TEST_F(GrpcLimits, ModelWithoutBatcherRefusesWith503OverHttp) {
  constexpr int kClients = 64;
  std::mutex mu;
  int ok = 0, refused = 0;
  std::vector<std::string> other;
  std::vector<std::thread> clients;
  const std::string body =
      R"({"inputs":[{"name":"INPUT0","shape":[2],"datatype":"FP32","data":[1,2]}]})";
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&] {
      http_test::RawResponse r =
          http_test::Http(server_->http_port(), "POST", "/v2/models/slow/infer", body);
      std::lock_guard<std::mutex> lock(mu);
      if (r.status == 200) {
        ++ok;
      } else if (r.status == 503 &&
                 r.body.find("model 'slow' refused: the queue is full (max_queue_size 4)") !=
                     std::string::npos) {
        ++refused;
      } else {
        other.push_back(std::to_string(r.status) + " " + r.body);
      }
    });
  }
  for (auto& t : clients) t.join();
  std::cout << "[ figures ] 64 HTTP clients on slow: " << ok << " served, " << refused
            << " refused with 503\n";
  EXPECT_TRUE(other.empty()) << other.front();
  EXPECT_EQ(ok + refused, kClients);
  EXPECT_GE(refused, 1);
  http_test::RawResponse after =
      http_test::Http(server_->http_port(), "POST", "/v2/models/identity1/infer", body);
  EXPECT_EQ(after.status, 200) << after.body;
}

TEST(GrpcLimitsFlags, BadQueueParameterFailsThatModelsLoadWithItsName) {
  // A model whose max_queue_size is not a number is refused at load; the others load.
  const fs::path repo = fs::temp_directory_path() / ("inferd_badqueue_" + std::to_string(getpid()));
  fs::remove_all(repo);
  fs::create_directories(repo / "bad" / "1");
  std::ofstream(repo / "bad" / "config.pbtxt")
      << "name: \"bad\"\nbackend: \"builtin\"\nmax_batch_size: 0\n"
         "input [ { name: \"INPUT0\" data_type: TYPE_FP32 dims: [ -1 ] } ]\n"
         "output [ { name: \"OUTPUT0\" data_type: TYPE_FP32 dims: [ -1 ] } ]\n"
         "parameters { key: \"builtin_model\" value { string_value: \"identity\" } }\n"
         "parameters { key: \"max_queue_size\" value { string_value: \"lots\" } }\n";
  ServerProcess process(testing::InferdBinary(),
                        {"--model-repository=" + repo.string(), "--http-port=0", "--grpc-port=0",
                         "--allow-metrics=false", "--exit-on-error=true"});
  process.WaitForExit(60s);
  EXPECT_THAT(process.output(), AllOf(HasSubstr("parameter max_queue_size must be a non-negative "
                                                "integer"),
                                      HasSubstr("'lots'")));
  fs::remove_all(repo);
}

}  // namespace
}  // namespace inferd
