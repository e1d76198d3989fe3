// SPDX-License-Identifier: Apache-2.0
#include "metrics/metrics_service.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <vector>

namespace inferd::metrics {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// GET `path` from 127.0.0.1:`port` over a plain socket; the whole response.
// `timeout_s` bounds each read (SO_RCVTIMEO; 0: none).
std::string HttpGet(int port, const std::string& path, int timeout_s = 0) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (timeout_s > 0) {
    timeval tv{timeout_s, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return "";
  }
  const std::string request =
      "GET " + path + " HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n";
  (void)!write(fd, request.data(), request.size());
  std::string response;
  char buffer[4096];
  for (ssize_t n; (n = read(fd, buffer, sizeof(buffer))) > 0;) response.append(buffer, n);
  close(fd);
  return response;
}

MetricsServiceOptions Options() {
  MetricsServiceOptions options;
  options.address = "127.0.0.1";
  options.port = 0;
  options.interval_ms = 50;
  options.hardware.nvml.library = "libnvidia-ml-absent-for-test.so.1";
  options.statistics = [] {
    ModelStatistics s;
    s.name = "identity";
    s.version = "1";
    s.inference_stats.success.count = 5;
    return std::vector<ModelStatistics>{s};
  };
  return options;
}

TEST(MetricsService, ServesPrometheusTextOnTheBoundPort) {
  auto service = MetricsService::Create(Options());
  ASSERT_TRUE(service.ok()) << service.status();
  ASSERT_GT((*service)->port(), 0);
  const std::string response = HttpGet((*service)->port(), "/metrics");
  EXPECT_THAT(response, StartsWith("HTTP/1.1 200 OK"));
  EXPECT_THAT(response, HasSubstr("text/plain"));
  EXPECT_THAT(response,
              AllOf(HasSubstr("nv_inference_request_success{model=\"identity\",version=\"1\"} 5"),
                    HasSubstr("# TYPE nv_cpu_memory_total_bytes gauge")));
}

TEST(MetricsService, UnknownPathIsNotFoundAndMetricsStillServe) {
  auto service = MetricsService::Create(Options());
  ASSERT_TRUE(service.ok()) << service.status();
  EXPECT_THAT(HttpGet((*service)->port(), "/nothing"), StartsWith("HTTP/1.1 404"));
  EXPECT_THAT(HttpGet((*service)->port(), "/metrics"), StartsWith("HTTP/1.1 200 OK"));
}

TEST(MetricsService, IdleConnectionsDoNotHoldUpAScrape) {
  // civetweb's exposer gave each connection one of its 2 threads: two idle connections made
  // /metrics wait 30 s. Now 100 of them change nothing.
  auto service = MetricsService::Create(Options());
  ASSERT_TRUE(service.ok()) << service.status();
  std::vector<int> idle;
  for (int i = 0; i < 100; ++i) {
    const int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>((*service)->port()));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    idle.push_back(fd);
  }
  // One of them has sent half a request.
  (void)!write(idle[0], "GET /met", 8);
  const std::string response = HttpGet((*service)->port(), "/metrics", /*timeout_s=*/10);
  EXPECT_THAT(response, StartsWith("HTTP/1.1 200 OK"));
  EXPECT_THAT(response, HasSubstr("nv_inference_request_success"));
  for (int fd : idle) close(fd);
}

TEST(MetricsService, HardwareIsSampledEveryInterval) {
  auto service = MetricsService::Create(Options());
  ASSERT_TRUE(service.ok()) << service.status();
  // The first sample is taken at start; utilization needs a second one, 50 ms later.
  std::string text;
  for (int i = 0; i < 200 && text.find("nv_cpu_utilization ") == std::string::npos; ++i) {
    usleep(20'000);
    text = HttpGet((*service)->port(), "/metrics");
  }
  EXPECT_THAT(text, AllOf(HasSubstr("nv_cpu_utilization "), HasSubstr("nv_cpu_utilization_mean ")));
}

TEST(MetricsService, PortInUseIsUnavailableNamingTheAddress) {
  auto first = MetricsService::Create(Options());
  ASSERT_TRUE(first.ok()) << first.status();
  MetricsServiceOptions options = Options();
  options.port = (*first)->port();
  auto second = MetricsService::Create(options);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(std::string(second.status().message()),
              AllOf(HasSubstr("cannot listen"), HasSubstr(std::to_string(options.port))));
  EXPECT_THAT(HttpGet((*first)->port(), "/metrics"), StartsWith("HTTP/1.1 200 OK"));
}

TEST(MetricsService, BadOptionsAreInvalidArgumentNamingTheFlag) {
  MetricsServiceOptions options = Options();
  options.interval_ms = 0;
  auto service = MetricsService::Create(options);
  EXPECT_EQ(service.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(service.status().message()), HasSubstr("--metrics-interval-ms"));
  options = Options();
  options.port = 70000;
  service = MetricsService::Create(options);
  EXPECT_EQ(service.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(service.status().message()), HasSubstr("--metrics-port"));
}

}  // namespace
}  // namespace inferd::metrics
