// SPDX-License-Identifier: Apache-2.0
// End-to-end: the torchscript and onnx backend plugins serving real models through the real
// InferenceServer (in-process client, local://), checked against PyTorch's outputs. The models
// and reference outputs come from examples/generate_models.py --test-models at build time.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "inferd/client.h"

namespace inferd {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

const fs::path kModels = INFERD_TEST_MODELS_DIR;

std::vector<float> ReadF32(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in) << "missing " << path;
  std::vector<float> values(fs::file_size(path) / sizeof(float));
  in.read(reinterpret_cast<char*>(values.data()),
          static_cast<std::streamsize>(values.size() * sizeof(float)));
  return values;
}

std::string Message(const absl::Status& status) { return std::string(status.message()); }

constexpr char kSmallCnnTorchScript[] = R"cfg(
    platform: "pytorch_libtorch"
    max_batch_size: 8
    input [ { name: "INPUT__0" data_type: TYPE_FP32 dims: [ 3, 32, 32 ] } ]
    output [ { name: "OUTPUT__0" data_type: TYPE_FP32 dims: [ 10 ] } ]
    parameters { key: "INTRA_OP_THREAD_COUNT" value { string_value: "2" } }
)cfg";

constexpr char kSmallCnnOnnx[] = R"cfg(
    backend: "opencv_dnn"
    max_batch_size: 8
    input [ { name: "input" data_type: TYPE_FP32 dims: [ 3, 32, 32 ] } ]
    output [ { name: "output" data_type: TYPE_FP32 dims: [ 10 ] } ]
)cfg";

constexpr char kIdentity[] = R"cfg(
    backend: "builtin"
    max_batch_size: 0
    input [ { name: "INPUT0" data_type: TYPE_FP32 dims: [ -1 ] } ]
    output [ { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ -1 ] } ]
)cfg";

class BackendsEndToEnd : public ::testing::Test {
 protected:
  BackendsEndToEnd()
      : repo_(fs::temp_directory_path() /
              ("inferd_backends_e2e_" + std::to_string(getpid()) + "_" +
               ::testing::UnitTest::GetInstance()->current_test_info()->name())) {
    fs::remove_all(repo_);
    AddModel("identity", kIdentity, "", "");
    AddModel("small_cnn_pt", kSmallCnnTorchScript, "small_cnn.pt", "model.pt");
    AddModel("small_cnn_onnx", kSmallCnnOnnx, "small_cnn.onnx", "model.onnx");
  }
  ~BackendsEndToEnd() override {
    client_.reset();
    fs::remove_all(repo_);
  }

  // A model folder: config (with its name), and version 1 holding a copy of a test model file.
  void AddModel(const std::string& name, const std::string& config, const std::string& source,
                const std::string& filename) {
    fs::create_directories(repo_ / name / "1");
    std::ofstream(repo_ / name / "config.pbtxt") << "name: \"" << name << "\"\n" << config;
    if (!source.empty()) fs::copy_file(kModels / source, repo_ / name / "1" / filename);
  }
  void WriteFile(const fs::path& relative, const std::string& bytes) {
    std::ofstream(repo_ / relative, std::ios::binary | std::ios::trunc) << bytes;
  }

  void Start(std::vector<std::string> models) {
    ClientOptions options;
    options.backend_directory = INFERD_TEST_BACKEND_DIR;
    options.load_models = std::move(models);
    auto client = Client::Create("local://" + repo_.string(), options);
    ASSERT_TRUE(client.ok()) << client.status();
    client_ = *std::move(client);
  }

  absl::StatusOr<InferResponse> InferFloats(const std::string& model, const std::string& input,
                                            Shape shape, const std::vector<float>& values) {
    InferRequest request;
    request.model_name = model;
    request.inputs.push_back(
        InferInput::Copy<float>(input, DataType::kFp32, std::move(shape), values));
    return client_->Infer(std::move(request));
  }

