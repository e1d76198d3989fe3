// SPDX-License-Identifier: Apache-2.0
// End-to-end: the requests that used to take the whole server down (issue 13) get a clear error
// over every transport, and the server keeps serving every client afterwards.
//   1. a declared shape of 10^12 elements with one element of data (JSON FP32/FP64);
//   2. the same for BYTES (HTTP binary data, gRPC raw_input_contents, ipc://);
//   3. JSON nested a million levels deep (infer, repository index/load/unload, shm register).
#include <grpcpp/grpcpp.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <tuple>

#include "grpc_service.grpc.pb.h"
#include "http_test_util.h"
#include "inferd/client.h"
#include "test_util/server_process.h"

namespace inferd {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using namespace std::chrono_literals;
using http_test::Http;
using http_test::RawResponse;

constexpr int64_t kHugeDim = 1'000'000'000'000;

// One BYTES element "a": its 4-byte little-endian length, then the byte.
const std::string kOneBytesElement("\x01\x00\x00\x00" "a", 5);

// The real inferd over identity (FP32), identity_fp64 and identity_bytes, serving HTTP, gRPC and
// ipc:// at once.
class HostileServer {
 public:
  HostileServer() {
    dir_ = fs::temp_directory_path() / ("inferd_hostile_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    for (const auto& [model, type] : {std::pair<std::string, std::string>{"identity", "TYPE_FP32"},
                                      {"identity_fp64", "TYPE_FP64"},
                                      {"identity_bytes", "TYPE_STRING"}}) {
      fs::create_directories(dir_ / "repo" / model / "1");
      std::ofstream(dir_ / "repo" / model / "config.pbtxt")
          << "name: \"" << model << "\"\nbackend: \"builtin\"\nmax_batch_size: 0\n"
          << "input [ { name: \"INPUT0\" data_type: " << type << " dims: [ -1 ] } ]\n"
          << "output [ { name: \"OUTPUT0\" data_type: " << type << " dims: [ -1 ] } ]\n"
          << "instance_group [ { count: 1 kind: KIND_CPU } ]\n"
          << "parameters { key: \"builtin_model\" value { string_value: \"identity\" } }\n";
    }
    process_ = std::make_unique<testing::ServerProcess>(
        testing::InferdBinary(),
        std::vector<std::string>{"--model-repository=" + (dir_ / "repo").string(),
                                 "--model-control-mode=explicit", "--load-model=*",
                                 "--http-port=0", "--grpc-port=0", "--allow-metrics=false",
                                 "--ipc-socket-path=" + (dir_ / "inferd.sock").string()});
    if (!process_->WaitForOutput("inferd ready", 60s)) return;
    const std::string& out = process_->output();
    http_port_ = http_test::ListeningPort(out);
    const std::string marker = "GRPC server listening on ";
    if (size_t at = out.find(marker); at != std::string::npos) {
      const std::string line = out.substr(at, out.find('\n', at) - at);
      grpc_port_ = std::stoi(line.substr(line.rfind(':') + 1));
    }
  }
  ~HostileServer() {
    process_.reset();
    fs::remove_all(dir_);
  }
  bool ok() const { return http_port_ > 0 && grpc_port_ > 0; }
  int http_port() const { return http_port_; }
  std::string grpc_address() const { return "127.0.0.1:" + std::to_string(grpc_port_); }
  std::string ipc_url() const { return "ipc://" + (dir_ / "inferd.sock").string(); }
  testing::ServerProcess& process() { return *process_; }

 private:
  fs::path dir_;
  std::unique_ptr<testing::ServerProcess> process_;
  int http_port_ = 0;
  int grpc_port_ = 0;
};

class HostileInput : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new HostileServer(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(server_->ok()) << server_->process().output(); }

  // After each hostile request: the process is alive and every transport still serves.
  void TearDown() override {
    ASSERT_EQ(kill(server_->process().pid(), 0), 0) << "the server died";
    RawResponse r = Http(server_->http_port(), "POST", "/v2/models/identity/infer",
                         R"({"inputs":[{"name":"INPUT0","shape":[2],"datatype":"FP32","data":[1,2]}]})");
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_THAT(r.body, HasSubstr("[1.0,2.0]"));
    for (const std::string& url :
         {"grpc://" + server_->grpc_address(), server_->ipc_url()}) {
      auto client = Client::Create(url);
      ASSERT_TRUE(client.ok()) << client.status();
      InferRequest request;
      request.model_name = "identity";
      const float values[] = {1.5f, -2.0f};
      request.inputs.push_back(
          InferInput::Copy<float>("INPUT0", DataType::kFp32, {2}, std::span<const float>(values)));
      auto response = (*client)->Infer(std::move(request));
      ASSERT_TRUE(response.ok()) << url << ": " << response.status();
      EXPECT_THAT(response->outputs.at(0).As<float>(), ::testing::ElementsAre(1.5f, -2.0f));
    }
  }

  static void ExpectHttpError(const RawResponse& r, int status, const std::string& words) {
    EXPECT_EQ(r.status, status) << r.body.substr(0, 300);
    EXPECT_THAT(r.body, HasSubstr(R"({"error":")"));
    EXPECT_THAT(r.body, HasSubstr(words));
  }

  static HostileServer* server_;
};

