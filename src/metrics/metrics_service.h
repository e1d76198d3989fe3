// SPDX-License-Identifier: Apache-2.0
// MetricsService: the Prometheus endpoint (GET /metrics, text format, prometheus-cpp's Exposer)
// with the serving collector and the hardware collector behind it, and the thread that samples
// the hardware every interval. Triton's --metrics-* flags map onto its Options.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "metrics/hardware_collector.h"
#include "metrics/serving_collector.h"

namespace prometheus {
class Exposer;
}

namespace inferd::metrics {

struct MetricsServiceOptions {
  std::string address = "0.0.0.0";
  int port = 8002;              // 0 picks a free port; port() tells which.
  int interval_ms = 2000;       // Hardware sampling period (> 0).
  StatisticsSource statistics;  // Required.
  HardwareCollectorOptions hardware;
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

 private:
  MetricsService() = default;
  void SampleLoop();

  MetricsServiceOptions options_;
  std::shared_ptr<ServingCollector> serving_;
  std::shared_ptr<HardwareCollector> hardware_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  int port_ = 0;

  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread sampler_;
};

}  // namespace inferd::metrics
