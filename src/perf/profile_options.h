// SPDX-License-Identifier: Apache-2.0
// The settings of one profile run, with perf_analyzer's meanings (tools/inferd-perf maps its flags
// onto this struct; a sweep builds it directly).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "perf/profile_result.h"

namespace inferd::perf {

struct LoadRange {
  double start = 1;
  double end = 1;
  double step = 1;
  std::vector<double> Values() const;  // start, start + step, ... up to end (inclusive).
};

enum class CallMode { kSync, kAsync, kStreaming };
enum class RequestDistribution { kConstant, kPoisson };
enum class MeasurementMode { kTimeWindows, kCountWindows };
enum class SharedMemoryMode { kNone, kSystem };

struct ProfileOptions {
  std::string model;
  int64_t version = 0;  // 0: the latest ready version.
  int64_t batch_size = 1;
  std::string url = "http://localhost:8000";
  // Where metadata and statistics are read from when the URL's transport has no such calls
  // (ipc://); empty: http://localhost:8000.
  std::string control_url;
  // --codec: the request and response body format. http://: binary (Triton's binary extension,
  // the default), json, npy or arrow; grpc://: protobuf (its only one). Empty: the default.
  std::string codec;
  std::string backend_directory;  // local:// only: where the backend plugins are.

  LoadMode mode = LoadMode::kConcurrency;
  LoadRange concurrency;
  LoadRange request_rate;
  RequestDistribution distribution = RequestDistribution::kConstant;
  CallMode call_mode = CallMode::kSync;

  // "zero", "random", a perf_analyzer JSON input-data file, or a folder of <input>.npy files.
  std::string input_data = "random";
  std::map<std::string, std::vector<int64_t>> shapes;  // --shape, without the batch dimension.
  SharedMemoryMode shared_memory = SharedMemoryMode::kNone;

  double measurement_interval_ms = 5000;
  MeasurementMode measurement_mode = MeasurementMode::kTimeWindows;
  uint64_t measurement_request_count = 50;
  double stability_percentage = 10;
  int max_trials = 10;
  std::optional<int> percentile;  // Stabilise on this percentile instead of the average.
  double latency_threshold_ms = 0;  // 0: none.

  bool collect_metrics = false;
  std::string metrics_url;  // Empty: port 8002 of the server's host.
  double metrics_interval_ms = 1000;

  // Answer expected from the server within this long when connecting.
  double connect_timeout_ms = 3000;
  uint64_t seed = 1;
};

}  // namespace inferd::perf
