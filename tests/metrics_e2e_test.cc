// SPDX-License-Identifier: Apache-2.0
// End-to-end: the real inferd binary's /metrics after real HTTP traffic, its metrics flags, and
// inferd-top against it in a pseudo-terminal (--once, and the live view quit with 'q').
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <sstream>
#include <thread>

#include "http_test_util.h"
#include "test_util/server_process.h"

namespace inferd {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::InferdBinary;
using ::testing::Not;
using testing::ServerProcess;
using namespace std::chrono_literals;

constexpr auto kTimeout = 60s;

// (No std::regex in this file: GCC 12 warns inside <regex> under the sanitizers.)
int PortFrom(const std::string& output, const std::string& name) {
  const size_t at = output.find(name + " server listening on ");
  if (at == std::string::npos) return 0;
  const std::string line = output.substr(at, output.find('\n', at) - at);
  return std::atoi(line.substr(line.rfind(':') + 1).c_str());
}

// The whitespace-separated words of the first screen line that starts with `first_word`.
std::vector<std::string> LineWords(const std::string& screen, const std::string& first_word) {
  std::istringstream lines(screen);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream in(line);
    std::vector<std::string> words;
    for (std::string w; in >> w;) words.push_back(w);
    if (!words.empty() && words[0] == first_word) return words;
  }
  return {};
}

// inferd on free ports serving identity and add_sub from the example repository.
class Inferd {
 public:
  explicit Inferd(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--model-repository=" INFERD_EXAMPLE_REPOSITORY,
                                     "--model-control-mode=explicit",
                                     "--load-model=identity",
                                     "--load-model=add_sub",
                                     "--http-port=0",
                                     "--grpc-port=0",
                                     "--allow-grpc=false",
                                     "--metrics-port=0",
                                     "--metrics-interval-ms=100",
                                     "--http-thread-count=2"};
    // An extra flag replaces the default of the same name.
    std::erase_if(args, [&](const std::string& arg) {
      const std::string name = arg.substr(0, arg.find('=') + 1);
      return std::any_of(extra.begin(), extra.end(),
                         [&](const std::string& e) { return e.rfind(name, 0) == 0; });
    });
    args.insert(args.end(), extra.begin(), extra.end());
    process_ = std::make_unique<ServerProcess>(InferdBinary(), args);
    ready_ = process_->WaitForOutput("inferd ready", kTimeout);
    http_port_ = PortFrom(process_->output(), "HTTP");
    metrics_port_ = PortFrom(process_->output(), "METRICS");
  }
  bool ready() const { return ready_; }
  int http_port() const { return http_port_; }
  int metrics_port() const { return metrics_port_; }
  ServerProcess& process() { return *process_; }
  std::string Metrics() const { return http_test::Http(metrics_port_, "GET", "/metrics").body; }

 private:
  std::unique_ptr<ServerProcess> process_;
  bool ready_ = false;
  int http_port_ = 0;
  int metrics_port_ = 0;
};

http_test::RawResponse InferIdentity(int port, const std::string& input_name = "INPUT0") {
  return http_test::Http(port, "POST", "/v2/models/identity/infer",
                         R"({"inputs":[{"name":")" + input_name +
                             R"(","datatype":"FP32","shape":[3],"data":[1,2,3]}]})");
}

