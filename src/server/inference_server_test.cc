// SPDX-License-Identifier: Apache-2.0
// The server facade with the real builtin backend plugin, through the in-process client.
#include "server/inference_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "inferd/client.h"

namespace inferd {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string Message(const absl::Status& s) { return std::string(s.message()); }

// A model repository in a fresh temporary folder.
class TempRepository {
 public:
  TempRepository() {
    root_ = fs::temp_directory_path() /
            ("inferd_server_test_" + std::to_string(::getpid()) + "_" + std::to_string(next_++));
    fs::remove_all(root_);
    fs::create_directories(root_);
  }
  ~TempRepository() { fs::remove_all(root_); }

  void AddModel(const std::string& name, const std::string& config,
                std::vector<int> versions = {1}) {
    fs::create_directories(root_ / name);
    std::ofstream(root_ / name / "config.pbtxt") << config;
    for (int v : versions) fs::create_directories(root_ / name / std::to_string(v));
  }
  void RemoveModel(const std::string& name) { fs::remove_all(root_ / name); }
  std::string path() const { return root_.string(); }

 private:
  static inline int next_ = 0;
  fs::path root_;
};

constexpr char kIdentity[] = R"pb(
  backend: "builtin" max_batch_size: 0
  input { name: "INPUT0" data_type: TYPE_FP32 dims: -1 }
  output { name: "OUTPUT0" data_type: TYPE_FP32 dims: -1 }
  instance_group { count: 2 })pb";

constexpr char kBusy[] = R"pb(
  backend: "builtin" max_batch_size: 16
  input { name: "INPUT0" data_type: TYPE_FP32 dims: -1 }
  output { name: "OUTPUT0" data_type: TYPE_FP32 dims: -1 }
  parameters { key: "busy_a_us" value { string_value: "20000" } })pb";

ServerOptions Options(const std::string& repo,
                      ModelControlMode mode = ModelControlMode::kExplicit) {
  ServerOptions options;
  options.model_repository = repo;
  options.backend_directory = INFERD_TEST_BACKEND_DIR;
  options.control_mode = mode;
  if (mode == ModelControlMode::kExplicit) options.startup_models = {"*"};
  return options;
}

InferRequest Fp32Request(const std::string& model, std::vector<float> values, int batch = 0) {
  InferRequest request;
  request.model_name = model;
  Shape shape = {static_cast<int64_t>(values.size())};
  if (batch > 0) shape = {batch, static_cast<int64_t>(values.size()) / batch};
  request.inputs.push_back(
      InferInput::Copy<float>("INPUT0", DataType::kFp32, shape, std::span<const float>(values)));
  return request;
}

absl::StatusOr<InferResponse> InferSync(InferenceServer& server, InferRequest request) {
  std::promise<absl::StatusOr<InferResponse>> done;
  server.Infer(std::move(request),
               [&done](absl::StatusOr<InferResponse> r) { done.set_value(std::move(r)); });
  return done.get_future().get();
}

std::unique_ptr<Client> ExampleClient() {
  ClientOptions options;
  options.backend_directory = INFERD_TEST_BACKEND_DIR;
  auto client = Client::Create(std::string("local://") + INFERD_EXAMPLE_REPOSITORY, options);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *std::move(client) : nullptr;
}

