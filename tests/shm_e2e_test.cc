// SPDX-License-Identifier: Apache-2.0
// End-to-end: Triton's system shared-memory extension on the real inferd binary, over HTTP and
// gRPC through inferd's own clients: regions created with inferd/shm.h, registered, and named by
// inputs and outputs; and one test per bad input, each followed by a request that still works.
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <numeric>

#include "http_test_util.h"
#include "inferd/client.h"
#include "inferd/shm.h"
#include "inferd/status.h"
#include "test_util/server_process.h"

namespace inferd {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::ServerProcess;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

// The real inferd with identity and add_sub on free HTTP and gRPC ports.
class ShmServer {
 public:
  explicit ShmServer(bool allow_client_shm, std::vector<std::string> extra_args = {}) {
    static int counter = 0;
    repo_ = fs::temp_directory_path() /
            ("inferd_shm_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(repo_);
    for (const char* model : {"identity", "add_sub"}) {
      fs::create_directories(repo_ / model / "1");
      fs::copy_file(fs::path(INFERD_EXAMPLE_REPOSITORY) / model / "config.pbtxt",
                    repo_ / model / "config.pbtxt");
    }
    std::vector<std::string> args = {"--model-repository=" + repo_.string(), "--http-port=0",
                                     "--grpc-port=0", "--allow-metrics=false",
                                     allow_client_shm ? "--allow-client-shm=true"
                                                      : "--allow-client-shm=false"};
    args.insert(args.end(), extra_args.begin(), extra_args.end());
    process_ = std::make_unique<ServerProcess>(testing::InferdBinary(), args);
    if (!process_->WaitForOutput("inferd ready", 60s)) return;
    http_port_ = PortAfter("HTTP server listening on ");
    grpc_port_ = PortAfter("GRPC server listening on ");
  }
  ~ShmServer() {
    process_.reset();
    fs::remove_all(repo_);
  }
  std::string Url(const std::string& scheme) const {
    return scheme + "://127.0.0.1:" + std::to_string(scheme == "http" ? http_port_ : grpc_port_);
  }
  bool ready() const { return http_port_ > 0 && grpc_port_ > 0; }
  int http_port() const { return http_port_; }
  const std::string& output() const { return process_->output(); }

 private:
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

std::string UniqueKey(const std::string& what) {
  static int counter = 0;
  return "/inferd_e2e_" + what + "_" + std::to_string(getpid()) + "_" + std::to_string(counter++);
}

class ShmEndToEnd : public ::testing::TestWithParam<std::string> {
 protected:
  static void SetUpTestSuite() {
    // Room for the fixture's two regions and two more (RegionsPastTheLimitAreRefused).
    enabled_ = new ShmServer(true, {"--max-shm-regions=4"});
    disabled_ = new ShmServer(false);
  }
  static void TearDownTestSuite() {
    delete enabled_;
    delete disabled_;
  }
  void SetUp() override {
    ASSERT_TRUE(enabled_->ready()) << enabled_->output();
    auto client = Client::Create(enabled_->Url(GetParam()));
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
    in_ = *SystemShmRegion::Create(UniqueKey("in"), 4096);
    out_ = *SystemShmRegion::Create(UniqueKey("out"), 4096);
    name_in_ = "in_" + GetParam();
    name_out_ = "out_" + GetParam();
    ASSERT_TRUE(client_->RegisterSystemSharedMemory(name_in_, in_->key(), 4096).ok());
    ASSERT_TRUE(client_->RegisterSystemSharedMemory(name_out_, out_->key(), 4096).ok());
  }
  void TearDown() override {
    if (client_) (void)client_->UnregisterSystemSharedMemory("");
  }

  // The code as this transport carries it (HTTP collapses codes onto its status codes).
  void ExpectError(const absl::Status& status, absl::StatusCode code,
                   const std::vector<std::string>& words) {
    ASSERT_FALSE(status.ok());
    if (GetParam() == "http") {
      EXPECT_EQ(HttpStatusFromStatusCode(status.code()), HttpStatusFromStatusCode(code)) << status;
    } else {
      EXPECT_EQ(status.code(), code) << status;
    }
    for (const std::string& w : words) EXPECT_THAT(std::string(status.message()), HasSubstr(w));
  }

  // Identity on 4 floats read from the input region at `offset`, written to the output region.
  absl::StatusOr<InferResponse> IdentityThroughRegions(size_t in_bytes = 16,
                                                       size_t out_bytes = 16,
                                                       size_t in_offset = 0) {
    InferRequest request;
    request.model_name = "identity";
    request.inputs.push_back(
        ShmInput("INPUT0", DataType::kFp32, {4}, name_in_, in_bytes, in_offset));
    request.outputs.push_back(ShmOutput("OUTPUT0", name_out_, out_bytes));
    return client_->Infer(std::move(request));
  }

  void ExpectStillServing() {
    const float values[4] = {9, 8, 7, 6};
    ASSERT_TRUE(in_->Write(0, std::as_bytes(std::span(values))).ok());
    auto response = IdentityThroughRegions();
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(std::memcmp(out_->data(), values, 16), 0);
  }

  static ShmServer* enabled_;
  static ShmServer* disabled_;
  std::unique_ptr<Client> client_;
  std::unique_ptr<SystemShmRegion> in_;
  std::unique_ptr<SystemShmRegion> out_;
  std::string name_in_;
  std::string name_out_;
};
ShmServer* ShmEndToEnd::enabled_ = nullptr;
ShmServer* ShmEndToEnd::disabled_ = nullptr;

TEST_P(ShmEndToEnd, IdentityReadsAndWritesRegionsInPlace) {
  const float values[4] = {1.5f, -2.0f, 3.25f, 1e6f};
  ASSERT_TRUE(in_->Write(128, std::as_bytes(std::span(values))).ok());
  auto response = IdentityThroughRegions(16, 64, 128);
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(std::memcmp(out_->data(), values, 16), 0);
  const InferOutput* out = response->FindOutput("OUTPUT0");
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(out->byte_size, 0u) << "an output written to shared memory carries no data";
  EXPECT_EQ(std::get<std::string>(out->parameters.at("shared_memory_region")), name_out_);
}

TEST_P(ShmEndToEnd, AddSubWithInputsAndOutputsInRegions) {
  std::vector<int32_t> a(16), b(16, 10);
  std::iota(a.begin(), a.end(), 0);
  ASSERT_TRUE(in_->Write(0, std::as_bytes(std::span(a))).ok());
  ASSERT_TRUE(in_->Write(64, std::as_bytes(std::span(b))).ok());
  InferRequest request;
  request.model_name = "add_sub";
  request.inputs.push_back(ShmInput("INPUT0", DataType::kInt32, {1, 16}, name_in_, 64, 0));
  request.inputs.push_back(ShmInput("INPUT1", DataType::kInt32, {1, 16}, name_in_, 64, 64));
  request.outputs.push_back(ShmOutput("OUTPUT0", name_out_, 64, 0));
  request.outputs.push_back(ShmOutput("OUTPUT1", name_out_, 64, 1024));
  auto response = client_->Infer(std::move(request));
  ASSERT_TRUE(response.ok()) << response.status();
  const auto* sum = reinterpret_cast<const int32_t*>(out_->data());
  const auto* diff = reinterpret_cast<const int32_t*>(out_->data() + 1024);
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ(sum[i], i + 10);
    EXPECT_EQ(diff[i], i - 10);
  }
}

TEST_P(ShmEndToEnd, StatusListsRegisteredRegions) {
  auto all = client_->GetSystemSharedMemoryStatus();
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 2u);
  auto one = client_->GetSystemSharedMemoryStatus(name_in_);
  ASSERT_TRUE(one.ok()) << one.status();
  ASSERT_EQ(one->size(), 1u);
  EXPECT_EQ((*one)[0].key, in_->key());
  EXPECT_EQ((*one)[0].byte_size, 4096u);
  ASSERT_TRUE(client_->UnregisterSystemSharedMemory(name_in_).ok());
  EXPECT_EQ(client_->GetSystemSharedMemoryStatus()->size(), 1u);
}

TEST_P(ShmEndToEnd, DisabledServerRefusesAndSaysHowToEnable) {
  auto client = Client::Create(disabled_->Url(GetParam()));
  ASSERT_TRUE(client.ok());
  ExpectError((*client)->RegisterSystemSharedMemory("r", in_->key(), 64),
              absl::StatusCode::kFailedPrecondition, {"disabled", "--allow-client-shm"});
  InferRequest request;
  request.model_name = "identity";
  request.inputs.push_back(ShmInput("INPUT0", DataType::kFp32, {4}, "r", 16));
  ExpectError((*client)->Infer(std::move(request)).status(), absl::StatusCode::kFailedPrecondition,
              {"--allow-client-shm"});
  const float values[1] = {4};
  auto plain = (*client)->Infer([&] {
    InferRequest r;
    r.model_name = "identity";
    r.inputs.push_back(
        InferInput::Copy<float>("INPUT0", DataType::kFp32, {1}, std::span<const float>(values)));
    return r;
  }());
  EXPECT_TRUE(plain.ok()) << plain.status();
}

TEST_P(ShmEndToEnd, UnregisteredRegionIsRefused) {
  InferRequest request;
  request.model_name = "identity";
  request.inputs.push_back(ShmInput("INPUT0", DataType::kFp32, {4}, "never_registered", 16));
  ExpectError(client_->Infer(std::move(request)).status(), absl::StatusCode::kNotFound,
              {"input 'INPUT0'", "never_registered", "not registered"});
  ExpectStillServing();
}

TEST_P(ShmEndToEnd, KeyThatDoesNotExistIsRefused) {
  ExpectError(client_->RegisterSystemSharedMemory("ghost", "/inferd_no_such_key_e2e", 64),
              absl::StatusCode::kNotFound, {"/inferd_no_such_key_e2e", "does not exist"});
  ExpectStillServing();
}

TEST_P(ShmEndToEnd, OffsetPlusSizeBeyondTheRegionIsRefused) {
  ExpectError(client_->RegisterSystemSharedMemory("big", in_->key(), 4096, 1),
              absl::StatusCode::kInvalidArgument, {"exceeds the 4096 bytes"});
  ExpectError(IdentityThroughRegions(16, 16, 4090).status(), absl::StatusCode::kInvalidArgument,
              {"input 'INPUT0'", "exceeds the 4096 bytes"});
  ExpectStillServing();
}

TEST_P(ShmEndToEnd, OutputRegionTooSmallIsRefused) {
  ExpectError(IdentityThroughRegions(16, 8).status(), absl::StatusCode::kInvalidArgument,
              {"output 'OUTPUT0' needs 16 bytes", "provides only 8"});
  ExpectStillServing();
}

TEST_P(ShmEndToEnd, UnregisterThenUseIsRefused) {
  ASSERT_TRUE(client_->UnregisterSystemSharedMemory(name_out_).ok());
  ExpectError(IdentityThroughRegions().status(), absl::StatusCode::kNotFound,
              {"output 'OUTPUT0'", "not registered"});
  ASSERT_TRUE(client_->RegisterSystemSharedMemory(name_out_, out_->key(), 4096).ok());
  ExpectStillServing();
}

TEST_P(ShmEndToEnd, RegisteringTheSameNameTwiceIsRefused) {
  ExpectError(client_->RegisterSystemSharedMemory(name_in_, in_->key(), 64),
              absl::StatusCode::kAlreadyExists, {name_in_, "already registered"});
  ExpectStillServing();
}

// Each region holds an fd and a mapping: past --max-shm-regions a registration is refused with
// RESOURCE_EXHAUSTED (HTTP 503) naming the limit and the flag; unregistering makes room again.
TEST_P(ShmEndToEnd, RegionsPastTheLimitAreRefused) {
  auto extra = *SystemShmRegion::Create(UniqueKey("extra"), 4096);
  ASSERT_TRUE(client_->RegisterSystemSharedMemory("third", extra->key(), 64).ok());
  ASSERT_TRUE(client_->RegisterSystemSharedMemory("fourth", extra->key(), 64).ok());
  ExpectError(client_->RegisterSystemSharedMemory("fifth", extra->key(), 64),
              absl::StatusCode::kResourceExhausted,
              {"'fifth'", "already holds 4 regions", "--max-shm-regions 4", "unregister"});
  auto status = client_->GetSystemSharedMemoryStatus("fifth");
  EXPECT_FALSE(status.ok()) << "the refused region must not be registered";
  ExpectStillServing();
  ASSERT_TRUE(client_->UnregisterSystemSharedMemory("third").ok());
  EXPECT_TRUE(client_->RegisterSystemSharedMemory("fifth", extra->key(), 64).ok());
}

TEST_P(ShmEndToEnd, InputWithDataAndARegionIsRefused) {
  if (GetParam() == "http") {
    // inferd's HTTP client never sends both; a raw request does.
    const std::string body =
        R"({"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[4],"data":[1,2,3,4],)"
        R"("parameters":{"shared_memory_region":")" +
        name_in_ + R"(","shared_memory_byte_size":16}}]})";
    http_test::RawResponse r =
        http_test::Http(enabled_->http_port(), "POST", "/v2/models/identity/infer", body,
                        {"Content-Type: application/json"});
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_THAT(r.body, HasSubstr("\"error\""));
    EXPECT_THAT(r.body, HasSubstr("input 'INPUT0'"));
    EXPECT_THAT(r.body, HasSubstr("also carries data"));
    ExpectStillServing();
    return;
  }
  const float values[4] = {1, 2, 3, 4};
  InferRequest request;
  request.model_name = "identity";
  InferInput in =
      InferInput::Copy<float>("INPUT0", DataType::kFp32, {4}, std::span<const float>(values));
  in.parameters = ShmInput("INPUT0", DataType::kFp32, {4}, name_in_, 16).parameters;
  request.inputs.push_back(in);
  ExpectError(client_->Infer(std::move(request)).status(), absl::StatusCode::kInvalidArgument,
              {"input 'INPUT0'", "also carries data"});
  ExpectStillServing();
}