TEST(MetricsEndToEnd, AfterNRequestsOfWhichKFailTheCountersSayNMinusKAndK) {
  Inferd server;
  ASSERT_TRUE(server.ready()) << server.process().output();
  ASSERT_GT(server.metrics_port(), 0) << server.process().output();
  constexpr int kRequests = 12;
  constexpr int kFailures = 5;
  for (int i = 0; i < kRequests; ++i) {
    const bool bad = i % 2 == 1 && i < 2 * kFailures;
    const http_test::RawResponse r = InferIdentity(server.http_port(), bad ? "NOPE" : "INPUT0");
    if (bad) {
      EXPECT_EQ(r.status, 400);
      EXPECT_THAT(r.body, AllOf(HasSubstr("unexpected inference input"), HasSubstr("NOPE")));
    } else {
      EXPECT_EQ(r.status, 200) << r.body;
    }
  }
  const std::string text = server.Metrics();
  EXPECT_THAT(text,
              HasSubstr("nv_inference_request_success{model=\"identity\",version=\"1\"} 7\n"));
  EXPECT_THAT(text, HasSubstr("nv_inference_request_failure{model=\"identity\",version=\"1\","
                              "reason=\"OTHER\"} 5\n"));
  EXPECT_THAT(text, HasSubstr("nv_inference_request_failure{model=\"identity\",version=\"1\","
                              "reason=\"REJECTED\"} 0\n"));
  EXPECT_THAT(text, HasSubstr("nv_inference_count{model=\"identity\",version=\"1\"} 7\n"));
  EXPECT_THAT(text, HasSubstr("nv_inference_exec_count{model=\"identity\",version=\"1\"} 7\n"));
  EXPECT_THAT(text, HasSubstr("nv_inference_request_latency_us_count{model=\"identity\","
                              "version=\"1\"} 7\n"));
  EXPECT_THAT(text, HasSubstr("nv_inference_request_success{model=\"add_sub\",version=\"1\"} 0\n"));
  EXPECT_THAT(text, AllOf(HasSubstr("# TYPE nv_cpu_memory_total_bytes gauge"),
                          HasSubstr("nv_cpu_memory_used_bytes "),
                          HasSubstr("nv_server_resident_memory_bytes ")));
  // The server still serves after the bad requests.
  EXPECT_EQ(InferIdentity(server.http_port()).status, 200);
  server.process().Signal(SIGTERM);
  EXPECT_EQ(server.process().WaitForExit(kTimeout), 0) << server.process().output();
}

TEST(MetricsEndToEnd, MissingNvmlAndRaplAreOneLogLineEachNotAnError) {
  Inferd server;
  ASSERT_TRUE(server.ready()) << server.process().output();
  const std::string& out = server.process().output();
  EXPECT_THAT(out, HasSubstr("no GPU metrics: cannot load libnvidia-ml.so.1"));
  EXPECT_THAT(server.Metrics(), Not(HasSubstr("nv_gpu_")));
}

TEST(MetricsEndToEnd, FlagsTurnOffMetricsOrTheirHardwareParts) {
  Inferd no_metrics({"--allow-metrics=false"});
  ASSERT_TRUE(no_metrics.ready()) << no_metrics.process().output();
  EXPECT_THAT(no_metrics.process().output(), Not(HasSubstr("METRICS server listening")));

  Inferd no_hardware({"--allow-cpu-metrics=false", "--allow-gpu-metrics=false"});
  ASSERT_TRUE(no_hardware.ready()) << no_hardware.process().output();
  EXPECT_THAT(no_hardware.process().output(), Not(HasSubstr("no GPU metrics")));
  const std::string text = no_hardware.Metrics();
  EXPECT_THAT(text, HasSubstr("nv_inference_request_success{model=\"identity\""));
  EXPECT_THAT(text, AllOf(Not(HasSubstr("nv_cpu_")), Not(HasSubstr("nv_gpu_"))));
}

TEST(MetricsEndToEnd, BadMetricsFlagsAreClearStartupErrors) {
  ServerProcess zero_interval(
      InferdBinary(), {"--model-repository=" INFERD_EXAMPLE_REPOSITORY, "--metrics-interval-ms=0"});
  const auto code = zero_interval.WaitForExit(kTimeout);
  ASSERT_TRUE(code.has_value());
  EXPECT_NE(*code, 0);
  EXPECT_THAT(zero_interval.output(), HasSubstr("--metrics-interval-ms"));

  Inferd first;
  ASSERT_TRUE(first.ready()) << first.process().output();
  Inferd second({"--metrics-port=" + std::to_string(first.metrics_port())});
  EXPECT_FALSE(second.ready());
  EXPECT_EQ(second.process().WaitForExit(kTimeout), 1);
  EXPECT_THAT(second.process().output(),
              AllOf(HasSubstr("failed to start"), HasSubstr("cannot listen"),
                    HasSubstr(std::to_string(first.metrics_port()))));
  EXPECT_THAT(first.Metrics(), HasSubstr("nv_inference_request_success"));  // Still serving.
}

