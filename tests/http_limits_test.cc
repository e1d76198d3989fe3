// SPDX-License-Identifier: Apache-2.0
// End-to-end: the HTTP server's timeouts and limits (issue 13). Each test starts its own inferd
// with short flag values, checks what a client notices (a 408/503 naming the flag, a closed
// connection) and that the next request is served.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdio>
#include <fstream>
#include <thread>

#include "http_test_util.h"

namespace inferd {
namespace {

using ::testing::HasSubstr;

// The sanitizer trees run the same tests. Two of them measure what a sanitizer changes: ASan's
// allocator keeps freed memory in quarantine (malloc_trim cannot return it), and the sanitizer
// runtimes need file descriptors of their own (UBSan's vptr check opens a pipe to probe memory,
// so with the process out of descriptors it reports valid objects as invalid).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kSanitized = true;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
constexpr bool kSanitized = true;
#else
constexpr bool kSanitized = false;
#endif
#else
constexpr bool kSanitized = false;
#endif
using namespace http_test;
using namespace std::chrono_literals;

// An inferd with `identity` (FP32, any length) and the given extra flags.
class LimitedServer {
 public:
  explicit LimitedServer(const std::vector<std::string>& flags, const std::string& ulimit = "") {
    namespace fs = std::filesystem;
    static int counter = 0;
    repo_ = (fs::temp_directory_path() /
             ("inferd_http_limits_" + std::to_string(getpid()) + "_" + std::to_string(counter++)))
                .string();
    fs::remove_all(repo_);
    fs::create_directories(fs::path(repo_) / "identity" / "1");
    std::ofstream(fs::path(repo_) / "identity" / "config.pbtxt")
        << "backend: \"builtin\"\nmax_batch_size: 0\n"
           "input { name: \"INPUT0\" data_type: TYPE_FP32 dims: [ -1 ] }\n"
           "output { name: \"OUTPUT0\" data_type: TYPE_FP32 dims: [ -1 ] }\n";
    std::vector<std::string> args = {"--model-repository=" + repo_, "--http-port=0",
                                     "--http-address=127.0.0.1",    "--allow-grpc=false",
                                     "--allow-metrics=false",       "--http-thread-count=2"};
    args.insert(args.end(), flags.begin(), flags.end());
    if (ulimit.empty()) {
      process_ = std::make_unique<testing::ServerProcess>(testing::InferdBinary(), args);
    } else {
      // Through the shell, to start inferd with fewer file descriptors.
      std::string command = "ulimit -n " + ulimit + " && exec " + testing::InferdBinary();
      for (const auto& a : args) command += " '" + a + "'";
      process_ = std::make_unique<testing::ServerProcess>("/bin/sh",
                                                          std::vector<std::string>{"-c", command});
    }
    if (process_->WaitForOutput("inferd ready", 60s)) port_ = ListeningPort(process_->output());
  }
  ~LimitedServer() {
    process_.reset();
    std::error_code ec;
    std::filesystem::remove_all(repo_, ec);
  }
  int port() const { return port_; }
  testing::ServerProcess& process() { return *process_; }

