// SPDX-License-Identifier: Apache-2.0
// End-to-end: the real inferd binary's start-up, errors and shutdown.
#include <signal.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "test_util/server_process.h"

namespace inferd {
namespace {

namespace fs = std::filesystem;
using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::InferdBinary;
using testing::ServerProcess;
using namespace std::chrono_literals;

constexpr auto kTimeout = 30s;

// Tests run in parallel: every listener binds a free port instead of the defaults.
std::vector<std::string> Args(std::vector<std::string> args) {
  for (const char* flag : {"--http-port=0", "--grpc-port=0", "--metrics-port=0"}) {
    args.emplace_back(flag);
  }
  return args;
}

class TempDir {
 public:
  TempDir() : path_(fs::temp_directory_path() / ("inferd_e2e_" + std::to_string(getpid()))) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  void Write(const std::string& relative, const std::string& text) {
    fs::create_directories((path_ / relative).parent_path());
    std::ofstream(path_ / relative) << text;
  }
  void Mkdir(const std::string& relative) { fs::create_directories(path_ / relative); }
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

TEST(InferdBinary, ServesTheExampleRepositoryAndStopsCleanlyOnSigterm) {
  ServerProcess server(InferdBinary(), Args({"--model-repository=" INFERD_EXAMPLE_REPOSITORY}));
  ASSERT_TRUE(server.WaitForOutput("inferd ready", kTimeout)) << server.output();
  // identity, add_sub and busy; `make models` adds the two ResNet50 models to the same folder.
  EXPECT_THAT(server.output(), ::testing::ContainsRegex("(3|5) model version\\(s\\) loaded"));
  server.Signal(SIGTERM);
  EXPECT_EQ(server.WaitForExit(kTimeout), 0) << server.output();
  EXPECT_THAT(server.output(), AllOf(HasSubstr("SIGTERM"), HasSubstr("inferd stopped")));
}

TEST(InferdBinary, SigintAlsoStopsCleanly) {
  ServerProcess server(InferdBinary(), Args({"--model-repository=" INFERD_EXAMPLE_REPOSITORY}));
  ASSERT_TRUE(server.WaitForOutput("inferd ready", kTimeout)) << server.output();
  server.Signal(SIGINT);
  EXPECT_EQ(server.WaitForExit(kTimeout), 0) << server.output();
}

TEST(InferdBinary, MissingRepositoryIsAClearStartupError) {
  ServerProcess server(InferdBinary(), Args({"--model-repository=/nonexistent/models"}));
  EXPECT_EQ(server.WaitForExit(kTimeout), 1);
  EXPECT_THAT(server.output(), AllOf(HasSubstr("failed to start"), HasSubstr("/nonexistent/models")));
}

TEST(InferdBinary, RepositoryFlagIsRequired) {
  ServerProcess server(InferdBinary(), Args({}));
  const auto code = server.WaitForExit(kTimeout);
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
  EXPECT_THAT(server.output(), HasSubstr("--model-repository"));
}

TEST(InferdBinary, BadConfigNamesTheModelAndTheField) {
  TempDir repo;
  repo.Write("broken/config.pbtxt", R"pb(
    backend: "builtin"
    max_batch_size: 0
    input { name: "INPUT0" data_type: TYPE_FP32 dims: -1 }
    output { name: "OUTPUT0" data_type: TYPE_FP32 dims: -1 }
    no_such_field: 3
  )pb");
  repo.Mkdir("broken/1");
  ServerProcess server(InferdBinary(), Args({"--model-repository=" + repo.path()}));
  EXPECT_EQ(server.WaitForExit(kTimeout), 1);
  EXPECT_THAT(server.output(), AllOf(HasSubstr("broken"), HasSubstr("no_such_field")));
}

TEST(InferdBinary, UnknownControlModeIsRefused) {
  ServerProcess server(InferdBinary(), Args({"--model-repository=" INFERD_EXAMPLE_REPOSITORY,
                                        "--model-control-mode=sometimes"}));
  const auto code = server.WaitForExit(kTimeout);
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
  EXPECT_THAT(server.output(), HasSubstr("sometimes"));
}

TEST(InferdBinary, LoadModelNeedsExplicitMode) {
  ServerProcess server(InferdBinary(), Args({"--model-repository=" INFERD_EXAMPLE_REPOSITORY,
                                        "--load-model=identity"}));
  EXPECT_EQ(server.WaitForExit(kTimeout), 1);
  EXPECT_THAT(server.output(), HasSubstr("--model-control-mode=explicit"));
}

TEST(InferdBinary, ExplicitModeLoadsOnlyTheNamedModels) {
  ServerProcess server(InferdBinary(), Args({"--model-repository=" INFERD_EXAMPLE_REPOSITORY,
                                        "--model-control-mode=explicit", "--load-model=identity"}));
  ASSERT_TRUE(server.WaitForOutput("inferd ready", kTimeout)) << server.output();
  EXPECT_THAT(server.output(), HasSubstr("1 model version(s) loaded"));
  server.Signal(SIGTERM);
  EXPECT_EQ(server.WaitForExit(kTimeout), 0);
}

TEST(InferdBinary, ExplicitModeWithAnUnknownModelFailsToStart) {
  ServerProcess server(InferdBinary(), Args({"--model-repository=" INFERD_EXAMPLE_REPOSITORY,
                                        "--model-control-mode=explicit", "--load-model=nope"}));
  EXPECT_EQ(server.WaitForExit(kTimeout), 1);
  EXPECT_THAT(server.output(), HasSubstr("nope"));
}

// A socket buffer the kernel would cut down is not set (a fixed small buffer is worse than the
// kernel's autotuning): the server says so and serves as usual.
TEST(InferdBinary, HttpSocketBufferBeyondTheKernelMaximumIsLeftToAutotuning) {
  ServerProcess server(InferdBinary(), Args({"--model-repository=" INFERD_EXAMPLE_REPOSITORY,
                                             "--http-socket-buffer-size=1099511627776"}));
  ASSERT_TRUE(server.WaitForOutput("inferd ready", kTimeout)) << server.output();
  EXPECT_THAT(server.output(),
              AllOf(HasSubstr("HTTP socket buffers left to the kernel's autotuning"),
                    HasSubstr("--http-socket-buffer-size 1099511627776 exceeds")));
  server.Signal(SIGTERM);
  EXPECT_EQ(server.WaitForExit(kTimeout), 0);
}

TEST(InferdBinary, BadValuesOfThePerformanceFlagsAreRefusedByName) {
  for (const std::string flag :
       {"--inline-execution-max-us=-5", "--http-socket-buffer-size=abc"}) {
    ServerProcess server(InferdBinary(),
                         Args({"--model-repository=" INFERD_EXAMPLE_REPOSITORY, flag}));
    const auto code = server.WaitForExit(kTimeout);
    ASSERT_TRUE(code.has_value()) << flag;
    EXPECT_NE(*code, 0) << flag;
    EXPECT_THAT(server.output(), HasSubstr(flag.substr(0, flag.find('=')))) << flag;
  }
}

}  // namespace
}  // namespace inferd
