// SPDX-License-Identifier: Apache-2.0
// The serving half of /metrics: Triton's per-model counters (nv_inference_request_success,
// nv_inference_request_failure{reason}, nv_inference_count, nv_inference_exec_count, the
// cumulative *_duration_us counters, nv_inference_pending_request_count) plus two histograms of
// ours in the same style (nv_inference_request_latency_us, nv_inference_batch_size). Every value
// is derived at scrape time from the server's per-model statistics, so the request path pays
// nothing for metrics beyond the statistics it keeps anyway. Thread-safe when `source` is.
#pragma once

#include <functional>
#include <vector>

#include "inferd/server_types.h"
#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"

namespace inferd::metrics {

// Returns the statistics of every loaded model version (InferenceServer::Statistics("", 0)).
using StatisticsSource = std::function<std::vector<ModelStatistics>()>;

// Upper bounds of the nv_inference_batch_size histogram's buckets.
inline constexpr double kBatchSizeBuckets[] = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};

class ServingCollector final : public prometheus::Collectable {
 public:
  explicit ServingCollector(StatisticsSource source) : source_(std::move(source)) {}

  std::vector<prometheus::MetricFamily> Collect() const override;

  // The families for given statistics (Collect without the source), for tests and tools.
  static std::vector<prometheus::MetricFamily> Families(const std::vector<ModelStatistics>& stats);

 private:
  StatisticsSource source_;
};

}  // namespace inferd::metrics
