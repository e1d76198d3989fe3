// SPDX-License-Identifier: Apache-2.0
#include "server/model_stats.h"

#include "core/clock.h"

namespace inferd {

void ModelStatsRecorder::Duration::Add(int64_t ns_value) {
  count.fetch_add(1, std::memory_order_relaxed);
  ns.fetch_add(static_cast<uint64_t>(ns_value < 0 ? 0 : ns_value), std::memory_order_relaxed);
}

DurationStat ModelStatsRecorder::Duration::Load() const {
  return {count.load(std::memory_order_relaxed), ns.load(std::memory_order_relaxed)};
}

FailureReason ClassifyFailure(const absl::Status& status, bool reached_backend) {
  switch (status.code()) {
    case absl::StatusCode::kCancelled:
      return FailureReason::kCanceled;
    case absl::StatusCode::kUnavailable:
    case absl::StatusCode::kResourceExhausted:
    case absl::StatusCode::kDeadlineExceeded:
      return reached_backend ? FailureReason::kBackend : FailureReason::kRejected;
    default:
      return reached_backend ? FailureReason::kBackend : FailureReason::kOther;
  }
}

void ModelStatsRecorder::RecordSuccess(int batch_size, int64_t total_ns, int64_t queue_ns,
                                       int64_t input_ns, int64_t infer_ns, int64_t output_ns) {
  success_.Add(total_ns);
  queue_.Add(queue_ns);
  compute_input_.Add(input_ns);
  compute_infer_.Add(infer_ns);
  compute_output_.Add(output_ns);
  inference_count_.fetch_add(static_cast<uint64_t>(batch_size), std::memory_order_relaxed);
  const double total_us = static_cast<double>(total_ns) / 1000.0;
  size_t bucket = 0;
  while (bucket < kRequestLatencyBucketsUs.size() && total_us > kRequestLatencyBucketsUs[bucket]) {
    ++bucket;
  }
  latency_buckets_[bucket].fetch_add(1, std::memory_order_relaxed);
  last_inference_ms_.store(static_cast<uint64_t>(WallMillisNow()), std::memory_order_relaxed);
}

void ModelStatsRecorder::RecordFailure(int64_t total_ns, FailureReason reason) {
  fail_.Add(total_ns);
  fail_by_reason_[static_cast<size_t>(reason)].fetch_add(1, std::memory_order_relaxed);
  last_inference_ms_.store(static_cast<uint64_t>(WallMillisNow()), std::memory_order_relaxed);
}

void ModelStatsRecorder::OnExecution(const ExecutionRecord& record) {
  if (!record.ok) return;
  execution_count_.fetch_add(1, std::memory_order_relaxed);
  absl::MutexLock lock(&batch_mu_);
  BatchStats& stats = batch_stats_[record.batch_size];
  stats.batch_size = record.batch_size;
  stats.compute_input.count++;
  stats.compute_input.ns += static_cast<uint64_t>(record.compute_input_ns);
  stats.compute_infer.count++;
  stats.compute_infer.ns += static_cast<uint64_t>(record.compute_infer_ns);
  stats.compute_output.count++;
  stats.compute_output.ns += static_cast<uint64_t>(record.compute_output_ns);
}

ModelStatistics ModelStatsRecorder::Snapshot() const {
  ModelStatistics s;
  s.last_inference_ms = last_inference_ms_.load(std::memory_order_relaxed);
  s.inference_count = inference_count_.load(std::memory_order_relaxed);
  s.execution_count = execution_count_.load(std::memory_order_relaxed);
  s.inference_stats.success = success_.Load();
  s.inference_stats.fail = fail_.Load();
  s.inference_stats.queue = queue_.Load();
  s.inference_stats.compute_input = compute_input_.Load();
  s.inference_stats.compute_infer = compute_infer_.Load();
  s.inference_stats.compute_output = compute_output_.Load();
  auto reason_count = [this](FailureReason r) {
    return fail_by_reason_[static_cast<size_t>(r)].load(std::memory_order_relaxed);
  };
  s.fail_by_reason = {reason_count(FailureReason::kRejected), reason_count(FailureReason::kCanceled),
                      reason_count(FailureReason::kBackend), reason_count(FailureReason::kOther)};
  s.request_latency_us.upper_bounds.assign(kRequestLatencyBucketsUs.begin(),
                                           kRequestLatencyBucketsUs.end());
  for (const auto& count : latency_buckets_) {
    s.request_latency_us.counts.push_back(count.load(std::memory_order_relaxed));
  }
  s.request_latency_us.sum = static_cast<double>(s.inference_stats.success.ns) / 1000.0;
  absl::MutexLock lock(&batch_mu_);
  for (const auto& [size, stats] : batch_stats_) s.batch_stats.push_back(stats);
  return s;
}

}  // namespace inferd