HostileServer* HostileInput::server_ = nullptr;

TEST_F(HostileInput, HttpJsonShapeLargerThanItsDataFp32AndFp64) {
  for (std::string model : {"identity", "identity_fp64"}) {
    const std::string type = model == "identity" ? "FP32" : "FP64";
    ExpectHttpError(Http(server_->http_port(), "POST", "/v2/models/" + model + "/infer",
                         R"({"inputs":[{"name":"INPUT0","shape":[1000000000000],"datatype":")" +
                             type + R"(","data":[1]}]})"),
                    400, "has 1 data elements, but its shape needs 1000000000000");
  }
}

TEST_F(HostileInput, HttpBinaryBytesShapeLargerThanItsData) {
  const std::string json =
      R"({"inputs":[{"name":"INPUT0","shape":[1000000000000],"datatype":"BYTES",)"
      R"("parameters":{"binary_data_size":5}}]})";
  RawResponse r = http_test::BinaryInfer(server_->http_port(), "identity_bytes",
                                         http_test::MakeBinaryBody(json, kOneBytesElement));
  ExpectHttpError(r, 400, "1000000000000");
}

TEST_F(HostileInput, HttpJsonNestedAMillionLevelsDeep) {
  const std::string deep(1'000'000, '[');
  const int port = server_->http_port();
  for (std::string target :
       {"/v2/models/identity/infer", "/v2/repository/index",
        "/v2/repository/models/identity/load", "/v2/repository/models/identity/unload",
        "/v2/systemsharedmemory/region/r/register"}) {
    SCOPED_TRACE(target);
    RawResponse r = Http(port, "POST", target, deep);
    EXPECT_EQ(r.status, 400) << r.body.substr(0, 300);
    if (target.find("systemsharedmemory") == std::string::npos) {
      EXPECT_THAT(r.body, HasSubstr("nest deeper than 100 levels"));
    }
  }
  // Nesting within the limit is still parsed (and then refused for what it is).
  std::string ok_depth = R"({"inputs":[{"name":"INPUT0","shape":[1],"datatype":"FP32","data":)";
  ok_depth += std::string(50, '[') + "1" + std::string(50, ']') + "}]}";
  RawResponse r = Http(port, "POST", "/v2/models/identity/infer", ok_depth);
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(HostileInput, GrpcRawBytesShapeLargerThanItsData) {
  auto stub = inference::GRPCInferenceService::NewStub(
      grpc::CreateChannel(server_->grpc_address(), grpc::InsecureChannelCredentials()));
  for (const auto& [model, type, raw] :
       {std::tuple<std::string, std::string, std::string>{"identity_bytes", "BYTES",
                                                          kOneBytesElement},
        {"identity", "FP32", std::string(4, '\0')}}) {
    SCOPED_TRACE(type);
    inference::ModelInferRequest request;
    request.set_model_name(model);
    auto* input = request.add_inputs();
    input->set_name("INPUT0");
    input->set_datatype(type);
    input->add_shape(kHugeDim);
    request.add_raw_input_contents(raw);
    inference::ModelInferResponse response;
    grpc::ClientContext context;
    const grpc::Status status = stub->ModelInfer(&context, request, &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
    // BYTES names the element counts; FP32 the byte sizes (as Triton words it).
    EXPECT_THAT(status.error_message(),
                HasSubstr(type == "BYTES" ? "1000000000000" : "Expected 4000000000000, got 4"));
  }
}

TEST_F(HostileInput, IpcBytesShapeLargerThanItsData) {
  auto client = Client::Create(server_->ipc_url());
  ASSERT_TRUE(client.ok()) << client.status();
  InferRequest request;
  request.model_name = "identity_bytes";
  request.inputs.push_back(
      InferInput::FromBytes("INPUT0", DataType::kBytes, {kHugeDim}, kOneBytesElement));
  auto response = (*client)->Infer(std::move(request));
  ASSERT_FALSE(response.ok());
  EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument) << response.status();
  EXPECT_THAT(std::string(response.status().message()), HasSubstr("1000000000000"));
}

}  // namespace
}  // namespace inferd
