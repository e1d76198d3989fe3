// SPDX-License-Identifier: Apache-2.0
// End-to-end: the real inferd binary over gRPC, through inferd's own grpc:// client.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <cstring>
#include <future>
#include <map>
#include <numeric>

#include "absl/synchronization/mutex.h"
#include "grpc_test_server.h"
#include "inferd/client.h"

namespace inferd {
namespace {

using testing::AllDatatypes;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using testing::GrpcTestServer;
using ::testing::HasSubstr;
using testing::LowerCase;
using namespace std::chrono_literals;
using namespace std::string_literals;

class GrpcEndToEnd : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new GrpcTestServer(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(server_->port(), 0) << server_->process().output();
    auto client = Client::Create(server_->url());
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
  }

  static InferRequest IdentityRequest(std::vector<float> values, std::string id = "") {
    InferRequest request;
    request.model_name = "identity";
    request.id = std::move(id);
    const int64_t n = static_cast<int64_t>(values.size());
    request.inputs.push_back(
        InferInput::Copy<float>("INPUT0", DataType::kFp32, {n}, std::span<const float>(values)));
    return request;
  }

  static InferRequest AddSubRequest(int32_t offset) {
    std::vector<int32_t> a(16), b(16, offset);
    std::iota(a.begin(), a.end(), 0);
    InferRequest request;
    request.model_name = "add_sub";
    request.inputs.push_back(InferInput::Copy<int32_t>("INPUT0", DataType::kInt32, {1, 16},
                                                       std::span<const int32_t>(a)));
    request.inputs.push_back(InferInput::Copy<int32_t>("INPUT1", DataType::kInt32, {1, 16},
                                                       std::span<const int32_t>(b)));
    return request;
  }

  static GrpcTestServer* server_;
  std::unique_ptr<Client> client_;
};
GrpcTestServer* GrpcEndToEnd::server_ = nullptr;

TEST_F(GrpcEndToEnd, HealthRpcsAnswer) {
  EXPECT_EQ(client_->IsServerLive().value_or(false), true);
  EXPECT_EQ(client_->IsServerReady().value_or(false), true);
  EXPECT_EQ(client_->IsModelReady("identity").value_or(false), true);
  EXPECT_EQ(client_->IsModelReady("add_sub", 1).value_or(false), true);
  // gRPC ModelReady answers an unknown model with ready false, as Triton does.
  auto unknown = client_->IsModelReady("no_such_model");
  ASSERT_TRUE(unknown.ok()) << unknown.status();
  EXPECT_FALSE(*unknown);
}

TEST_F(GrpcEndToEnd, HugeModelNameIsNotFoundWithTheNameCut) {
  // The name is echoed cut to 128 bytes: a 1 MB one would exceed the client's metadata limit
  // (RESOURCE_EXHAUSTED instead of the NOT_FOUND the server sent).
  InferRequest request = IdentityRequest({1.f});
  request.model_name = std::string(1 << 20, 'm');
  auto response = client_->Infer(std::move(request));
  EXPECT_EQ(response.status().code(), absl::StatusCode::kNotFound) << response.status();
  EXPECT_THAT(std::string(response.status().message()),
              HasSubstr("unknown model: '" + std::string(128, 'm') + "'... (1048576 bytes)"));
  EXPECT_TRUE(client_->Infer(IdentityRequest({1.f})).ok());
}

TEST_F(GrpcEndToEnd, ServerAndModelMetadata) {
  auto server = client_->GetServerMetadata();
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_EQ(server->name, "inferd");
  EXPECT_THAT(server->extensions, Contains("model_repository"));
  auto model = client_->GetModelMetadata("add_sub");
  ASSERT_TRUE(model.ok()) << model.status();
  EXPECT_EQ(model->name, "add_sub");
  EXPECT_THAT(model->versions, ElementsAre("1"));
  ASSERT_EQ(model->inputs.size(), 2u);
  EXPECT_EQ(model->inputs[0].name, "INPUT0");
  EXPECT_EQ(model->inputs[0].datatype, DataType::kInt32);
  EXPECT_THAT(model->inputs[0].shape, ElementsAre(-1, 16));
  EXPECT_EQ(model->outputs[1].name, "OUTPUT1");
}

TEST_F(GrpcEndToEnd, ModelConfigComesBackAsTritonsSchema) {
  auto config = client_->GetModelConfig("add_sub");
  ASSERT_TRUE(config.ok()) << config.status();
  EXPECT_THAT(*config, AllOf(HasSubstr("name: \"add_sub\""), HasSubstr("max_batch_size: 8"),
                             HasSubstr("TYPE_INT32")));
  auto missing = client_->GetModelConfig("no_such_model");
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kNotFound);
}

