// SPDX-License-Identifier: Apache-2.0
// The dynamic batcher end to end, through the client library's in-process transport (local://)
// and the real builtin and torchscript plugins: 16 concurrent clients sending batch-1 requests
// get batched (the statistics show batches larger than 1) and each gets its own output; a full
// queue and a queue timeout give their errors and the server keeps serving.
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "inferd/client.h"
#include "inferd/status.h"

namespace inferd {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr int kClients = 16;

// A temporary model repository with one model, removed at the end.
class TempRepository {
 public:
  TempRepository(const std::string& model, const std::string& config) {
    char tmpl[] = "/tmp/inferd-batching-XXXXXX";
    root_ = mkdtemp(tmpl);
    fs::create_directories(root_ / model / "1");
    std::ofstream(root_ / model / "config.pbtxt") << config;
  }
  ~TempRepository() { fs::remove_all(root_); }
  std::string path() const { return root_.string(); }

 private:
  fs::path root_;
};

std::unique_ptr<Client> LocalClient(const std::string& repository) {
  ClientOptions options;
  options.backend_directory = INFERD_TEST_BACKEND_DIR;
  auto client = Client::Create("local://" + repository, options);
  EXPECT_TRUE(client.ok()) << client.status();
  return client.ok() ? *std::move(client) : nullptr;
}

std::string BusyConfig(int a_us, int b_us, int max_batch_size, const std::string& batching) {
  return "name: \"busy\"\nbackend: \"builtin\"\nmax_batch_size: " +
         std::to_string(max_batch_size) +
         "\ninput [ { name: \"INPUT0\" data_type: TYPE_FP32 dims: [ -1 ] } ]\n"
         "output [ { name: \"OUTPUT0\" data_type: TYPE_FP32 dims: [ -1 ] } ]\n"
         "instance_group [ { count: 1 kind: KIND_CPU } ]\n" +
         batching + "\nparameters { key: \"busy_a_us\" value { string_value: \"" +
         std::to_string(a_us) + "\" } }\nparameters { key: \"busy_b_us\" value { string_value: \"" +
         std::to_string(b_us) + "\" } }\n";
}

InferRequest BusyRequest(float value, int width = 4) {
  std::vector<float> values(static_cast<size_t>(width));
  for (int i = 0; i < width; ++i) values[static_cast<size_t>(i)] = value + 0.25f * i;
  InferRequest request;
  request.model_name = "busy";
  request.inputs.push_back(InferInput::Copy<float>("INPUT0", DataType::kFp32, {1, width},
                                                   std::span<const float>(values)));
  return request;
}

std::vector<float> Floats(const InferOutput& out) {
  auto v = out.As<float>();
  return {v.begin(), v.end()};
}

int64_t LargestBatch(const ModelStatistics& stats) {
  int64_t largest = 0;
  for (const BatchStats& b : stats.batch_stats) {
    if (b.compute_infer.count > 0) largest = std::max(largest, b.batch_size);
  }
  return largest;
}

TEST(DynamicBatchingE2eTest, SixteenBusyClientsAreBatchedAndGetTheirOwnOutputs) {
  // The example repository's busy model: a = 5 ms, b = 0.2 ms, dynamic_batching, max 16.
  ClientOptions options;
  options.backend_directory = INFERD_TEST_BACKEND_DIR;
  options.load_models = {"busy"};
  auto client = Client::Create(std::string("local://") + INFERD_EXAMPLE_REPOSITORY, options);
  ASSERT_TRUE(client.ok()) << client.status();
  constexpr int kRequestsPerClient = 8;
  std::atomic<int> wrong{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      for (int k = 0; k < kRequestsPerClient; ++k) {
        const float value = static_cast<float>(c * 100 + k);
        auto response = (*client)->Infer(BusyRequest(value));
        const InferOutput* out = response.ok() ? response->FindOutput("OUTPUT0") : nullptr;
        if (out == nullptr || Floats(*out) != std::vector<float>{value, value + 0.25f,
                                                                  value + 0.5f, value + 0.75f} ||
            out->shape != Shape{1, 4}) {
          ADD_FAILURE() << "client " << c << " request " << k << ": "
                        << (response.ok() ? "wrong output" : response.status().ToString());
          ++wrong;
        }
      }
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(wrong.load(), 0);

  auto stats = (*client)->GetModelStatistics("busy");
  ASSERT_TRUE(stats.ok()) << stats.status();
  ASSERT_EQ(stats->size(), 1u);
  const ModelStatistics& s = (*stats)[0];
  EXPECT_EQ(s.inference_count, static_cast<uint64_t>(kClients * kRequestsPerClient));
  EXPECT_LT(s.execution_count, s.inference_count) << "requests were batched";
  EXPECT_GT(LargestBatch(s), 1) << "batch_stats shows batches larger than 1";
  uint64_t elements = 0;
  for (const BatchStats& b : s.batch_stats) {
    elements += b.compute_infer.count * static_cast<uint64_t>(b.batch_size);
    EXPECT_GT(b.compute_infer.ns, 0u) << "batch size " << b.batch_size;
  }
  EXPECT_EQ(elements, s.inference_count);
}

TEST(DynamicBatchingE2eTest, FullQueueIsRefusedWith503AndServingContinues) {
  TempRepository repo(
      "busy", BusyConfig(500000, 0, 1,
                         "dynamic_batching { default_queue_policy { max_queue_size: 2 } }"));
  auto client = LocalClient(repo.path());
  ASSERT_NE(client, nullptr);
  std::vector<std::future<absl::StatusOr<InferResponse>>> futures;
  for (int i = 0; i < 8; ++i) futures.push_back(client->InferAsync(BusyRequest(float(i))));
  int ok = 0;
  int refused = 0;
  for (auto& f : futures) {
    absl::StatusOr<InferResponse> r = f.get();
    if (r.ok()) {
      ++ok;
      continue;
    }
    ++refused;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted) << r.status();
    EXPECT_EQ(HttpStatusFromStatusCode(r.status().code()), 503);
    EXPECT_THAT(std::string(r.status().message()),
                AllOf(HasSubstr("model 'busy'"), HasSubstr("queue is full"),
                      HasSubstr("max_queue_size 2")));
  }
  EXPECT_GE(refused, 1);
  EXPECT_GE(ok, 3) << "one running and two queued are always served";
  auto again = client->Infer(BusyRequest(42));
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(Floats(again->outputs[0])[0], 42.0f);
}

TEST(DynamicBatchingE2eTest, QueueTimeoutGives504AndServingContinues) {
  TempRepository repo(
      "busy", BusyConfig(300000, 0, 1,
                         "dynamic_batching { default_queue_policy { default_timeout_microseconds: "
                         "1000000 allow_timeout_override: true } }"));
  auto client = LocalClient(repo.path());
  ASSERT_NE(client, nullptr);
  auto first = client->InferAsync(BusyRequest(1));  // Holds the only instance for 300 ms.
  InferRequest hurried = BusyRequest(2);
  hurried.parameters["timeout"] = int64_t{1000};  // 1 ms: times out behind the first.
  auto second = client->InferAsync(std::move(hurried));
  absl::StatusOr<InferResponse> r = second.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_EQ(HttpStatusFromStatusCode(r.status().code()), 504);
  EXPECT_THAT(std::string(r.status().message()),
              AllOf(HasSubstr("model 'busy'"), HasSubstr("timed out"), HasSubstr("1000 us")));
  EXPECT_TRUE(first.get().ok());
  auto again = client->Infer(BusyRequest(3));
  ASSERT_TRUE(again.ok()) << again.status();
}

TEST(DynamicBatchingE2eTest, HigherPriorityRunsFirst) {
  TempRepository repo(
      "busy", BusyConfig(200000, 0, 1,
                         "dynamic_batching { priority_levels: 2 default_priority_level: 2 }"));
  auto client = LocalClient(repo.path());
  ASSERT_NE(client, nullptr);
  absl::Mutex mu;
  std::vector<float> order;
  std::atomic<int> done{0};
  auto record = [&](float key) {
    return [&, key](absl::StatusOr<InferResponse> r) {
      EXPECT_TRUE(r.ok()) << r.status();
      absl::MutexLock lock(&mu);
      order.push_back(key);
      ++done;
    };
  };
  client->InferAsync(BusyRequest(1), record(1));  // Runs at once; the others queue behind it.
  client->InferAsync(BusyRequest(2), record(2));  // Default level 2.
  InferRequest urgent = BusyRequest(3);
  urgent.parameters["priority"] = int64_t{1};
  client->InferAsync(std::move(urgent), record(3));
  absl::MutexLock lock(&mu);
  mu.Await(absl::Condition(+[](std::atomic<int>* d) { return d->load() == 3; }, &done));
  EXPECT_EQ(order, (std::vector<float>{1, 3, 2}));
}

// ---- ResNet50 TorchScript (needs `make models`) ----

std::vector<float> ReadF32(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<float> out(bytes.size() / sizeof(float));
  std::memcpy(out.data(), bytes.data(), out.size() * sizeof(float));
  return out;
}

float MaxDiff(std::span<const float> a, std::span<const float> b) {
  if (a.size() != b.size()) return INFINITY;
  float d = 0;
  for (size_t i = 0; i < a.size(); ++i) d = std::max(d, std::fabs(a[i] - b[i]));
  return d;
}

TEST(DynamicBatchingE2eTest, SixteenResnet50ClientsAreBatchedAndGetTheirOwnOutputs) {
  // The build generates this repository when it has the ML backends; INFERD_RESNET_REPOSITORY
  // points the test at another one (e.g. the example repository after `make models`).
  const char* env = std::getenv("INFERD_RESNET_REPOSITORY");
  const fs::path repo = env != nullptr ? fs::path(env) : fs::path(INFERD_RESNET_TEST_REPOSITORY);
  if (repo.empty()) {
    GTEST_SKIP() << "built without the ML backends (INFERD_WITH_ML_BACKENDS=OFF): no TorchScript";
  }
  const fs::path model_dir = repo / "resnet50_torchscript";
  ASSERT_TRUE(fs::exists(model_dir / "1" / "model.pt"))
      << model_dir << " has no 1/model.pt (generated at build time by examples/generate_models.py)";
  ClientOptions options;
  options.backend_directory = INFERD_TEST_BACKEND_DIR;
  options.load_models = {"resnet50_torchscript"};
  auto client = Client::Create("local://" + repo.string(), options);
  ASSERT_TRUE(client.ok()) << client.status();

  constexpr size_t kImage = 3 * 224 * 224;
  const std::vector<float> images = ReadF32(model_dir / "reference" / "input_b8.f32");
  const std::vector<float> reference = ReadF32(model_dir / "reference" / "output_b8.f32");
  ASSERT_EQ(images.size(), 8 * kImage);
  ASSERT_EQ(reference.size(), 8u * 1000);
  // 16 distinct inputs: the 8 reference images, and the same images darkened by half.
  auto input_of = [&](int c) {
    std::vector<float> image(images.begin() + static_cast<long>((c % 8) * kImage),
                             images.begin() + static_cast<long>((c % 8 + 1) * kImage));
    if (c >= 8) {
      for (float& v : image) v *= 0.5f;
    }
    InferRequest request;
    request.model_name = "resnet50_torchscript";
    request.inputs.push_back(InferInput::Copy<float>("INPUT__0", DataType::kFp32,
                                                     {1, 3, 224, 224},
                                                     std::span<const float>(image)));
    return request;
  };

  // Each input alone first (one at a time: batches of one), as the expected outputs.
  std::vector<std::vector<float>> alone(kClients);
  for (int c = 0; c < kClients; ++c) {
    auto r = (*client)->Infer(input_of(c));
    ASSERT_TRUE(r.ok()) << r.status();
    alone[static_cast<size_t>(c)] = Floats(r->outputs[0]);
  }
  for (int c = 0; c < 8; ++c) {
    EXPECT_LT(MaxDiff(alone[static_cast<size_t>(c)],
                      std::span<const float>(reference).subspan(static_cast<size_t>(c) * 1000,
                                                                1000)),
              1e-3f)
        << "image " << c << " against PyTorch's output";
  }

  std::vector<std::vector<float>> together(kClients);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      auto r = (*client)->Infer(input_of(c));
      if (!r.ok()) {
        ADD_FAILURE() << "client " << c << ": " << r.status();
        return;
      }
      together[static_cast<size_t>(c)] = Floats(r->outputs[0]);
    });
  }
  for (auto& t : clients) t.join();
  for (int c = 0; c < kClients; ++c) {
    EXPECT_LT(MaxDiff(together[static_cast<size_t>(c)], alone[static_cast<size_t>(c)]), 1e-3f)
        << "client " << c << " got another client's output";
  }
  // The darkened images give other outputs than the originals: outputs depend on inputs.
  EXPECT_GT(MaxDiff(alone[0], alone[8]), 1e-3f);

  auto stats = (*client)->GetModelStatistics("resnet50_torchscript");
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_GT(LargestBatch((*stats)[0]), 1) << "the 16 concurrent requests were batched";
}

}  // namespace
}  // namespace inferd