// The extension's HTTP endpoints on the wire, as a client of another project sends them
// (protocols.md section 4): register, status of one and of all, infer with regions, unregister.
TEST(ShmHttpWire, RegisterStatusInferAndUnregisterAsRawHttp) {
  ShmServer server(/*allow_client_shm=*/true);
  ASSERT_TRUE(server.ready()) << server.output();
  const int port = server.http_port();
  auto in = SystemShmRegion::Create(UniqueKey("wire_in"), 64);
  auto out = SystemShmRegion::Create(UniqueKey("wire_out"), 64);
  ASSERT_TRUE(in.ok() && out.ok());
  const float values[4] = {1.5f, -2, 3, 4};
  ASSERT_TRUE((*in)->Write(0, std::as_bytes(std::span(values))).ok());
  for (const auto& [name, key] : {std::pair{std::string("wire_in"), (*in)->key()},
                                  std::pair{std::string("wire_out"), (*out)->key()}}) {
    auto r = http_test::Http(port, "POST", "/v2/systemsharedmemory/region/" + name + "/register",
                             R"({"key":")" + key + R"(","offset":0,"byte_size":64})",
                             {"Content-Type: application/json"});
    EXPECT_EQ(r.status, 200) << r.body;
  }
  auto one = http_test::Http(port, "GET", "/v2/systemsharedmemory/region/wire_in/status");
  EXPECT_EQ(one.status, 200) << one.body;
  EXPECT_THAT(one.body, HasSubstr(R"("name":"wire_in")"));
  EXPECT_THAT(one.body, HasSubstr(R"("key":")" + (*in)->key() + "\""));
  EXPECT_THAT(one.body, HasSubstr(R"("byte_size":64)"));
  auto all = http_test::Http(port, "GET", "/v2/systemsharedmemory/status");
  EXPECT_EQ(all.status, 200) << all.body;
  EXPECT_THAT(all.body, HasSubstr("wire_in"));
  EXPECT_THAT(all.body, HasSubstr("wire_out"));

  const std::string infer =
      R"({"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[4],"parameters":)"
      R"({"shared_memory_region":"wire_in","shared_memory_byte_size":16}}],)"
      R"("outputs":[{"name":"OUTPUT0","parameters":)"
      R"({"shared_memory_region":"wire_out","shared_memory_byte_size":16}}]})";
  auto r = http_test::Http(port, "POST", "/v2/models/identity/infer", infer,
                           {"Content-Type: application/json"});
  ASSERT_EQ(r.status, 200) << r.body;
  // The output is in the region, and the response says where instead of carrying data.
  EXPECT_EQ(std::memcmp((*out)->data(), values, sizeof(values)), 0);
  EXPECT_THAT(r.body, HasSubstr(R"("shared_memory_region":"wire_out")"));
  EXPECT_THAT(r.body, ::testing::Not(HasSubstr(R"("data")")));

  auto gone = http_test::Http(port, "POST", "/v2/systemsharedmemory/region/wire_in/unregister");
  EXPECT_EQ(gone.status, 200) << gone.body;
  auto after = http_test::Http(port, "GET", "/v2/systemsharedmemory/region/wire_in/status");
  EXPECT_EQ(after.status, 404) << after.body;  // NOT_FOUND, as protocols.md maps it.
  EXPECT_THAT(after.body, HasSubstr("shared memory region 'wire_in' is not registered"));
  auto rest = http_test::Http(port, "POST", "/v2/systemsharedmemory/unregister");
  EXPECT_EQ(rest.status, 200) << rest.body;
  auto none = http_test::Http(port, "GET", "/v2/systemsharedmemory/status");
  EXPECT_EQ(none.status, 200);
  EXPECT_THAT(none.body, ::testing::Not(HasSubstr("wire_out")));
}

INSTANTIATE_TEST_SUITE_P(Transports, ShmEndToEnd, ::testing::Values("http", "grpc"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace inferd
