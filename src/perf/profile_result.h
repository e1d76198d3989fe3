// SPDX-License-Identifier: Apache-2.0
// What one `inferd-perf profile` run measured, as plain data: the printed table, the CSV and the
// JSON are all written from these structs, and a sweep (issue 17) reads them the same way.
// Times are microseconds unless a name says otherwise; an absent measurement is std::nullopt,
// never a zero.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"

namespace inferd::perf {

enum class LoadMode { kConcurrency, kRequestRate };

struct LatencySummary {
  uint64_t count = 0;  // Successful requests the figures are over.
  double avg_us = 0;
  double min_us = 0;
  double max_us = 0;
  double p50_us = 0;
  double p90_us = 0;
  double p95_us = 0;
  double p99_us = 0;
  std::optional<double> custom_percentile_us;  // --percentile P, when given.
};

// The server's own account of the window: deltas of its statistics extension (per request
// averages, as perf_analyzer computes them).
struct ServerBreakdown {
  bool available = false;      // False when the statistics could not be read.
  uint64_t success_count = 0;  // Requests the server completed successfully in the window.
  uint64_t fail_count = 0;
  uint64_t inference_count = 0;  // Batch elements.
  uint64_t execution_count = 0;  // Backend executions (a batch counts once).
  double queue_us = 0;
  double compute_input_us = 0;
  double compute_infer_us = 0;
  double compute_output_us = 0;
  // Batch size that actually ran -> executions of that size in the window.
  std::map<int64_t, uint64_t> executions_by_batch_size;
};

struct GpuSummary {
  std::string uuid;
  std::optional<double> utilization_mean;  // 0-1
  std::optional<double> utilization_stddev;
  std::optional<double> memory_used_bytes;
  std::optional<double> power_w;
};

// What the hardware did during the window, from the server's /metrics (or in-process probes for
// local://). Fields the machine does not expose stay empty; ProfileResult::hardware_absent says
// why, once.
struct HardwareSummary {
  int samples = 0;
  std::optional<double> cpu_utilization_mean;  // 0-1, the whole machine
  std::optional<double> cpu_utilization_stddev;
  std::optional<int> cpu_utilization_swings;  // Consecutive samples >= 25 points apart.
  std::optional<double> resident_memory_bytes;  // The server process (max over the window).
  std::optional<double> cpu_power_w;            // RAPL, all packages.
  std::vector<GpuSummary> gpus;
};

// One measurement window (the level's result merges the last stable ones).
struct WindowResult {
  double duration_s = 0;
  uint64_t successes = 0;
  uint64_t errors = 0;
  double throughput = 0;  // Inferences (batch elements) per second.
  double avg_latency_us = 0;
  double p50_latency_us = 0;
  double stabilizing_latency_us = 0;  // The average or --percentile's value.
};

struct LevelResult {
  LoadMode mode = LoadMode::kConcurrency;
  double value = 0;  // Concurrency, or requests per second.
  int64_t batch_size = 1;
  double duration_s = 0;   // Of the windows the figures are over.
  double throughput = 0;   // Inferences per second (successful requests x batch size).
  double request_rate = 0; // Successful requests per second.
  uint64_t successes = 0;
  uint64_t errors = 0;
  std::map<std::string, uint64_t> errors_by_message;
  LatencySummary latency;  // Closed loop: from send; open loop: from the scheduled send time.
  // Client side, averaged per request. send: the time the client library held the caller while
  // encoding and handing the request over (async and streaming modes; 0 in sync mode, where one
  // call does everything); recv: the time from the response's arrival in our callback to the end
  // of its handling. network_server_us: perf_analyzer's "Network+Server Send/Recv", latency minus
  // client send/recv minus the server's queue and compute.
  double client_send_us = 0;
  double client_recv_us = 0;
  double network_server_us = 0;
  double response_wait_us = 0;  // Latency minus client send and recv.
  ServerBreakdown server;
  HardwareSummary hardware;
  bool stable = false;
  std::vector<WindowResult> windows;  // Every window measured at this level, in order.
};

struct ProfileResult {
  // What was asked.
  std::string model;
  int64_t version = 0;  // 0: the server's latest.
  std::string url;
  std::string protocol;  // local, http, grpc, ipc
  std::string codec;     // binary, json, npy, arrow (http); protobuf (grpc); native (ipc, local)
  int64_t batch_size = 1;
  LoadMode mode = LoadMode::kConcurrency;
  std::string call_mode;  // sync, async, streaming
  std::string distribution;  // constant/poisson (request rate mode)
  std::string input_data;
  std::string shared_memory;
  std::optional<int> percentile;
  double measurement_interval_ms = 0;
  std::string measurement_mode;
  uint64_t measurement_request_count = 0;  // count_windows
  int max_trials = 0;
  double stability_percentage = 0;
  // What was measured, one entry per level in the order run.
  std::vector<LevelResult> levels;
  std::vector<std::string> hardware_absent;  // Each missing probe, said once.
  std::vector<std::string> hints;            // Plain-words reading of the numbers.
  std::string stop_reason;                   // Why the range ended early (latency threshold).
  absl::Status error;  // Not OK when the run ended on an error; `levels` holds what was measured.
};

const char* LoadModeName(LoadMode mode);

}  // namespace inferd::perf