TEST_F(GrpcEndToEnd, IdentityReturnsEveryDatatypeUnchanged) {
  for (const auto& [type_name, config_type] : AllDatatypes()) {
    SCOPED_TRACE(type_name);
    const DataType type = *DataTypeFromName(type_name);
    std::string bytes;
    if (type == DataType::kBytes) {
      bytes = SerializeBytesTensor(std::vector<std::string>{"a", "", "hello", "\x00\xff"s, "z"});
    } else {
      for (size_t i = 0; i < 5 * DataTypeByteSize(type); ++i) {
        bytes.push_back(type == DataType::kBool ? static_cast<char>(i % 2)
                                                : static_cast<char>(i * 37 + 1));
      }
    }
    InferRequest request;
    request.model_name = "identity_" + LowerCase(type_name);
    request.id = "id-" + type_name;
    request.inputs.push_back(InferInput::FromBytes("INPUT0", type, {5}, bytes));
    auto response = client_->Infer(std::move(request));
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_EQ(response->id, "id-" + type_name);
    EXPECT_EQ(response->model_version, 1);
    ASSERT_EQ(response->outputs.size(), 1u);
    const InferOutput& out = response->outputs[0];
    EXPECT_EQ(out.name, "OUTPUT0");
    EXPECT_EQ(out.datatype, type);
    EXPECT_THAT(out.shape, ElementsAre(5));
    EXPECT_EQ(out.bytes(), bytes);
  }
}

TEST_F(GrpcEndToEnd, AddSubComputesSumAndDifference) {
  auto response = client_->Infer(AddSubRequest(3));
  ASSERT_TRUE(response.ok()) << response.status();
  const InferOutput* sum = response->FindOutput("OUTPUT0");
  const InferOutput* diff = response->FindOutput("OUTPUT1");
  ASSERT_TRUE(sum && diff);
  EXPECT_THAT(sum->shape, ElementsAre(1, 16));
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ(sum->As<int32_t>()[i], i + 3);
    EXPECT_EQ(diff->As<int32_t>()[i], i - 3);
  }
  InferRequest only_diff = AddSubRequest(1);
  only_diff.outputs.push_back(RequestedOutput{"OUTPUT1", {}});
  auto partial = client_->Infer(std::move(only_diff));
  ASSERT_TRUE(partial.ok()) << partial.status();
  ASSERT_EQ(partial->outputs.size(), 1u);
  EXPECT_EQ(partial->outputs[0].name, "OUTPUT1");
}

TEST_F(GrpcEndToEnd, ResNetSizedInputRoundTrips) {
  std::vector<float> values(602112 / sizeof(float));
  for (size_t i = 0; i < values.size(); ++i) values[i] = static_cast<float>(i) * 0.5f;
  auto response = client_->Infer(IdentityRequest(values));
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->outputs[0].byte_size, 602112u);
  EXPECT_EQ(std::memcmp(response->outputs[0].data, values.data(), 602112), 0);
}

TEST_F(GrpcEndToEnd, InferAsyncWithFuturesAndCallbacks) {
  std::vector<std::future<absl::StatusOr<InferResponse>>> futures;
  for (int i = 0; i < 32; ++i) {
    futures.push_back(client_->InferAsync(IdentityRequest({float(i), 1.f}, std::to_string(i))));
  }
  absl::Mutex mu;
  std::map<std::string, float> by_callback;
  for (int i = 0; i < 32; ++i) {
    client_->InferAsync(IdentityRequest({float(100 + i)}, "cb" + std::to_string(i)),
                        [&](absl::StatusOr<InferResponse> r) {
                          absl::MutexLock lock(&mu);
                          if (r.ok()) by_callback[r->id] = r->outputs[0].As<float>()[0];
                        });
  }
  for (int i = 0; i < 32; ++i) {
    auto r = futures[static_cast<size_t>(i)].get();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->id, std::to_string(i));
    EXPECT_EQ(r->outputs[0].As<float>()[0], float(i));
  }
  absl::MutexLock lock(&mu);
  auto all = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu) { return by_callback.size() == 32; };
  ASSERT_TRUE(mu.AwaitWithTimeout(absl::Condition(&all), absl::Seconds(30)));
  for (int i = 0; i < 32; ++i) EXPECT_EQ(by_callback["cb" + std::to_string(i)], float(100 + i));
}

