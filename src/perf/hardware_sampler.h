// SPDX-License-Identifier: Apache-2.0
// Samples what the hardware does while a profile runs: the server's /metrics over HTTP
// (nv_cpu_utilization, nv_server_resident_memory_bytes, nv_cpu_power_usage, nv_gpu_*), or for
// local:// the same host probes inferd's /metrics uses, in this process. A thread samples every
// interval; Summarize() reduces the samples taken between two times. A metric the machine does
// not have is reported once in absent(), never as a zero. Thread-safe.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "perf/profile_result.h"

namespace inferd::perf {

struct HardwareSample {
  int64_t time_ns = 0;  // steady clock
  std::optional<double> cpu_utilization;
  std::optional<double> resident_bytes;
  std::optional<double> cpu_power_w;
  std::vector<GpuSummary> gpus;  // One reading each (mean fields hold the reading).
};

// Where samples come from.
class HardwareSource {
 public:
  virtual ~HardwareSource() = default;
  virtual absl::StatusOr<HardwareSample> Read() = 0;
  // Metrics this source cannot provide, each with the reason (after the first Read).
  virtual std::vector<std::string> Absent() const = 0;
};

// GET <url> (http://host:port/path) and read Triton's metric names.
absl::StatusOr<std::unique_ptr<HardwareSource>> CreateMetricsUrlSource(const std::string& url);
// This process's probes: /proc/stat, /proc/self/status, RAPL, NVML.
std::unique_ptr<HardwareSource> CreateInProcessSource();

class HardwareSampler {
 public:
  HardwareSampler(std::unique_ptr<HardwareSource> source, double interval_ms);
  ~HardwareSampler();

  HardwareSummary Summarize(int64_t from_ns, int64_t to_ns) const;
  std::vector<std::string> Absent() const;

 private:
  void Loop();
  std::unique_ptr<HardwareSource> source_;
  const double interval_ms_;
  mutable absl::Mutex mu_;
  std::vector<HardwareSample> samples_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> read_errors_ ABSL_GUARDED_BY(mu_);
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace inferd::perf
