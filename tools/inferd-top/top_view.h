// SPDX-License-Identifier: Apache-2.0
// What inferd-top shows, computed from two scrapes of a running inferd (its /metrics text and,
// when the HTTP port is known, its statistics API): per model the request rate, latency p50/p99,
// the queue's share of latency and the batch sizes that ran; CPU and GPU utilization with its
// steadiness, memory and power; and plain-language hints when utilization is low or unsteady.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "inferd/server_types.h"
#include "prometheus_text.h"

namespace inferd::top {

struct Scrape {
  int64_t time_ns = 0;  // Monotonic.
  MetricSet metrics;
  std::optional<std::vector<ModelStatistics>> statistics;  // None when not read.
};

struct ModelRow {
  std::string name;
  std::string version;
  double request_rate = 0;  // Requests per second over the interval, successes and failures.
  double failure_rate = 0;
  // Over the interval; when no request completed in it, since the server started.
  bool since_start = false;
  std::optional<double> p50_us;
  std::optional<double> p99_us;
  std::optional<double> queue_share;                      // Queue time / request time.
  std::vector<std::pair<int64_t, uint64_t>> batch_sizes;  // Batch size -> executions.
  bool exact_batch_sizes = false;  // From the statistics API; else histogram buckets (<= size).
  double pending = 0;
};

struct DeviceRow {
  std::string name;  // "CPU", or a GPU's uuid.
  std::optional<double> utilization;
  std::optional<double> mean;
  std::optional<double> stddev;
  std::optional<double> swings;
  std::optional<double> memory_used_bytes;
  std::optional<double> memory_total_bytes;
  std::optional<double> power_w;
  std::optional<double> power_limit_w;
};

struct TopView {
  double interval_s = 0;
  std::vector<ModelRow> models;
  DeviceRow cpu;
  std::optional<double> resident_bytes;
  std::vector<DeviceRow> gpus;
  std::vector<std::string> hints;
};

// `previous` and `current` are two scrapes of the same server, `current` the later.
TopView BuildView(const Scrape& previous, const Scrape& current);

// The q-quantile (0-1) of a histogram given as (upper bound, cumulative count) pairs ascending,
// the last bound +Inf; linear inside a bucket, as Prometheus' histogram_quantile. None if empty.
std::optional<double> HistogramQuantile(double q,
                                        const std::vector<std::pair<double, double>>& buckets);

// Utilization samples per device name, oldest first, for the sparklines.
using UtilizationHistory = std::map<std::string, std::deque<double>>;
void RecordHistory(const TopView& view, UtilizationHistory& history, size_t capacity = 30);

// The screen, as lines of at most `width` columns.
std::string Render(const TopView& view, const UtilizationHistory& history,
                   const std::string& target, int width = 100);

}  // namespace inferd::top