  // The small CNN through `model` at `batch` matches PyTorch's output within 1e-4.
  void ExpectSmallCnnMatchesPyTorch(const std::string& model, const std::string& input,
                                    const std::string& output, int batch) {
    const std::vector<float> in = ReadF32(kModels / RefFile("small_cnn_input_b", batch));
    const std::vector<float> want = ReadF32(kModels / RefFile("small_cnn_output_b", batch));
    ASSERT_EQ(in.size(), static_cast<size_t>(batch) * 3 * 32 * 32);
    auto response = InferFloats(model, input, {batch, 3, 32, 32}, in);
    ASSERT_TRUE(response.ok()) << response.status();
    const InferOutput* out = response->FindOutput(output);
    ASSERT_NE(out, nullptr);
    EXPECT_EQ(out->datatype, DataType::kFp32);
    EXPECT_EQ(out->shape, (Shape{batch, 10}));
    const auto got = out->As<float>();
    ASSERT_EQ(got.size(), want.size());
    float max_diff = 0;
    for (size_t i = 0; i < want.size(); ++i)
      max_diff = std::max(max_diff, std::abs(got[i] - want[i]));
    EXPECT_LE(max_diff, 1e-4f) << model << " at batch " << batch;
  }

  // The models that were loaded before a failed load still answer.
  void ExpectOthersKeepServing() {
    EXPECT_EQ(client_->IsModelReady("small_cnn_pt").value_or(false), true);
    ExpectSmallCnnMatchesPyTorch("small_cnn_pt", "INPUT__0", "OUTPUT__0", 1);
    auto identity = InferFloats("identity", "INPUT0", {3}, {1, 2, 3});
    ASSERT_TRUE(identity.ok()) << identity.status();
    EXPECT_THAT(identity->FindOutput("OUTPUT0")->As<float>(), ::testing::ElementsAre(1, 2, 3));
  }

  // A load of `model` fails with INVALID_ARGUMENT naming the model and containing `words`.
  void ExpectLoadFails(const std::string& model, std::vector<std::string> words) {
    absl::Status status = client_->LoadModel(model);
    ASSERT_FALSE(status.ok()) << model << " loaded";
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    EXPECT_THAT(Message(status), HasSubstr("model '" + model + "'"));
    for (const std::string& word : words) EXPECT_THAT(Message(status), HasSubstr(word));
    EXPECT_EQ(client_->IsModelReady(model).value_or(false), false);
    ExpectOthersKeepServing();
  }

  static std::string RefFile(const std::string& prefix, int batch) {
    return prefix + std::to_string(batch) + ".f32";
  }

  fs::path repo_;
  std::unique_ptr<Client> client_;
};

TEST_F(BackendsEndToEnd, TorchScriptMatchesPyTorchAtBatch1And4) {
  Start({"small_cnn_pt"});
  ExpectSmallCnnMatchesPyTorch("small_cnn_pt", "INPUT__0", "OUTPUT__0", 1);
  ExpectSmallCnnMatchesPyTorch("small_cnn_pt", "INPUT__0", "OUTPUT__0", 4);
}

TEST_F(BackendsEndToEnd, OnnxMatchesPyTorchAtBatch1And4) {
  // small_cnn.onnx is the exporter's raw output with the Identity-on-initializer pattern that
  // OpenCV 4.6 rejects on its own: the backend's rewrite is what lets it load.
  Start({"small_cnn_onnx"});
  ExpectSmallCnnMatchesPyTorch("small_cnn_onnx", "input", "output", 1);
  ExpectSmallCnnMatchesPyTorch("small_cnn_onnx", "input", "output", 4);
}