// A program running in a pseudo-terminal of 120 x 40, as a person would run it.
class PtyProcess {
 public:
  explicit PtyProcess(const std::vector<std::string>& args) {
    winsize size{};
    size.ws_col = 120;
    size.ws_row = 40;
    pid_ = forkpty(&master_, nullptr, nullptr, &size);
    if (pid_ == 0) {
      std::vector<char*> argv;
      for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      setenv("TERM", "xterm", 1);
      execv(argv[0], argv.data());
      _exit(127);
    }
  }
  ~PtyProcess() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (master_ >= 0) close(master_);
  }
  bool ReadUntil(const std::string& text, std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (output_.find(text) == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{master_, POLLIN, 0};
      if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
      char buffer[4096];
      const ssize_t n = read(master_, buffer, sizeof(buffer));
      if (n <= 0) return output_.find(text) != std::string::npos;  // EIO: the child is gone.
      output_.append(buffer, static_cast<size_t>(n));
    }
    return true;
  }
  void Type(const std::string& keys) { (void)!write(master_, keys.data(), keys.size()); }
  std::optional<int> WaitForExit(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      ReadUntil("\x01never\x01", 50ms);  // Drain the terminal so the child never blocks.
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? std::optional<int>(WEXITSTATUS(status)) : std::nullopt;
      }
    }
    return std::nullopt;
  }
  const std::string& output() const { return output_; }

 private:
  pid_t pid_ = -1;
  int master_ = -1;
  bool exited_ = false;
  std::string output_;
};

// Keeps identity busy over HTTP from a thread until destroyed.
class Load {
 public:
  explicit Load(int port) {
    thread_ = std::thread([this, port] {
      while (!stop_) InferIdentity(port);
    });
  }
  ~Load() {
    stop_ = true;
    thread_.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

TEST(InferdTop, OnceShowsTheModelItsRequestRateAndTheCpuFiguresInATerminal) {
  Inferd server;
  ASSERT_TRUE(server.ready()) << server.process().output();
  Load load(server.http_port());
  PtyProcess top({INFERD_TOP_BINARY, "--once", "--interval-ms=1000",
                  "--metrics-port=" + std::to_string(server.metrics_port()),
                  "--http-port=" + std::to_string(server.http_port())});
  EXPECT_EQ(top.WaitForExit(kTimeout), 0) << top.output();
  const std::string& screen = top.output();
  EXPECT_THAT(screen, HasSubstr("MODEL"));
  // identity  VER  REQ/S  FAIL/S  P50  P99  QUEUE  PEND  batch sizes...
  const std::vector<std::string> model = LineWords(screen, "identity");
  ASSERT_GE(model.size(), 9u) << screen;
  EXPECT_EQ(model[1], "1");
  EXPECT_GT(std::stod(model[2]), 0.0) << screen;  // Requests per second under load.
  EXPECT_TRUE(std::any_of(model.begin() + 8, model.end(), [](const std::string& w) {
    return w.rfind("1x", 0) == 0;
  })) << screen;  // Batches of 1 ran.
  const std::vector<std::string> cpu = LineWords(screen, "CPU");
  ASSERT_GE(cpu.size(), 3u) << screen;
  EXPECT_EQ(cpu[1], "util");
  EXPECT_EQ(cpu[2].back(), '%') << screen;
  EXPECT_GE(std::stoi(cpu[2]), 0);
  EXPECT_THAT(screen, AllOf(HasSubstr("steadiness: mean"), HasSubstr("GiB  power"),
                            HasSubstr("inferd resident memory"), HasSubstr("Hints:")));
}

TEST(InferdTop, LiveViewRefreshesAndQuitsOnQ) {
  Inferd server;
  ASSERT_TRUE(server.ready()) << server.process().output();
  PtyProcess top({INFERD_TOP_BINARY, "--interval-ms=200",
                  "--metrics-port=" + std::to_string(server.metrics_port()),
                  "--http-port=" + std::to_string(server.http_port())});
  ASSERT_TRUE(top.ReadUntil("(q to quit)", kTimeout)) << top.output();
  EXPECT_THAT(top.output(),
              AllOf(HasSubstr("\x1b[2J"), HasSubstr("identity"), HasSubstr("add_sub")));
  top.Type("q");
  EXPECT_EQ(top.WaitForExit(kTimeout), 0) << top.output();
}

TEST(InferdTop, UnreachableServerIsAClearErrorAndExitCodeOne) {
  PtyProcess top({INFERD_TOP_BINARY, "--once", "--metrics-port=1", "--http-port=0"});
  EXPECT_EQ(top.WaitForExit(kTimeout), 1);
  EXPECT_THAT(top.output(),
              AllOf(HasSubstr("inferd-top: cannot reach"), HasSubstr("127.0.0.1:1/metrics")));
}

}  // namespace
}  // namespace inferd
