// SPDX-License-Identifier: Apache-2.0
#include "metrics/metrics_service.h"

#include <exception>

#include "core/clock.h"
#include "fmt/format.h"
#include "prometheus/exposer.h"

namespace inferd::metrics {

absl::StatusOr<std::unique_ptr<MetricsService>> MetricsService::Create(
    MetricsServiceOptions options) {
  if (!options.statistics) {
    return absl::InvalidArgumentError("metrics service needs a statistics source");
  }
  if (options.interval_ms <= 0) {
    return absl::InvalidArgumentError(
        fmt::format("--metrics-interval-ms must be positive, got {}", options.interval_ms));
  }
  if (options.port < 0 || options.port > 65535) {
    return absl::InvalidArgumentError(
        fmt::format("--metrics-port must be between 0 and 65535, got {}", options.port));
  }
  auto service = std::unique_ptr<MetricsService>(new MetricsService());
  service->options_ = std::move(options);
  service->serving_ = std::make_shared<ServingCollector>(service->options_.statistics);
  service->hardware_ = std::make_shared<HardwareCollector>(service->options_.hardware);
  service->hardware_->Sample(Clock::Real()->NowNanos());

  const std::string& address = service->options_.address;
  const std::string bind = address.find(':') != std::string::npos
                               ? fmt::format("[{}]:{}", address, service->options_.port)
                               : fmt::format("{}:{}", address, service->options_.port);
  try {
    service->exposer_ = std::make_unique<prometheus::Exposer>(bind, /*num_threads=*/2);
  } catch (const std::exception& e) {
    return absl::UnavailableError(
        fmt::format("metrics endpoint cannot listen on {}: {}", bind, e.what()));
  }
  const std::vector<int> ports = service->exposer_->GetListeningPorts();
  if (ports.empty()) {
    return absl::UnavailableError(fmt::format("metrics endpoint is not listening on {}", bind));
  }
  service->port_ = ports.front();
  service->exposer_->RegisterCollectable(service->serving_);
  service->exposer_->RegisterCollectable(service->hardware_);
  service->sampler_ = std::thread([s = service.get()] { s->SampleLoop(); });
  return service;
}

MetricsService::~MetricsService() { Stop(); }

void MetricsService::Stop() {
  {
    absl::MutexLock lock(&mu_);
    stop_ = true;
  }
  if (sampler_.joinable()) sampler_.join();
  exposer_.reset();
}

void MetricsService::SampleLoop() {
  const absl::Duration interval = absl::Milliseconds(options_.interval_ms);
  absl::MutexLock lock(&mu_);
  while (true) {
    auto stop = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return stop_; };
    if (mu_.AwaitWithTimeout(absl::Condition(&stop), interval)) break;
    mu_.Unlock();
    hardware_->Sample(Clock::Real()->NowNanos());
    mu_.Lock();
  }
}

}  // namespace inferd::metrics
