// SPDX-License-Identifier: Apache-2.0
// MetricsService: the Prometheus endpoint (GET /metrics, text format) with the serving collector
// and the hardware collector behind it, and the thread that samples the hardware every interval.
// Triton's --metrics-* flags map onto its Options. The endpoint is served by the HTTP transport's
// asynchronous server (its timeouts and limits included), so idle or slow connections cannot
// hold a scrape up, as they did with prometheus-cpp's civetweb exposer (one thread per
// connection: two idle connections made /metrics wait 30 s).
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "metrics/hardware_collector.h"
#include "metrics/serving_collector.h"
#include "transport/http/http_api.h"

namespace inferd {
class HttpServer;
}

namespace inferd::metrics {

struct MetricsServiceOptions {
  std::string address = "0.0.0.0";
  int port = 8002;              // 0 picks a free port; port() tells which.
  int interval_ms = 2000;       // Hardware sampling period (> 0).
  StatisticsSource statistics;  // Required.
  HardwareCollectorOptions hardware;
  int thread_count = 1;  // I/O threads of the endpoint.
  // The endpoint's connection timeouts and limit (see HttpServerOptions).
  int header_timeout_ms = 10000;
  int idle_timeout_ms = 60000;
  int send_timeout_ms = 30000;
  int max_connections = 1024;
};

class MetricsService {
 public:
  // Listens and starts sampling. INVALID_ARGUMENT for a bad option; UNAVAILABLE, naming the
  // address, when it cannot listen.
  static absl::StatusOr<std::unique_ptr<MetricsService>> Create(MetricsServiceOptions options);
  ~MetricsService();  // Stop().

  int port() const { return port_; }
  const HardwareCollector& hardware() const { return *hardware_; }

  // Stops sampling and closes the listener. Idempotent.
  void Stop();

  // The Prometheus text exposition of every metric now (what GET /metrics answers).
  std::string Scrape() const;

 private:
  MetricsService() = default;
  void SampleLoop();
  void Handle(const HttpRequest& request, const HttpResponder& respond) const;

  MetricsServiceOptions options_;
  std::shared_ptr<ServingCollector> serving_;
  std::shared_ptr<HardwareCollector> hardware_;
  std::unique_ptr<HttpServer> endpoint_;
  int port_ = 0;

  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread sampler_;
};

}  // namespace inferd::metrics