// ServerOptions::inline_execution_max_us reaches the schedulers: with it on, once a first
// execution has set the estimate, a request whose transport allows it runs on the calling thread;
// with it at 0, and for a model with dynamic batching, it runs on an instance thread.
TEST(InferenceServer, InlineExecutionFollowsTheServerOption) {
  TempRepository repo;
  repo.AddModel("identity", kIdentity);
  repo.AddModel("batched", R"pb(
    backend: "builtin" max_batch_size: 8
    parameters { key: "builtin_model" value { string_value: "identity" } }
    input { name: "INPUT0" data_type: TYPE_FP32 dims: -1 }
    output { name: "OUTPUT0" data_type: TYPE_FP32 dims: -1 }
    dynamic_batching {})pb");
  for (int max_us : {1000000, 0}) {
    ServerOptions options = Options(repo.path());
    options.inline_execution_max_us = max_us;
    auto server = InferenceServer::Create(options);
    ASSERT_TRUE(server.ok()) << server.status();
    for (const std::string model : {"identity", "batched"}) {
      const int batch = model == "batched" ? 1 : 0;
      ASSERT_TRUE(InferSync(**server, Fp32Request(model, {1.0f}, batch)).ok());  // The estimate.
      std::promise<std::thread::id> ran_on;
      (*server)->Infer(
          Fp32Request(model, {2.0f}, batch),
          [&ran_on](absl::StatusOr<InferResponse> r) {
            EXPECT_TRUE(r.ok()) << r.status();
            ran_on.set_value(std::this_thread::get_id());
          },
          nullptr, InferOptions{.allow_inline = true});
      const bool ran_here = ran_on.get_future().get() == std::this_thread::get_id();
      EXPECT_EQ(ran_here, max_us > 0 && model == "identity")
          << model << " with inline_execution_max_us " << max_us;
    }
  }
}

// InferOptions::inline_max_input_bytes (gRPC's 64 KiB): a request whose inputs are larger runs
// on an instance thread even where inline execution is allowed; one at or under the limit inline.
TEST(InferenceServer, InlineExecutionRespectsTheInputByteLimit) {
  TempRepository repo;
  repo.AddModel("identity", kIdentity);
  ServerOptions options = Options(repo.path());
  options.inline_execution_max_us = 1000000;
  auto server = InferenceServer::Create(options);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_TRUE(InferSync(**server, Fp32Request("identity", {1.0f})).ok());  // The estimate.
  for (size_t values : {size_t{4}, size_t{5}}) {  // 16 bytes (the limit), then 20.
    std::promise<std::thread::id> ran_on;
    (*server)->Infer(
        Fp32Request("identity", std::vector<float>(values, 1.0f)),
        [&ran_on](absl::StatusOr<InferResponse> r) {
          EXPECT_TRUE(r.ok()) << r.status();
          ran_on.set_value(std::this_thread::get_id());
        },
        nullptr, InferOptions{.allow_inline = true, .inline_max_input_bytes = 16});
    const bool ran_here = ran_on.get_future().get() == std::this_thread::get_id();
    EXPECT_EQ(ran_here, values == 4) << values * sizeof(float) << " input bytes";
  }
}

TEST(InferenceServer, IdentityReturnsItsInput) {
  auto client = ExampleClient();
  ASSERT_NE(client, nullptr);
  InferRequest request = Fp32Request("identity", {1.5f, -2.0f, 3.25f});
  request.id = "req-7";
  auto response = client->Infer(std::move(request));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->model_name, "identity");
  EXPECT_EQ(response->model_version, 1);
  EXPECT_EQ(response->id, "req-7");
  const InferOutput* out = response->FindOutput("OUTPUT0");
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(out->datatype, DataType::kFp32);
  EXPECT_THAT(out->shape, ElementsAre(3));
  EXPECT_THAT(out->As<float>(), ElementsAre(1.5f, -2.0f, 3.25f));
}

TEST(InferenceServer, AddSubComputesSumAndDifference) {
  auto client = ExampleClient();
  ASSERT_NE(client, nullptr);
  std::vector<int32_t> a(32), b(32);
  for (int i = 0; i < 32; ++i) {
    a[static_cast<size_t>(i)] = i;
    b[static_cast<size_t>(i)] = 100 - 3 * i;
  }
  InferRequest request;
  request.model_name = "add_sub";
  request.inputs.push_back(InferInput::Copy<int32_t>("INPUT0", DataType::kInt32, {2, 16}, a));
  request.inputs.push_back(InferInput::Copy<int32_t>("INPUT1", DataType::kInt32, {2, 16}, b));
  auto response = client->Infer(std::move(request));
  ASSERT_TRUE(response.ok()) << response.status();
  const InferOutput* sum = response->FindOutput("OUTPUT0");
  const InferOutput* diff = response->FindOutput("OUTPUT1");
  ASSERT_NE(sum, nullptr);
  ASSERT_NE(diff, nullptr);
  EXPECT_THAT(sum->shape, ElementsAre(2, 16));
  for (size_t i = 0; i < 32; ++i) {
    EXPECT_EQ(sum->As<int32_t>()[i], a[i] + b[i]);
    EXPECT_EQ(diff->As<int32_t>()[i], a[i] - b[i]);
  }
}