TEST_F(BackendsEndToEnd, TwoInstancesServeConcurrentRequestsCorrectly) {
  // TorchScript instances share one module; each ONNX instance has its own Net, the second built
  // from the file again.
  const std::string two = R"(instance_group [ { count: 2 kind: KIND_CPU } ])";
  AddModel("cnn_pt_x2", std::string(kSmallCnnTorchScript) + two, "small_cnn.pt", "model.pt");
  AddModel("cnn_onnx_x2", std::string(kSmallCnnOnnx) + two, "small_cnn.onnx", "model.onnx");
  Start({"cnn_pt_x2", "cnn_onnx_x2"});
  const std::vector<float> in = ReadF32(kModels / "small_cnn_input_b4.f32");
  const std::vector<float> want = ReadF32(kModels / "small_cnn_output_b4.f32");
  std::vector<std::future<absl::StatusOr<InferResponse>>> pending;
  for (int i = 0; i < 8; ++i) {
    InferRequest request;
    request.model_name = i % 2 ? "cnn_pt_x2" : "cnn_onnx_x2";
    request.inputs.push_back(
        InferInput::Copy<float>(i % 2 ? "INPUT__0" : "input", DataType::kFp32, {4, 3, 32, 32}, in));
    pending.push_back(client_->InferAsync(std::move(request)));
  }
  for (auto& future : pending) {
    absl::StatusOr<InferResponse> response = future.get();
    ASSERT_TRUE(response.ok()) << response.status();
    const auto got = response->outputs.at(0).As<float>();
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-4) << i;
  }
}

TEST_F(BackendsEndToEnd, OptimizeForInferenceKeepsTheOutputs) {
  AddModel("small_cnn_optimized",
           std::string(kSmallCnnTorchScript) +
               R"(parameters { key: "OPTIMIZE_FOR_INFERENCE" value { string_value: "true" } })",
           "small_cnn.pt", "model.pt");
  Start({"small_cnn_optimized"});
  ExpectSmallCnnMatchesPyTorch("small_cnn_optimized", "INPUT__0", "OUTPUT__0", 4);
}

TEST_F(BackendsEndToEnd, TensorCacheOffKeepsTheOutputs) {
  AddModel("small_cnn_uncached",
           std::string(kSmallCnnTorchScript) +
               R"(parameters { key: "TENSOR_CACHE_MB" value { string_value: "0" } })",
           "small_cnn.pt", "model.pt");
  AddModel("small_cnn_cached",
           std::string(kSmallCnnTorchScript) +
               R"(parameters { key: "TENSOR_CACHE_MB" value { string_value: "1024" } })",
           "small_cnn.pt", "model.pt");
  Start({"small_cnn_uncached"});
  ExpectSmallCnnMatchesPyTorch("small_cnn_uncached", "INPUT__0", "OUTPUT__0", 1);
  ExpectSmallCnnMatchesPyTorch("small_cnn_uncached", "INPUT__0", "OUTPUT__0", 4);
  // The setting is process-wide and the last load wins: this one turns the cache back on.
  ASSERT_TRUE(client_->LoadModel("small_cnn_cached").ok());
  ExpectSmallCnnMatchesPyTorch("small_cnn_cached", "INPUT__0", "OUTPUT__0", 4);
}

TEST_F(BackendsEndToEnd, TritonBackendNamesSelectTheMatchingBackend) {
  AddModel("cnn_backend_pytorch", R"cfg(
    backend: "pytorch"
    max_batch_size: 4
    input [ { name: "INPUT__0" data_type: TYPE_FP32 dims: [ 3, 32, 32 ] } ]
    output [ { name: "OUTPUT__0" data_type: TYPE_FP32 dims: [ 10 ] } ]
  )cfg",
           "small_cnn.pt", "model.pt");
  AddModel("cnn_backend_onnxruntime", R"cfg(
    backend: "onnxruntime"
    max_batch_size: 4
    input [ { name: "input" data_type: TYPE_FP32 dims: [ 3, 32, 32 ] } ]
    output [ { name: "output" data_type: TYPE_FP32 dims: [ 10 ] } ]
  )cfg",
           "small_cnn.onnx", "model.onnx");
  Start({"cnn_backend_pytorch", "cnn_backend_onnxruntime"});
  ExpectSmallCnnMatchesPyTorch("cnn_backend_pytorch", "INPUT__0", "OUTPUT__0", 4);
  ExpectSmallCnnMatchesPyTorch("cnn_backend_onnxruntime", "input", "output", 4);
}

