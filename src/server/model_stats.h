// SPDX-License-Identifier: Apache-2.0
// Statistics of one loaded model version, with Triton's fields. Thread-safe; updates are a few
// relaxed atomic adds on the request path, batch statistics take a short lock per execution.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "inferd/server_types.h"
#include "scheduler/scheduler.h"

namespace inferd {

// Triton's reasons for a failed request (nv_inference_request_failure{reason=...}).
enum class FailureReason { kRejected, kCanceled, kBackend, kOther };

// The reason for a request that failed with `status`; `reached_backend` when its execution had
// started. CANCELLED is CANCELED; a failure during execution is BACKEND; a refusal by the scheduler
// (UNAVAILABLE, RESOURCE_EXHAUSTED, DEADLINE_EXCEEDED before running) is REJECTED; else OTHER.
FailureReason ClassifyFailure(const absl::Status& status, bool reached_backend);

// Upper bounds (us) of the request-latency histogram's buckets; one more bucket is unbounded.
inline constexpr std::array<double, 16> kRequestLatencyBucketsUs = {
    50,    100,    250,    500,    1000,    2500,    5000,    10000,
    25000, 50000, 100000, 250000, 500000, 1000000, 2500000, 5000000};

class ModelStatsRecorder final : public ExecutionObserver {
 public:
  // A request that completed successfully: `batch_size` elements, durations in ns.
  void RecordSuccess(int batch_size, int64_t total_ns, int64_t queue_ns, int64_t input_ns,
                     int64_t infer_ns, int64_t output_ns);
  // A request that reached this model and failed (validation, queue, execution).
  void RecordFailure(int64_t total_ns, FailureReason reason = FailureReason::kOther);

  void OnExecution(const ExecutionRecord& record) override;

  // A consistent-enough copy (each counter read atomically).
  ModelStatistics Snapshot() const;

 private:
  struct Duration {
    std::atomic<uint64_t> count{0};
    std::atomic<uint64_t> ns{0};
    void Add(int64_t ns_value);
    DurationStat Load() const;
  };
  Duration success_, fail_, queue_, compute_input_, compute_infer_, compute_output_;
  std::atomic<uint64_t> inference_count_{0};
  std::atomic<uint64_t> execution_count_{0};
  std::atomic<uint64_t> last_inference_ms_{0};
  std::array<std::atomic<uint64_t>, 4> fail_by_reason_{};  // Indexed by FailureReason.
  std::array<std::atomic<uint64_t>, kRequestLatencyBucketsUs.size() + 1> latency_buckets_{};
  mutable absl::Mutex batch_mu_;
  std::map<int64_t, BatchStats> batch_stats_ ABSL_GUARDED_BY(batch_mu_);
};

}  // namespace inferd