TEST(InferenceServer, OnlyRequestedOutputsAreReturned) {
  auto client = ExampleClient();
  ASSERT_NE(client, nullptr);
  std::vector<int32_t> a(16, 5), b(16, 2);
  InferRequest request;
  request.model_name = "add_sub";
  request.inputs.push_back(InferInput::Copy<int32_t>("INPUT0", DataType::kInt32, {1, 16}, a));
  request.inputs.push_back(InferInput::Copy<int32_t>("INPUT1", DataType::kInt32, {1, 16}, b));
  request.outputs.push_back({"OUTPUT1", {}});
  auto response = client->Infer(std::move(request));
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->outputs.size(), 1u);
  EXPECT_EQ(response->outputs[0].name, "OUTPUT1");
  EXPECT_EQ(response->outputs[0].As<int32_t>()[0], 3);
}

TEST(InferenceServer, BusyReturnsEachRequestsOwnInput) {
  auto client = ExampleClient();
  ASSERT_NE(client, nullptr);
  std::vector<std::future<absl::StatusOr<InferResponse>>> futures;
  for (int i = 0; i < 4; ++i) {
    futures.push_back(client->InferAsync(Fp32Request("busy", {float(i), float(i) + 0.5f}, 1)));
  }
  for (int i = 0; i < 4; ++i) {
    auto response = futures[static_cast<size_t>(i)].get();
    ASSERT_TRUE(response.ok()) << response.status();
    EXPECT_THAT(response->outputs[0].As<float>(), ElementsAre(float(i), float(i) + 0.5f));
  }
}

TEST(InferenceServer, CallbackFormOfInferAsync) {
  auto client = ExampleClient();
  ASSERT_NE(client, nullptr);
  std::promise<absl::StatusOr<InferResponse>> done;
  client->InferAsync(Fp32Request("identity", {4.0f}),
                     [&done](absl::StatusOr<InferResponse> r) { done.set_value(std::move(r)); });
  auto response = done.get_future().get();
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_THAT(response->outputs[0].As<float>(), ElementsAre(4.0f));
}

TEST(InferenceServer, UnknownModelIsNotFound) {
  auto client = ExampleClient();
  ASSERT_NE(client, nullptr);
  auto response = client->Infer(Fp32Request("no_such_model", {1.0f}));
  EXPECT_EQ(response.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(response.status()), HasSubstr("no_such_model"));
  // The server keeps serving.
  EXPECT_TRUE(client->Infer(Fp32Request("identity", {1.0f})).ok());
}

TEST(InferenceServer, UnknownVersionIsNotFound) {
  auto client = ExampleClient();
  ASSERT_NE(client, nullptr);
  InferRequest request = Fp32Request("identity", {1.0f});
  request.model_version = 7;
  auto response = client->Infer(std::move(request));
  EXPECT_EQ(response.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(response.status()), AllOf(HasSubstr("identity"), HasSubstr("7")));
}