TEST_F(BackendsEndToEnd, TritonInputOutputIndicesPickArgumentsAndResults) {
  // add_sub.pt is forward(a, b) -> (a + b, a - b). The config lists INPUT__1 (b) first and
  // OUTPUT__1 (the difference) first: the __<n> suffixes, not the order, decide.
  AddModel("add_sub_pt", R"cfg(
    platform: "pytorch_libtorch"
    max_batch_size: 0
    input [ { name: "INPUT__1" data_type: TYPE_FP32 dims: [ 4 ] },
            { name: "INPUT__0" data_type: TYPE_FP32 dims: [ 4 ] } ]
    output [ { name: "OUTPUT__1" data_type: TYPE_FP32 dims: [ 4 ] },
             { name: "OUTPUT__0" data_type: TYPE_FP32 dims: [ 4 ] } ]
  )cfg",
           "add_sub.pt", "model.pt");
  Start({"add_sub_pt"});
  InferRequest request;
  request.model_name = "add_sub_pt";
  const std::vector<float> a = {10, 20, 30, 40};
  const std::vector<float> b = {1, 2, 3, 4};
  request.inputs.push_back(InferInput::Copy<float>("INPUT__0", DataType::kFp32, {4}, a));
  request.inputs.push_back(InferInput::Copy<float>("INPUT__1", DataType::kFp32, {4}, b));
  auto response = client_->Infer(std::move(request));
  ASSERT_TRUE(response.ok()) << response.status();
  EXPECT_THAT(response->FindOutput("OUTPUT__0")->As<float>(),
              ::testing::ElementsAre(11, 22, 33, 44));
  EXPECT_THAT(response->FindOutput("OUTPUT__1")->As<float>(),
              ::testing::ElementsAre(9, 18, 27, 36));
}

TEST_F(BackendsEndToEnd, StatisticsReportTheMemoryEachLoadAdded) {
  Start({"identity", "small_cnn_pt", "small_cnn_onnx"});
  auto stats = client_->GetModelStatistics();
  ASSERT_TRUE(stats.ok()) << stats.status();
  std::map<std::string, int64_t> memory;
  for (const ModelStatistics& s : *stats) memory[s.name] = s.memory_bytes;
  // The small CNN's weights alone are ~8 KB; the RSS the load added is larger.
  EXPECT_GT(memory["small_cnn_pt"], 8 * 1024);
  EXPECT_GT(memory["small_cnn_onnx"], 8 * 1024);
  EXPECT_EQ(memory.count("identity"), 1u);
}

// Bad models: each load fails with a message naming the model and the problem, and the models
// loaded before keep serving.

TEST_F(BackendsEndToEnd, CorruptTorchScriptFileFailsItsLoad) {
  AddModel("corrupt_pt", kSmallCnnTorchScript, "", "");
  WriteFile("corrupt_pt/1/model.pt", "this is not a TorchScript archive");
  Start({"identity", "small_cnn_pt"});
  ExpectLoadFails("corrupt_pt", {"cannot load", "as a TorchScript module", "model.pt"});
}

TEST_F(BackendsEndToEnd, CorruptOnnxFileFailsItsLoad) {
  AddModel("corrupt_onnx", kSmallCnnOnnx, "", "");
  WriteFile("corrupt_onnx/1/model.onnx", "this is not an ONNX model\xff\xfe");
  Start({"identity", "small_cnn_pt"});
  ExpectLoadFails("corrupt_onnx", {"not a valid ONNX model", "model.onnx"});
}