TEST_F(GrpcEndToEnd, StatisticsCountInferences) {
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(client_->Infer(AddSubRequest(i)).ok());
  auto stats = client_->GetModelStatistics("add_sub");
  ASSERT_TRUE(stats.ok()) << stats.status();
  ASSERT_EQ(stats->size(), 1u);
  EXPECT_EQ((*stats)[0].name, "add_sub");
  EXPECT_EQ((*stats)[0].version, "1");
  EXPECT_GE((*stats)[0].inference_count, 3u);
  EXPECT_GE((*stats)[0].inference_stats.success.count, 3u);
  EXPECT_GT((*stats)[0].last_inference_ms, 0u);
  auto all = client_->GetModelStatistics();
  ASSERT_TRUE(all.ok());
  EXPECT_GE(all->size(), 2u);
}

TEST_F(GrpcEndToEnd, RepositoryIndexUnloadAndLoad) {
  auto index = client_->GetRepositoryIndex();
  ASSERT_TRUE(index.ok()) << index.status();
  bool found = false;
  for (const auto& e : *index) found |= e.name == "add_sub" && e.state == "READY";
  EXPECT_TRUE(found);

  ASSERT_TRUE(client_->UnloadModel("add_sub").ok());
  EXPECT_EQ(client_->IsModelReady("add_sub").value_or(true), false);
  auto refused = client_->Infer(AddSubRequest(1));
  EXPECT_FALSE(refused.ok());
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("add_sub"));

  ASSERT_TRUE(client_->LoadModel("add_sub").ok());
  EXPECT_EQ(client_->IsModelReady("add_sub").value_or(false), true);
  EXPECT_TRUE(client_->Infer(AddSubRequest(1)).ok());

  auto unknown = client_->LoadModel("no_such_model");
  EXPECT_EQ(unknown.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(unknown.message()), HasSubstr("no_such_model"));
}

TEST_F(GrpcEndToEnd, StreamOf100WithBadRequestsInTheMiddle) {
  absl::Mutex mu;
  std::map<std::string, absl::StatusOr<InferResponse>> results;
  auto stream =
      client_->StartStream([&](const std::string& id, absl::StatusOr<InferResponse> result) {
        absl::MutexLock lock(&mu);
        results.emplace(id, std::move(result));
      });
  ASSERT_TRUE(stream.ok()) << stream.status();
  for (int i = 0; i < 100; ++i) {
    InferRequest request = IdentityRequest({float(i), float(-i)}, std::to_string(i));
    if (i % 10 == 5) request.inputs[0].name = "BOGUS";      // Unknown input.
    if (i % 10 == 7) request.model_name = "no_such_model";  // Unknown model.
    ASSERT_TRUE((*stream)->Write(std::move(request)).ok());
  }
  ASSERT_TRUE((*stream)->Finish().ok());
  absl::MutexLock lock(&mu);
  ASSERT_EQ(results.size(), 100u);
  for (int i = 0; i < 100; ++i) {
    SCOPED_TRACE(i);
    const auto& r = results.at(std::to_string(i));
    if (i % 10 == 5) {
      EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
      EXPECT_THAT(std::string(r.status().message()),
                  HasSubstr("unexpected inference input 'BOGUS'"));
    } else if (i % 10 == 7) {
      EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
      EXPECT_THAT(std::string(r.status().message()), HasSubstr("no_such_model"));
    } else {
      ASSERT_TRUE(r.ok()) << r.status();
      EXPECT_THAT(r->outputs[0].As<float>(), ElementsAre(float(i), float(-i)));
    }
  }
  EXPECT_TRUE(client_->Infer(IdentityRequest({1.f})).ok());  // Still serving.
}

TEST(GrpcShutdown, SigtermWithOpenStreamExitsCleanly) {
  GrpcTestServer server;
  ASSERT_NE(server.port(), 0) << server.process().output();
  auto client = Client::Create(server.url());
  ASSERT_TRUE(client.ok());
  std::atomic<int> responses{0};
  auto stream = (*client)->StartStream(
      [&](const std::string&, absl::StatusOr<InferResponse>) { ++responses; });
  ASSERT_TRUE(stream.ok());
  InferRequest request;
  request.model_name = "identity";
  std::vector<float> v = {1.f};
  request.inputs.push_back(
      InferInput::Copy<float>("INPUT0", DataType::kFp32, {1}, std::span<const float>(v)));
  ASSERT_TRUE((*stream)->Write(request).ok());
  server.process().Signal(SIGTERM);
  EXPECT_EQ(server.process().WaitForExit(30s), 0) << server.process().output();
  EXPECT_THAT(server.process().output(), HasSubstr("inferd stopped"));
  stream->reset();  // Cancels if the server has not ended it.
}

}  // namespace
}  // namespace inferd
