// SPDX-License-Identifier: Apache-2.0
// End-to-end: which runtimes the real inferd binary maps. A server whose models are all built-in
// never maps libtorch or OpenCV (the plugins are opened only for a model that needs them); one
// with a TorchScript and an ONNX model maps both and logs each load's time and memory.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "test_util/server_process.h"

namespace inferd {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using testing::InferdBinary;
using ::testing::Not;
using testing::ServerProcess;
using namespace std::chrono_literals;

constexpr auto kTimeout = 60s;

class TempRepository {
 public:
  explicit TempRepository(const std::string& tag)
      : path_(fs::temp_directory_path() /
              ("inferd_backends_bin_" + tag + "_" + std::to_string(getpid()))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempRepository() { fs::remove_all(path_); }
  void CopyExample(const std::string& model) {
    fs::copy(fs::path(INFERD_EXAMPLE_REPOSITORY) / model, path_ / model,
             fs::copy_options::recursive);
  }
  void AddModel(const std::string& model, const std::string& config, const std::string& source,
                const std::string& filename) {
    fs::create_directories(path_ / model / "1");
    std::ofstream(path_ / model / "config.pbtxt") << "name: \"" << model << "\"\n" << config;
    fs::copy_file(fs::path(INFERD_TEST_MODELS_DIR) / source, path_ / model / "1" / filename);
  }
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

std::string Maps(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/maps");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::vector<std::string> ServerArgs(const std::string& repository) {
  return {"--model-repository=" + repository, "--http-port=0", "--grpc-port=0", "--metrics-port=0"};
}

TEST(BackendsBinary, BuiltinOnlyServerMapsNeitherLibtorchNorOpenCv) {
  TempRepository repo("builtin");
  for (const char* model : {"identity", "add_sub", "busy"}) repo.CopyExample(model);
  ServerProcess server(InferdBinary(), ServerArgs(repo.path()));
  ASSERT_TRUE(server.WaitForOutput("inferd ready", kTimeout)) << server.output();
  const std::string maps = Maps(server.pid());
  // The builtin plugin is mapped: the maps were read, and plugins do show up in them.
  EXPECT_THAT(maps, HasSubstr("libinferd_backend_builtin.so"));
  EXPECT_THAT(
      maps, AllOf(Not(HasSubstr("libtorch")), Not(HasSubstr("libc10")), Not(HasSubstr("libopencv")),
                  Not(HasSubstr("libinferd_backend_torchscript")),
                  Not(HasSubstr("libinferd_backend_opencv_dnn"))));
  server.Signal(SIGTERM);
  EXPECT_EQ(server.WaitForExit(kTimeout), 0) << server.output();
}

TEST(BackendsBinary, ServerWithMlModelsMapsTheirRuntimesAndLogsLoadTimeAndMemory) {
  TempRepository repo("ml");
  repo.CopyExample("identity");
  repo.AddModel("small_cnn_pt", R"cfg(
    platform: "pytorch_libtorch"
    max_batch_size: 4
    input [ { name: "INPUT__0" data_type: TYPE_FP32 dims: [ 3, 32, 32 ] } ]
    output [ { name: "OUTPUT__0" data_type: TYPE_FP32 dims: [ 10 ] } ]
  )cfg",
                "small_cnn.pt", "model.pt");
  repo.AddModel("small_cnn_onnx", R"cfg(
    backend: "opencv_dnn"
    max_batch_size: 4
    input [ { name: "input" data_type: TYPE_FP32 dims: [ 3, 32, 32 ] } ]
    output [ { name: "output" data_type: TYPE_FP32 dims: [ 10 ] } ]
  )cfg",
                "small_cnn.onnx", "model.onnx");
  ServerProcess server(InferdBinary(), ServerArgs(repo.path()));
  ASSERT_TRUE(server.WaitForOutput("inferd ready", kTimeout)) << server.output();
  const std::string maps = Maps(server.pid());
  EXPECT_THAT(maps,
              AllOf(HasSubstr("libinferd_backend_torchscript.so"), HasSubstr("libtorch_cpu.so"),
                    HasSubstr("libinferd_backend_opencv_dnn.so"), HasSubstr("libopencv_dnn.so")));
  EXPECT_THAT(server.output(),
              AllOf(ContainsRegex("loaded model 'small_cnn_pt' version 1 in [0-9]+ ms, memory "
                                  "[0-9.]+ MiB"),
                    ContainsRegex("loaded model 'small_cnn_onnx' version 1 in [0-9]+ ms, memory "
                                  "[0-9.]+ MiB"),
                    HasSubstr("Identity-on-initializer node(s) rewritten")));
  server.Signal(SIGTERM);
  EXPECT_EQ(server.WaitForExit(kTimeout), 0) << server.output();
}

}  // namespace
}  // namespace inferd