TEST_F(BackendsEndToEnd, TruncatedOnnxFileFailsItsLoad) {
  AddModel("truncated_onnx", kSmallCnnOnnx, "", "");
  std::ifstream in(kModels / "small_cnn.onnx", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  WriteFile("truncated_onnx/1/model.onnx", bytes.substr(0, bytes.size() / 2));
  Start({"identity", "small_cnn_pt"});
  ExpectLoadFails("truncated_onnx", {"not a valid ONNX model"});
}

TEST_F(BackendsEndToEnd, MissingModelFileFailsTheLoad) {
  AddModel("no_file_pt", kSmallCnnTorchScript, "", "");
  AddModel("no_file_onnx", kSmallCnnOnnx, "", "");
  Start({"identity", "small_cnn_pt"});
  ExpectLoadFails("no_file_pt", {"model file", "1/model.pt", "does not exist"});
  ExpectLoadFails("no_file_onnx", {"model file", "1/model.onnx", "does not exist"});
}

TEST_F(BackendsEndToEnd, ConfigInputsNotMatchingTorchScriptArgumentsFailTheLoad) {
  // add_sub.pt takes (a, b); this config feeds only one of them.
  AddModel("one_input_pt", R"cfg(
    platform: "pytorch_libtorch"
    max_batch_size: 0
    input [ { name: "a" data_type: TYPE_FP32 dims: [ 4 ] } ]
    output [ { name: "OUTPUT__0" data_type: TYPE_FP32 dims: [ 4 ] } ]
  )cfg",
           "add_sub.pt", "model.pt");
  // small_cnn.pt takes one argument; this config declares two inputs.
  AddModel("two_inputs_pt", R"cfg(
    platform: "pytorch_libtorch"
    max_batch_size: 8
    input [ { name: "INPUT__0" data_type: TYPE_FP32 dims: [ 3, 32, 32 ] },
            { name: "INPUT__1" data_type: TYPE_FP32 dims: [ 3, 32, 32 ] } ]
    output [ { name: "OUTPUT__0" data_type: TYPE_FP32 dims: [ 10 ] } ]
  )cfg",
           "small_cnn.pt", "model.pt");
  Start({"identity", "small_cnn_pt"});
  ExpectLoadFails("one_input_pt", {"forward() argument 'b'", "no default value"});
  ExpectLoadFails("two_inputs_pt", {"2 input(s)", "forward() takes 1 argument(s)"});
}

TEST_F(BackendsEndToEnd, ConfigInputsNotMatchingTheOnnxGraphFailTheLoad) {
  AddModel("wrong_name_onnx", R"cfg(
    backend: "opencv_dnn"
    max_batch_size: 8
    input [ { name: "images" data_type: TYPE_FP32 dims: [ 3, 32, 32 ] } ]
    output [ { name: "output" data_type: TYPE_FP32 dims: [ 10 ] } ]
  )cfg",
           "small_cnn.onnx", "model.onnx");
  AddModel("wrong_dims_onnx", R"cfg(
    backend: "opencv_dnn"
    max_batch_size: 8
    input [ { name: "input" data_type: TYPE_FP32 dims: [ 3, 64, 64 ] } ]
    output [ { name: "output" data_type: TYPE_FP32 dims: [ 10 ] } ]
  )cfg",
           "small_cnn.onnx", "model.onnx");
  Start({"identity", "small_cnn_pt"});
  ExpectLoadFails("wrong_name_onnx",
                  {"config input 'images'", "not an input of the ONNX graph", "its inputs: input"});
  ExpectLoadFails("wrong_dims_onnx", {"config input 'input'", "[3,64,64]", "[-1,3,32,32]"});
}

TEST_F(BackendsEndToEnd, WrongDatatypeFailsTheLoad) {
  AddModel("int_input_pt", R"cfg(
    platform: "pytorch_libtorch"
    max_batch_size: 8
    input [ { name: "INPUT__0" data_type: TYPE_INT32 dims: [ 3, 32, 32 ] } ]
    output [ { name: "OUTPUT__0" data_type: TYPE_FP32 dims: [ 10 ] } ]
  )cfg",
           "small_cnn.pt", "model.pt");
  AddModel("int_output_pt", R"cfg(
    platform: "pytorch_libtorch"
    max_batch_size: 8
    input [ { name: "INPUT__0" data_type: TYPE_FP32 dims: [ 3, 32, 32 ] } ]
    output [ { name: "OUTPUT__0" data_type: TYPE_INT64 dims: [ 10 ] } ]
  )cfg",
           "small_cnn.pt", "model.pt");
  AddModel("int_input_onnx", R"cfg(
    backend: "opencv_dnn"
    max_batch_size: 8
    input [ { name: "input" data_type: TYPE_INT32 dims: [ 3, 32, 32 ] } ]
    output [ { name: "output" data_type: TYPE_FP32 dims: [ 10 ] } ]
  )cfg",
           "small_cnn.onnx", "model.onnx");
  Start({"identity", "small_cnn_pt"});
  // TorchScript signatures carry no dtypes: the trial run at load finds the mismatch.
  ExpectLoadFails("int_input_pt", {"does not match the model", "INPUT__0 INT32 [1,3,32,32]"});
  ExpectLoadFails("int_output_pt",
                  {"output 'OUTPUT__0' is a Float tensor", "the config declares TYPE_INT64"});
  ExpectLoadFails("int_input_onnx", {"datatype TYPE_INT32", "the ONNX graph's is FLOAT"});
}

