// SPDX-License-Identifier: Apache-2.0
// End-to-end: SIGTERM while 16 clients have requests in flight (issue 21). Readiness turns false
// at once (HTTP and gRPC), connections are still served during --drain-delay-secs, then new
// connections are refused, every request accepted before SIGTERM is answered with success, and
// inferd exits 0.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include "http_test_util.h"
#include "inferd/client.h"
#include "test_util/server_process.h"

namespace inferd {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using testing::InferdBinary;
using testing::ServerProcess;
using namespace std::chrono_literals;

constexpr int kClients = 16;
constexpr int kDrainDelaySecs = 2;

// One instance, 250 ms per request, no batching: 16 requests take 4 s, longer than the delay.
constexpr char kSlowConfig[] = R"pb(
  backend: "builtin"
  max_batch_size: 0
  input [ { name: "INPUT0" data_type: TYPE_FP32 dims: [ -1 ] } ]
  output [ { name: "OUTPUT0" data_type: TYPE_FP32 dims: [ -1 ] } ]
  instance_group [ { count: 1 kind: KIND_CPU } ]
  parameters { key: "builtin_model" value { string_value: "busy" } }
  parameters { key: "busy_a_us" value { string_value: "250000" } }
)pb";

int PortAfter(const std::string& output, const std::string& marker) {
  const size_t at = output.find(marker);
  if (at == std::string::npos) return 0;
  const std::string line = output.substr(at, output.find('\n', at) - at);
  return std::atoi(line.c_str() + line.rfind(':') + 1);
}

bool TcpConnects(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  close(fd);
  return ok;
}

// The value of `metric{model="slow",...}` in a /metrics page, -1 when absent.
double MetricValue(const std::string& page, const std::string& metric) {
  const std::regex line(metric + "\\{model=\"slow\",version=\"1\"\\} ([0-9.e+]+)");
  std::smatch m;
  return std::regex_search(page, m, line) ? std::stod(m[1]) : -1;
}

// Waits until `count` requests of model slow have been accepted: one runs, the rest wait in the
// queue (or have finished).
bool WaitUntilAccepted(int metrics_port, int count) {
  for (int i = 0; i < 5000; ++i) {
    const std::string page = http_test::Http(metrics_port, "GET", "/metrics").body;
    const double pending = MetricValue(page, "nv_inference_pending_request_count");
    const double done = MetricValue(page, "nv_inference_request_success");
    if (pending >= 0 && done >= 0 && pending + done >= count - 1) return true;
    std::this_thread::sleep_for(2ms);
  }
  return false;
}

std::string InferBody(float value) {
  return R"({"inputs":[{"name":"INPUT0","shape":[1],"datatype":"FP32","data":[)" +
         std::to_string(value) + "]}]}";
}

class TempRepository {
 public:
  TempRepository() : path_(fs::temp_directory_path() / ("inferd_drain_" + std::to_string(getpid()))) {
    fs::remove_all(path_);
    fs::create_directories(path_ / "slow" / "1");
    std::ofstream(path_ / "slow" / "config.pbtxt") << kSlowConfig;
  }
  ~TempRepository() { fs::remove_all(path_); }
  std::string path() const { return path_.string(); }

 private:
  fs::path path_;
};