 private:
  std::string repo_;
  std::unique_ptr<testing::ServerProcess> process_;
  int port_ = 0;
};

// A binary infer request to `identity` whose response carries `floats` FP32 values as binary data.
std::string BigInferRequest(size_t floats) {
  const std::string json = R"({"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[)" +
                           std::to_string(floats) + R"(],"parameters":{"binary_data_size":)" +
                           std::to_string(floats * 4) +
                           R"(}}],"parameters":{"binary_data_output":true}})";
  return RequestBytes("POST", "/v2/models/identity/infer", json + std::string(floats * 4, '\1'),
                      {"Inference-Header-Content-Length: " + std::to_string(json.size())});
}

// A connection whose receive buffer is small, so that a large response stalls in the server.
std::unique_ptr<RawConnection> NonReadingClient(int port) {
  return std::make_unique<RawConnection>(port, /*receive_buffer=*/16 * 1024);
}

bool ServesHealth(int port) { return Http(port, "GET", "/v2/health/ready").status == 200; }

// Polls `attempt` until it returns true or 20 s pass.
template <class F>
bool Eventually(F attempt) {
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (attempt()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

void ExpectError(const std::optional<RawResponse>& r, int status, const std::string& words) {
  ASSERT_TRUE(r.has_value()) << "no response";
  EXPECT_EQ(r->status, status) << r->body;
  EXPECT_THAT(r->body, HasSubstr(R"({"error":")"));
  EXPECT_THAT(r->body, HasSubstr(words));
}

TEST(HttpLimits, SlowHeaderGets408AndIsClosed) {
  LimitedServer server({"--http-header-timeout-ms=200"});
  ASSERT_GT(server.port(), 0) << server.process().output();
  RawConnection c(server.port());
  ASSERT_TRUE(c.Send("GET /v2/health/ready HTTP/1.1\r\nHost: x\r\n"));  // ... and stalls.
  ExpectError(c.Read(20s), 408,
              "the request header did not arrive within 200 ms (--http-header-timeout-ms)");
  EXPECT_TRUE(c.ClosedByPeer(20s));
  EXPECT_TRUE(ServesHealth(server.port()));
}

TEST(HttpLimits, StalledBodyGets408NamingWhatArrived) {
  LimitedServer server({"--http-body-timeout-ms=200"});
  ASSERT_GT(server.port(), 0) << server.process().output();
  {
    RawConnection c(server.port());
    ASSERT_TRUE(
        c.Send("POST /v2/models/identity/infer HTTP/1.1\r\nHost: x\r\n"
               "Content-Length: 1000\r\n\r\n{\"inputs\":"));
    ExpectError(c.Read(20s), 408,
                "the request body did not arrive within 200 ms (--http-body-timeout-ms): got 10 "
                "of 1000 bytes");
    EXPECT_TRUE(c.ClosedByPeer(20s));
  }
  {
    RawConnection c(server.port());
    ASSERT_TRUE(
        c.Send("POST /v2/models/identity/infer HTTP/1.1\r\nHost: x\r\n"
               "Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n"));
    ExpectError(c.Read(20s), 408, "got 5 bytes of the chunked body");
    EXPECT_TRUE(c.ClosedByPeer(20s));
  }
  EXPECT_TRUE(ServesHealth(server.port()));
}

TEST(HttpLimits, IdleKeepAliveConnectionIsClosed) {
  LimitedServer server({"--http-idle-timeout-ms=200"});
  ASSERT_GT(server.port(), 0) << server.process().output();
  RawConnection c(server.port());
  ASSERT_TRUE(c.Send(RequestBytes("GET", "/v2/health/ready")));
  auto r = c.Read(20s);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  EXPECT_TRUE(c.ClosedByPeer(20s));
  EXPECT_TRUE(ServesHealth(server.port()));
}

TEST(HttpLimits, ClientThatDoesNotReadItsResponseIsClosed) {
  LimitedServer server({"--http-send-timeout-ms=200", "--log-verbose=1"});
  ASSERT_GT(server.port(), 0) << server.process().output();
  const size_t floats = 8u << 20;  // A 32 MiB response.
  auto c = NonReadingClient(server.port());
  ASSERT_TRUE(c->Send(BigInferRequest(floats)));
  EXPECT_TRUE(server.process().WaitForOutput(
      "did not read its response within 200 ms (--http-send-timeout-ms)", 20s));
  // What was already in the sockets arrives, then the end: the response is cut short.
  EXPECT_LT(c->ReadUntilClosed(20s), floats * 4);
  EXPECT_TRUE(ServesHealth(server.port()));
}

TEST(HttpLimits, ConnectionsBeyondTheLimitGet503) {
  LimitedServer server({"--http-max-connections=3"});
  ASSERT_GT(server.port(), 0) << server.process().output();
  std::vector<std::unique_ptr<RawConnection>> open;
  for (int i = 0; i < 3; ++i) {
    open.push_back(std::make_unique<RawConnection>(server.port()));
    ASSERT_TRUE(open.back()->Send(RequestBytes("GET", "/v2/health/live")));
    auto r = open.back()->Read(20s);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
  }
  RawConnection extra(server.port());
  ExpectError(extra.Read(20s), 503,
              "inferd already has 3 open HTTP connections (--http-max-connections)");
  EXPECT_TRUE(extra.ClosedByPeer(20s));
  // The open ones keep being served; once one goes, a new connection is accepted.
  ASSERT_TRUE(open[0]->Send(RequestBytes("GET", "/v2/health/ready")));
  auto r = open[0]->Read(20s);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  open.pop_back();
  EXPECT_TRUE(Eventually([&] { return ServesHealth(server.port()); }));
}

TEST(HttpLimits, UnsentResponseBytesAreBounded) {
  LimitedServer server({"--http-max-unsent-bytes=4194304", "--http-send-timeout-ms=60000"});
  ASSERT_GT(server.port(), 0) << server.process().output();
  auto stalled = NonReadingClient(server.port());
  ASSERT_TRUE(stalled->Send(BigInferRequest(6u << 20)));  // 24 MiB that nobody reads.
  // While it waits, a further large response is refused with a 503 naming the flag.
  std::optional<RawResponse> refused;
  EXPECT_TRUE(Eventually([&] {
    RawConnection c(server.port());
    if (!c.Send(BigInferRequest(256u << 10))) return false;
    refused = c.Read(20s);
    return refused && refused->status == 503;
  }));
  ExpectError(refused, 503, "that their clients have not read yet (--http-max-unsent-bytes");
  // Small responses still go through, and once the stalled client goes, large ones too.
  EXPECT_TRUE(ServesHealth(server.port()));
  stalled.reset();
  EXPECT_TRUE(Eventually([&] {
    RawConnection c(server.port());
    if (!c.Send(BigInferRequest(256u << 10))) return false;
    auto r = c.Read(20s);
    return r && r->status == 200;
  }));
}

TEST(HttpLimits, SigtermDoesNotWaitForAStalledClientBeyondTheDrainDeadline) {
  LimitedServer server({"--http-drain-timeout-ms=300", "--http-send-timeout-ms=600000",
                        "--http-max-unsent-bytes=4194304"});
  ASSERT_GT(server.port(), 0) << server.process().output();
  auto stalled = NonReadingClient(server.port());
  ASSERT_TRUE(stalled->Send(BigInferRequest(6u << 20)));
  // Its response is stuck once a further large one is refused.
  EXPECT_TRUE(Eventually([&] {
    RawConnection c(server.port());
    if (!c.Send(BigInferRequest(256u << 10))) return false;
    auto r = c.Read(20s);
    return r && r->status == 503;
  }));
  server.process().Signal(SIGTERM);
  // Without the deadline it would wait for the client (or 30 s); the test allows far more than
  // 300 ms, but far less than that.
  EXPECT_EQ(server.process().WaitForExit(20s), 0) << server.process().output();
  EXPECT_THAT(server.process().output(),
              HasSubstr("HTTP server stopping with 1 responses unwritten after 300 ms "
                        "(--http-drain-timeout-ms)"));
}

TEST(HttpLimits, AcceptBacksOffWhenOutOfFileDescriptors) {
  if (kSanitized) GTEST_SKIP() << "the sanitizer runtime needs descriptors the test takes away";
  LimitedServer server({}, /*ulimit=*/"128");
  ASSERT_GT(server.port(), 0) << server.process().output();
  RawConnection first(server.port());
  ASSERT_TRUE(first.Send(RequestBytes("GET", "/v2/health/live")));
  ASSERT_TRUE(first.Read(20s).has_value());
  std::vector<std::unique_ptr<RawConnection>> flood;
  for (int i = 0; i < 200; ++i) flood.push_back(std::make_unique<RawConnection>(server.port()));
  ASSERT_TRUE(server.process().WaitForOutput("Too many open files", 20s))
      << server.process().output();
  // Give a spinning acceptor time to show itself: the log gets one line a second, not thousands.
  server.process().WaitForOutput("never printed", 1500ms);
  const std::string& out = server.process().output();
  size_t lines = 0;
  for (size_t at = out.find("HTTP accept failed"); at != std::string::npos;
       at = out.find("HTTP accept failed", at + 1)) {
    ++lines;
  }
  EXPECT_LE(lines, 4u) << out.substr(0, 4000);
  EXPECT_THAT(out, HasSubstr("pausing accepts for 100 ms, existing connections are still served"));
  // The connection it has is still served, and once descriptors free up, new ones are accepted.
  ASSERT_TRUE(first.Send(RequestBytes("GET", "/v2/health/ready")));
  auto r = first.Read(20s);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200);
  flood.clear();
  EXPECT_TRUE(Eventually([&] { return ServesHealth(server.port()); }));
}

// VmRSS of `pid` in bytes.
size_t ResidentBytes(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6)) * 1024;
  }
  return 0;
}

TEST(HttpLimits, MemoryReturnsAfterALargeRequest) {
  if (kSanitized) GTEST_SKIP() << "ASan's allocator quarantines freed memory";
  LimitedServer server({});
  ASSERT_GT(server.port(), 0) << server.process().output();
  // Warm up with small requests, then the idle figure.
  for (int i = 0; i < 20; ++i) {
    RawConnection c(server.port());
    ASSERT_TRUE(c.Send(BigInferRequest(1024)));
    ASSERT_TRUE(c.Read(20s).has_value());
  }
  const size_t idle = ResidentBytes(server.process().pid());
  ASSERT_GT(idle, 0u);
  {
    RawConnection c(server.port());
    ASSERT_TRUE(c.Send(BigInferRequest((64u << 20) / 4 - 1024)));  // Just under 64 MiB.
    auto r = c.Read(60s);
    ASSERT_TRUE(r.has_value());
    EXPECT_EQ(r->status, 200);
  }
  size_t now = 0;
  EXPECT_TRUE(Eventually([&] {
    now = ResidentBytes(server.process().pid());
    return now <= idle + (10u << 20);
  })) << "idle "
      << idle << " bytes, after the request " << now;
  EXPECT_TRUE(ServesHealth(server.port()));
}

}  // namespace
}  // namespace inferd