TEST_F(BackendsEndToEnd, ModelThatThrowsFailsTheRequestAndStaysLoaded) {
  AddModel("throws_pt", R"cfg(
    platform: "pytorch_libtorch"
    max_batch_size: 0
    input [ { name: "INPUT__0" data_type: TYPE_FP32 dims: [ -1 ] } ]
    output [ { name: "OUTPUT__0" data_type: TYPE_FP32 dims: [ -1 ] } ]
  )cfg",
           "throws_on_negative.pt", "model.pt");
  Start({"identity", "small_cnn_pt", "throws_pt"});
  auto failed = InferFloats("throws_pt", "INPUT__0", {3}, {1, -2, 3});
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(Message(failed.status()),
              AllOf(HasSubstr("model 'throws_pt'"), HasSubstr("forward() failed"),
                    HasSubstr("negative input"), Not(HasSubstr("frame #"))));
  // The model stays loaded and answers the next request.
  EXPECT_EQ(client_->IsModelReady("throws_pt").value_or(false), true);
  auto ok = InferFloats("throws_pt", "INPUT__0", {3}, {1, 2, 3});
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_THAT(ok->FindOutput("OUTPUT__0")->As<float>(), ::testing::ElementsAre(2, 4, 6));
  ExpectOthersKeepServing();
}

TEST_F(BackendsEndToEnd, OnnxModelThatFailsAtRunTimeFailsTheRequestAndStaysLoaded) {
  // Variable spatial dimensions: OpenCV runs the CNN at other sizes, but at 1x1 its pooling
  // leaves an empty tensor and OpenCV throws.
  AddModel("any_size_onnx", R"cfg(
    backend: "opencv_dnn"
    max_batch_size: 8
    input [ { name: "input" data_type: TYPE_FP32 dims: [ 3, -1, -1 ] } ]
    output [ { name: "output" data_type: TYPE_FP32 dims: [ 10 ] } ]
  )cfg",
           "small_cnn.onnx", "model.onnx");
  Start({"identity", "small_cnn_pt", "any_size_onnx"});
  auto failed = InferFloats("any_size_onnx", "input", {1, 3, 1, 1}, {0.5f, 0.5f, 0.5f});
  ASSERT_FALSE(failed.ok());
  EXPECT_EQ(failed.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(Message(failed.status()),
              AllOf(HasSubstr("model 'any_size_onnx'"), HasSubstr("OpenCV DNN forward() failed")));
  EXPECT_EQ(client_->IsModelReady("any_size_onnx").value_or(false), true);
  ExpectSmallCnnMatchesPyTorch("any_size_onnx", "input", "output", 4);
  ExpectOthersKeepServing();
}

TEST_F(BackendsEndToEnd, MalformedBackendParameterFailsTheLoad) {
  AddModel("bad_threads_pt", std::string(R"cfg(
    platform: "pytorch_libtorch"
    max_batch_size: 8
    input [ { name: "INPUT__0" data_type: TYPE_FP32 dims: [ 3, 32, 32 ] } ]
    output [ { name: "OUTPUT__0" data_type: TYPE_FP32 dims: [ 10 ] } ]
  )cfg") + R"(parameters { key: "INTRA_OP_THREAD_COUNT" value { string_value: "many" } })",
           "small_cnn.pt", "model.pt");
  AddModel("bad_cache_pt",
           std::string(kSmallCnnTorchScript) +
               R"(parameters { key: "TENSOR_CACHE_MB" value { string_value: "-1" } })",
           "small_cnn.pt", "model.pt");
  Start({"identity", "small_cnn_pt"});
  ExpectLoadFails("bad_threads_pt", {"INTRA_OP_THREAD_COUNT", "'many'"});
  ExpectLoadFails("bad_cache_pt", {"TENSOR_CACHE_MB", "'-1'"});
}

}  // namespace
}  // namespace inferd