TEST(InferenceServer, InvalidRequestIsRefusedAndCountedAsFailure) {
  auto client = ExampleClient();
  ASSERT_NE(client, nullptr);
  InferRequest request = Fp32Request("identity", {1.0f});
  request.inputs[0].byte_size = 3;
  auto response = client->Infer(std::move(request));
  EXPECT_EQ(response.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(Message(response.status()), HasSubstr("byte size mismatch"));
  auto stats = client->GetModelStatistics("identity");
  ASSERT_TRUE(stats.ok()) << stats.status();
  ASSERT_EQ(stats->size(), 1u);
  EXPECT_EQ((*stats)[0].inference_stats.fail.count, 1u);
  EXPECT_EQ((*stats)[0].inference_stats.success.count, 0u);
}

TEST(InferenceServer, StatisticsCountRequestsAndExecutions) {
  auto client = ExampleClient();
  ASSERT_NE(client, nullptr);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(client->Infer(Fp32Request("busy", {1.0f, 2.0f, 3.0f, 4.0f}, 2)).ok());
  }
  auto stats = client->GetModelStatistics("busy", 1);
  ASSERT_TRUE(stats.ok()) << stats.status();
  ASSERT_EQ(stats->size(), 1u);
  const ModelStatistics& s = (*stats)[0];
  EXPECT_EQ(s.name, "busy");
  EXPECT_EQ(s.version, "1");
  EXPECT_EQ(s.inference_stats.success.count, 5u);
  EXPECT_EQ(s.inference_count, 10u);  // Batch elements.
  EXPECT_EQ(s.execution_count, 5u);
  // busy spends at least 5 ms per execution.
  EXPECT_GE(s.inference_stats.compute_infer.ns, 5u * 5'000'000u);
  EXPECT_GT(s.last_inference_ms, 0u);
  ASSERT_EQ(s.batch_stats.size(), 1u);
  EXPECT_EQ(s.batch_stats[0].batch_size, 2);
  EXPECT_EQ(s.batch_stats[0].compute_infer.count, 5u);
}

