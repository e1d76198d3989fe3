// SPDX-License-Identifier: Apache-2.0
#include "metrics/metrics_service.h"

#include <exception>

#include "core/client_text.h"
#include "core/clock.h"
#include "fmt/format.h"
#include "prometheus/text_serializer.h"
#include "transport/http/http_server.h"

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

  HttpServerOptions http;
  http.address = service->options_.address;
  http.port = service->options_.port;
  http.thread_count = service->options_.thread_count;
  http.max_input_size = 64 * 1024;  // GET /metrics has no body.
  http.buffer_cache_bytes = 0;
  http.socket_buffer_size = 0;
  http.header_timeout_ms = service->options_.header_timeout_ms;
  http.body_timeout_ms = service->options_.header_timeout_ms;
  http.idle_timeout_ms = service->options_.idle_timeout_ms;
  http.send_timeout_ms = service->options_.send_timeout_ms;
  http.max_connections = service->options_.max_connections;
  http.drain_timeout_ms = 1000;
  http.name = "METRICS";
  auto endpoint = HttpServer::Create(
      [s = service.get()](HttpRequest request, HttpResponder respond) {
        s->Handle(request, respond);
      },
      http);
  if (!endpoint.ok()) {
    return absl::UnavailableError(
        fmt::format("metrics endpoint: {}", std::string(endpoint.status().message())));
  }
  service->endpoint_ = *std::move(endpoint);
  service->port_ = service->endpoint_->port();
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
  if (endpoint_) endpoint_->Stop();
}

std::string MetricsService::Scrape() const {
  std::vector<prometheus::MetricFamily> families = serving_->Collect();
  std::vector<prometheus::MetricFamily> hardware = hardware_->Collect();
  families.insert(families.end(), std::make_move_iterator(hardware.begin()),
                  std::make_move_iterator(hardware.end()));
  return prometheus::TextSerializer().Serialize(families);
}

void MetricsService::Handle(const HttpRequest& request, const HttpResponder& respond) const {
  const std::string_view target = request.target;
  const std::string_view path = target.substr(0, target.find('?'));
  HttpResponse response;
  response.content_type = "text/plain; charset=utf-8";
  if (path != "/metrics") {
    response.status = 404;
    response.json = "no endpoint here: Prometheus metrics are at /metrics\n";
  } else if (request.method != "GET") {
    response.status = 405;
    response.allow = "GET";
    response.json = fmt::format("method {} is not allowed for /metrics; use GET\n",
                                QuoteClientText(request.method));
  } else {
    response.content_type = "text/plain; version=0.0.4; charset=utf-8";
    response.json = Scrape();
  }
  respond(std::move(response));
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
