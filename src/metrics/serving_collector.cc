// SPDX-License-Identifier: Apache-2.0
#include "metrics/serving_collector.h"

#include "metrics/family_builder.h"

namespace inferd::metrics {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

namespace {

double Micros(uint64_t ns) { return static_cast<double>(ns / 1000); }

// A histogram metric from per-bucket counts (not cumulative) and their upper bounds.
void AddHistogram(MetricFamily& family, const Labels& labels, const std::vector<double>& bounds,
                  const std::vector<uint64_t>& counts, double sum) {
  ClientMetric& metric = AddMetric(family, labels);
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds.size(); ++i) {
    cumulative += i < counts.size() ? counts[i] : 0;
    metric.histogram.bucket.push_back({cumulative, bounds[i]});
  }
  for (size_t i = bounds.size(); i < counts.size(); ++i) cumulative += counts[i];
  metric.histogram.bucket.push_back({cumulative, std::numeric_limits<double>::infinity()});
  metric.histogram.sample_count = cumulative;
  metric.histogram.sample_sum = sum;
}

}  // namespace

std::vector<MetricFamily> ServingCollector::Collect() const { return Families(source_()); }

std::vector<MetricFamily> ServingCollector::Families(const std::vector<ModelStatistics>& stats) {
  MetricFamily success =
      Family("nv_inference_request_success",
             "Number of successful inference requests, all batch sizes", MetricType::Counter);
  MetricFamily failure =
      Family("nv_inference_request_failure", "Number of failed inference requests, all batch sizes",
             MetricType::Counter);
  MetricFamily count = Family("nv_inference_count",
                              "Number of inferences performed (does not include cached requests)",
                              MetricType::Counter);
  MetricFamily exec_count =
      Family("nv_inference_exec_count",
             "Number of model executions performed (does not include cached requests)",
             MetricType::Counter);
  MetricFamily request_duration =
      Family("nv_inference_request_duration_us",
             "Cumulative inference request duration in microseconds (includes cached requests)",
             MetricType::Counter);
  MetricFamily queue_duration =
      Family("nv_inference_queue_duration_us",
             "Cumulative inference queuing duration in microseconds (includes cached requests)",
             MetricType::Counter);
  MetricFamily input_duration =
      Family("nv_inference_compute_input_duration_us",
             "Cumulative compute input duration in microseconds (does not include cached requests)",
             MetricType::Counter);
  MetricFamily infer_duration = Family(
      "nv_inference_compute_infer_duration_us",
      "Cumulative compute inference duration in microseconds (does not include cached requests)",
      MetricType::Counter);
  MetricFamily output_duration =
      Family("nv_inference_compute_output_duration_us",
             "Cumulative inference compute output duration in microseconds (does not include "
             "cached requests)",
             MetricType::Counter);
  MetricFamily pending = Family("nv_inference_pending_request_count",
                                "Instantaneous number of pending requests awaiting execution "
                                "per-model.",
                                MetricType::Gauge);
  MetricFamily latency = Family("nv_inference_request_latency_us",
                                "Latency of successful inference requests in microseconds, from "
                                "arrival to response",
                                MetricType::Histogram);
  MetricFamily batch_size =
      Family("nv_inference_batch_size", "Batch sizes of the model executions that ran",
             MetricType::Histogram);
  const std::vector<double> batch_bounds(std::begin(kBatchSizeBuckets),
                                         std::end(kBatchSizeBuckets));

  for (const ModelStatistics& s : stats) {
    const Labels labels = {{"model", s.name}, {"version", s.version}};
    const InferenceStats& is = s.inference_stats;
    AddValue(success, labels, static_cast<double>(is.success.count));
    const std::pair<const char*, uint64_t> reasons[] = {{"REJECTED", s.fail_by_reason.rejected},
                                                        {"CANCELED", s.fail_by_reason.canceled},
                                                        {"BACKEND", s.fail_by_reason.backend},
                                                        {"OTHER", s.fail_by_reason.other}};
    for (const auto& [reason, n] : reasons) {
      Labels with_reason = labels;
      with_reason.emplace_back("reason", reason);
      AddValue(failure, with_reason, static_cast<double>(n));
    }
    AddValue(count, labels, static_cast<double>(s.inference_count));
    AddValue(exec_count, labels, static_cast<double>(s.execution_count));
    AddValue(request_duration, labels, Micros(is.success.ns));
    AddValue(queue_duration, labels, Micros(is.queue.ns));
    AddValue(input_duration, labels, Micros(is.compute_input.ns));
    AddValue(infer_duration, labels, Micros(is.compute_infer.ns));
    AddValue(output_duration, labels, Micros(is.compute_output.ns));
    AddValue(pending, labels, static_cast<double>(s.pending_request_count));
    AddHistogram(latency, labels, s.request_latency_us.upper_bounds, s.request_latency_us.counts,
                 s.request_latency_us.sum);

    std::vector<uint64_t> batch_counts(batch_bounds.size() + 1, 0);
    double batch_sum = 0;
    for (const BatchStats& b : s.batch_stats) {
      const uint64_t executions = b.compute_infer.count;
      size_t bucket = 0;
      while (bucket < batch_bounds.size() &&
             static_cast<double>(b.batch_size) > batch_bounds[bucket]) {
        ++bucket;
      }
      batch_counts[bucket] += executions;
      batch_sum += static_cast<double>(b.batch_size) * static_cast<double>(executions);
    }
    AddHistogram(batch_size, labels, batch_bounds, batch_counts, batch_sum);
  }

  std::vector<MetricFamily> out;
  for (MetricFamily* f :
       {&success, &failure, &count, &exec_count, &request_duration, &queue_duration,
        &input_duration, &infer_duration, &output_duration, &pending, &latency, &batch_size}) {
    if (!f->metric.empty()) out.push_back(std::move(*f));
  }
  return out;
}

}  // namespace inferd::metrics