TEST(InferenceServer, MetadataDescribesServerAndModels) {
  auto client = ExampleClient();
  ASSERT_NE(client, nullptr);
  auto server = client->GetServerMetadata();
  ASSERT_TRUE(server.ok());
  EXPECT_EQ(server->name, "inferd");
  EXPECT_THAT(server->extensions, ::testing::Contains("model_repository"));
  auto meta = client->GetModelMetadata("add_sub");
  ASSERT_TRUE(meta.ok()) << meta.status();
  EXPECT_EQ(meta->name, "add_sub");
  EXPECT_THAT(meta->versions, ElementsAre("1"));
  EXPECT_EQ(meta->platform, "builtin");
  ASSERT_EQ(meta->inputs.size(), 2u);
  EXPECT_EQ(meta->inputs[0].name, "INPUT0");
  EXPECT_EQ(meta->inputs[0].datatype, DataType::kInt32);
  EXPECT_THAT(meta->inputs[0].shape, ElementsAre(-1, 16));
  EXPECT_THAT(meta->outputs[1].shape, ElementsAre(-1, 16));
  EXPECT_EQ(client->GetModelMetadata("nope").status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(*client->IsServerLive());
  EXPECT_TRUE(*client->IsServerReady());
  EXPECT_TRUE(*client->IsModelReady("identity"));
}

TEST(InferenceServer, ExplicitModeLoadsAndUnloadsThroughTheApi) {
  TempRepository repo;
  repo.AddModel("identity", kIdentity);
  ServerOptions options = Options(repo.path());
  options.startup_models.clear();
  auto server = InferenceServer::Create(options);
  ASSERT_TRUE(server.ok()) << server.status();
  EXPECT_FALSE(*(*server)->IsModelReady("identity", 0));
  auto before = InferSync(**server, Fp32Request("identity", {1.0f}));
  EXPECT_EQ(before.status().code(), absl::StatusCode::kUnavailable);

  ASSERT_TRUE((*server)->LoadModel("identity").ok());
  EXPECT_TRUE(*(*server)->IsModelReady("identity", 0));
  EXPECT_TRUE(InferSync(**server, Fp32Request("identity", {1.0f})).ok());
  auto index = (*server)->RepositoryIndex(false);
  ASSERT_EQ(index.size(), 1u);
  EXPECT_EQ(index[0].state, "READY");

  ASSERT_TRUE((*server)->UnloadModel("identity").ok());
  EXPECT_FALSE(*(*server)->IsModelReady("identity", 0));
  auto after = InferSync(**server, Fp32Request("identity", {1.0f}));
  EXPECT_EQ(after.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(Message(after.status()), HasSubstr("identity"));

  auto missing = (*server)->LoadModel("not_there");
  EXPECT_EQ(missing.code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(missing), HasSubstr("not_there"));
}

TEST(InferenceServer, ControlModeNoneRefusesLoadAndUnload) {
  TempRepository repo;
  repo.AddModel("identity", kIdentity);
  auto server = InferenceServer::Create(Options(repo.path(), ModelControlMode::kNone));
  ASSERT_TRUE(server.ok()) << server.status();
  absl::Status s = (*server)->UnloadModel("identity");
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(Message(s), HasSubstr("--model-control-mode=explicit"));
  EXPECT_TRUE(InferSync(**server, Fp32Request("identity", {1.0f})).ok());
}

TEST(InferenceServer, StartupFailsOnABadConfigNamingModelAndField) {
  TempRepository repo;
  repo.AddModel("identity", kIdentity);
  repo.AddModel("broken", R"pb(backend: "builtin" max_batch_size: -2
      input { name: "INPUT0" data_type: TYPE_FP32 dims: -1 }
      output { name: "OUTPUT0" data_type: TYPE_FP32 dims: -1 })pb");
  auto server = InferenceServer::Create(Options(repo.path(), ModelControlMode::kNone));
  ASSERT_FALSE(server.ok());
  EXPECT_THAT(Message(server.status()), AllOf(HasSubstr("broken"), HasSubstr("max_batch_size")));

  // Without exit-on-error the good model serves and the bad one reports why.
  ServerOptions lenient = Options(repo.path(), ModelControlMode::kNone);
  lenient.exit_on_error = false;
  auto running = InferenceServer::Create(lenient);
  ASSERT_TRUE(running.ok()) << running.status();
  EXPECT_TRUE(InferSync(**running, Fp32Request("identity", {1.0f})).ok());
  auto bad = InferSync(**running, Fp32Request("broken", {1.0f}));
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_FALSE((*running)->IsReady());
}

TEST(InferenceServer, MissingRepositoryIsAClearError) {
  auto server = InferenceServer::Create(Options("/nonexistent/inferd/repo"));
  EXPECT_EQ(server.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(Message(server.status()), HasSubstr("/nonexistent/inferd/repo"));
}

TEST(InferenceServer, VersionPolicyAllServesEveryVersion) {
  TempRepository repo;
  repo.AddModel("identity", std::string(kIdentity) + " version_policy { all {} }", {1, 2, 3});
  auto server = InferenceServer::Create(Options(repo.path()));
  ASSERT_TRUE(server.ok()) << server.status();
  auto meta = (*server)->GetModelMetadata("identity", 0);
  ASSERT_TRUE(meta.ok());
  EXPECT_THAT(meta->versions, ElementsAre("1", "2", "3"));
  InferRequest request = Fp32Request("identity", {1.0f});
  request.model_version = 2;
  auto response = InferSync(**server, std::move(request));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_EQ(response->model_version, 2);
  auto latest = InferSync(**server, Fp32Request("identity", {1.0f}));
  ASSERT_TRUE(latest.ok());
  EXPECT_EQ(latest->model_version, 3);
}

TEST(InferenceServer, PollModeFollowsTheRepository) {
  TempRepository repo;
  repo.AddModel("identity", kIdentity);
  ServerOptions options = Options(repo.path(), ModelControlMode::kPoll);
  options.repository_poll_secs = 1;
  auto server = InferenceServer::Create(options);
  ASSERT_TRUE(server.ok()) << server.status();
  repo.AddModel("second", std::string(kIdentity) +
                               R"pb( parameters { key: "builtin_model" value { string_value: "identity" } })pb");
  bool appeared = false;
  for (int i = 0; i < 100 && !appeared; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    appeared = (*server)->IsModelReady("second", 0).value_or(false);
  }
  EXPECT_TRUE(appeared) << "a model added to the repository was not loaded by polling";
  repo.RemoveModel("identity");
  bool gone = false;
  for (int i = 0; i < 100 && !gone; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    gone = !InferSync(**server, Fp32Request("identity", {1.0f})).ok();
  }
  EXPECT_TRUE(gone) << "a model removed from the repository kept serving";
}

TEST(InferenceServer, ShutdownLetsInFlightRequestsFinishAndRefusesNewOnes) {
  TempRepository repo;
  repo.AddModel("busy", kBusy);
  auto server = InferenceServer::Create(Options(repo.path()));
  ASSERT_TRUE(server.ok()) << server.status();
  std::vector<std::promise<absl::StatusOr<InferResponse>>> done(3);
  for (size_t i = 0; i < done.size(); ++i) {
    (*server)->Infer(Fp32Request("busy", {float(i)}, 1),
                     [&done, i](absl::StatusOr<InferResponse> r) { done[i].set_value(r); });
  }
  (*server)->BeginShutdown();
  EXPECT_FALSE((*server)->IsReady());
  auto refused = InferSync(**server, Fp32Request("busy", {1.0f}, 1));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(Message(refused.status()), HasSubstr("shutting down"));
  (*server)->Shutdown();
  for (size_t i = 0; i < done.size(); ++i) {
    auto r = done[i].get_future().get();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->outputs[0].As<float>()[0], float(i));
  }
}

// The first step of SIGTERM: readiness false at once, requests still served (the endpoint
// controller may still route some here).
TEST(InferenceServer, DrainTurnsReadinessFalseButKeepsServing) {
  TempRepository repo;
  repo.AddModel("identity", kIdentity);
  auto server = InferenceServer::Create(Options(repo.path()));
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_TRUE((*server)->IsReady());
  (*server)->BeginDrain();
  EXPECT_FALSE((*server)->IsReady());
  EXPECT_TRUE((*server)->IsLive());
  auto served = InferSync(**server, Fp32Request("identity", {7.0f}));
  ASSERT_TRUE(served.ok()) << served.status();
  EXPECT_EQ(served->outputs[0].As<float>()[0], 7.0f);
  (*server)->BeginShutdown();
  auto refused = InferSync(**server, Fp32Request("identity", {1.0f}));
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kUnavailable);
}

// 4 threads infer continuously while the model is unloaded and reloaded 20 times: every request
// either succeeds with its own output or gets a clean UNAVAILABLE / NOT_FOUND.
TEST(InferenceServer, UnloadAndReloadUnderTraffic) {
  TempRepository repo;
  repo.AddModel("identity", kIdentity);
  auto server = InferenceServer::Create(Options(repo.path()));
  ASSERT_TRUE(server.ok()) << server.status();
  std::atomic<bool> stop{false};
  std::atomic<int> ok{0}, refused{0}, wrong{0};
  std::vector<std::thread> clients;
  for (int t = 0; t < 4; ++t) {
    clients.emplace_back([&, t] {
      for (int i = 0; !stop.load(); ++i) {
        const float value = static_cast<float>(t * 1'000'000 + i);
        auto r = InferSync(**server, Fp32Request("identity", {value}));
        if (r.ok()) {
          if (r->outputs.size() == 1 && r->outputs[0].As<float>()[0] == value) {
            ok++;
          } else {
            wrong++;
          }
        } else if (r.status().code() == absl::StatusCode::kUnavailable ||
                   r.status().code() == absl::StatusCode::kNotFound) {
          refused++;
        } else {
          ADD_FAILURE() << "unexpected error: " << r.status();
          wrong++;
        }
      }
    });
  }
  for (int round = 0; round < 20; ++round) {
    ASSERT_TRUE((*server)->UnloadModel("identity").ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    ASSERT_TRUE((*server)->LoadModel("identity").ok());
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  stop = true;
  for (auto& c : clients) c.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_GT(ok.load(), 0);
  EXPECT_TRUE(InferSync(**server, Fp32Request("identity", {9.0f})).ok());
}

}  // namespace
}  // namespace inferd