TEST(Drain, SigtermWithSixteenRequestsInFlight) {
  TempRepository repo;
  ServerProcess server(InferdBinary(),
                       {"--model-repository=" + repo.path(), "--http-port=0", "--grpc-port=0",
                        "--metrics-port=0", "--inline-execution-max-us=0",
                        "--drain-delay-secs=" + std::to_string(kDrainDelaySecs)});
  ASSERT_TRUE(server.WaitForOutput("inferd ready", 30s)) << server.output();
  const int http_port = PortAfter(server.output(), "HTTP server listening on ");
  const int grpc_port = PortAfter(server.output(), "GRPC server listening on ");
  const int metrics_port = PortAfter(server.output(), "METRICS server listening on ");
  ASSERT_GT(http_port, 0) << server.output();
  ASSERT_GT(grpc_port, 0) << server.output();
  ASSERT_GT(metrics_port, 0) << server.output();
  auto grpc_client = Client::Create("grpc://127.0.0.1:" + std::to_string(grpc_port));
  ASSERT_TRUE(grpc_client.ok()) << grpc_client.status();
  ASSERT_TRUE((*grpc_client)->IsServerReady().value_or(false));
  ASSERT_EQ(http_test::Http(http_port, "GET", "/v2/health/ready").status, 200);

  // A keep-alive connection opened before SIGTERM, used again after the delay.
  http_test::RawConnection idle(http_port);
  ASSERT_TRUE(idle.connected());

  std::vector<http_test::RawResponse> responses(kClients);
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      http_test::RawConnection c(http_port);
      if (!c.connected() ||
          !c.Send(http_test::RequestBytes("POST", "/v2/models/slow/infer", InferBody(i)))) {
        return;
      }
      responses[i] = c.Read(60s).value_or(http_test::RawResponse{});
    });
  }
  ASSERT_TRUE(WaitUntilAccepted(metrics_port, kClients)) << "the requests never reached the queue";

  const auto sigterm = std::chrono::steady_clock::now();
  server.Signal(SIGTERM);
  int ready_status = 200;
  while (ready_status == 200 && std::chrono::steady_clock::now() - sigterm < 5s) {
    ready_status = http_test::Http(http_port, "GET", "/v2/health/ready").status;
  }
  const auto not_ready_after = std::chrono::steady_clock::now() - sigterm;
  // The protocol's answer for a server that is not ready: 400 (Triton's), not 200.
  EXPECT_EQ(ready_status, 400);
  EXPECT_LT(not_ready_after, 100ms) << "readiness still true after SIGTERM";
  EXPECT_EQ((*grpc_client)->IsServerReady().value_or(true), false);

  // During the delay, new connections are still accepted and served (the endpoint controller may
  // still route some here).
  EXPECT_EQ(http_test::Http(http_port, "GET", "/v2/health/live").status, 200);

  // After the delay: new connections refused, on both ports, while the accepted requests run.
  ASSERT_TRUE(server.WaitForOutput("new connections refused", 30s)) << server.output();
  EXPECT_GE(std::chrono::steady_clock::now() - sigterm, std::chrono::seconds(kDrainDelaySecs));
  EXPECT_FALSE(TcpConnects(http_port)) << "HTTP still accepts connections after the delay";
  bool grpc_refused = false;
  for (int i = 0; i < 500 && !grpc_refused; ++i) {
    grpc_refused = !TcpConnects(grpc_port);
    if (!grpc_refused) std::this_thread::sleep_for(2ms);
  }
  EXPECT_TRUE(grpc_refused) << "gRPC still accepts connections after the delay";
  // A new request on a connection opened before: refused by name, not dropped.
  ASSERT_TRUE(idle.Send(http_test::RequestBytes("POST", "/v2/models/slow/infer", InferBody(99))));
  auto refused = idle.Read(10s);
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, 503);
  EXPECT_THAT(refused->body, HasSubstr("shutting down"));

  for (auto& t : clients) t.join();
  for (int i = 0; i < kClients; ++i) {
    EXPECT_EQ(responses[i].status, 200) << "request " << i << ": " << responses[i].body;
    EXPECT_THAT(responses[i].body, HasSubstr("\"data\":[" + std::to_string(i)))
        << "request " << i;
  }
  EXPECT_EQ(server.WaitForExit(30s), 0) << server.output();
  EXPECT_THAT(server.output(), HasSubstr("inferd stopped"));
}

// SIGINT (an operator's Ctrl-C) does not wait out the drain delay.
TEST(Drain, SigintSkipsTheDelay) {
  TempRepository repo;
  ServerProcess server(InferdBinary(),
                       {"--model-repository=" + repo.path(), "--http-port=0", "--grpc-port=0",
                        "--metrics-port=0", "--drain-delay-secs=3600"});
  ASSERT_TRUE(server.WaitForOutput("inferd ready", 30s)) << server.output();
  server.Signal(SIGINT);
  EXPECT_EQ(server.WaitForExit(30s), 0) << server.output();
}

// A second SIGTERM ends the delay (an operator who does not want to wait).
TEST(Drain, SecondSigtermEndsTheDelay) {
  TempRepository repo;
  ServerProcess server(InferdBinary(),
                       {"--model-repository=" + repo.path(), "--http-port=0", "--grpc-port=0",
                        "--metrics-port=0", "--drain-delay-secs=3600"});
  ASSERT_TRUE(server.WaitForOutput("inferd ready", 30s)) << server.output();
  server.Signal(SIGTERM);
  ASSERT_TRUE(server.WaitForOutput("--drain-delay-secs", 30s)) << server.output();
  server.Signal(SIGTERM);
  EXPECT_EQ(server.WaitForExit(30s), 0) << server.output();
  EXPECT_THAT(server.output(), HasSubstr("second signal"));
}

// Requests that do not finish within --exit-timeout-secs do not hold the exit up for ever.
TEST(Drain, ExitTimeoutBoundsTheWait) {
  TempRepository repo;
  ServerProcess server(InferdBinary(),
                       {"--model-repository=" + repo.path(), "--http-port=0", "--grpc-port=0",
                        "--metrics-port=0", "--inline-execution-max-us=0",
                        "--exit-timeout-secs=1"});
  ASSERT_TRUE(server.WaitForOutput("inferd ready", 30s)) << server.output();
  const int http_port = PortAfter(server.output(), "HTTP server listening on ");
  const int metrics_port = PortAfter(server.output(), "METRICS server listening on ");
  // 8 × 250 ms queued on one instance: 2 s of work, beyond the 1 s allowed.
  std::vector<std::unique_ptr<http_test::RawConnection>> connections;
  for (int i = 0; i < 8; ++i) {
    connections.push_back(std::make_unique<http_test::RawConnection>(http_port));
    ASSERT_TRUE(connections.back()->Send(
        http_test::RequestBytes("POST", "/v2/models/slow/infer", InferBody(i))));
  }
  ASSERT_TRUE(WaitUntilAccepted(metrics_port, 8)) << "the requests never reached the queue";
  server.Signal(SIGTERM);
  EXPECT_EQ(server.WaitForExit(30s), 1) << server.output();
  EXPECT_THAT(server.output(), HasSubstr("--exit-timeout-secs=1"));
}

}  // namespace
}  // namespace inferd
