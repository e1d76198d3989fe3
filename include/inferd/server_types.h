// SPDX-License-Identifier: Apache-2.0
// Plain descriptions of the server, its models and their statistics, shared by the server facade,
// the client library and every transport.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "inferd/datatype.h"
#include "inferd/tensor.h"

namespace inferd {

struct ServerMetadata {
  std::string name;
  std::string version;
  std::vector<std::string> extensions;
};

struct TensorMetadata {
  std::string name;
  DataType datatype = DataType::kInvalid;
  Shape shape;  // -1 for variable dimensions, including the batch dimension of a batching model.
};

struct ModelMetadata {
  std::string name;
  std::vector<std::string> versions;  // Ready versions, ascending.
  std::string platform;
  std::vector<TensorMetadata> inputs;
  std::vector<TensorMetadata> outputs;
};

// A count and the total nanoseconds spent, accumulated since the model version was loaded (the
// statistics extension's {"count", "ns"}).
struct DurationStat {
  uint64_t count = 0;
  uint64_t ns = 0;
};

struct InferenceStats {
  DurationStat success;
  DurationStat fail;
  DurationStat queue;
  DurationStat compute_input;
  DurationStat compute_infer;
  DurationStat compute_output;
};

struct BatchStats {
  int64_t batch_size = 0;
  DurationStat compute_input;
  DurationStat compute_infer;
  DurationStat compute_output;
};

// Failed requests by Triton's reasons (the `reason` label of nv_inference_request_failure).
struct FailureCounts {
  uint64_t rejected = 0;  // Refused by the scheduler: queue full or timed out, model stopping.
  uint64_t canceled = 0;  // Cancelled by the client.
  uint64_t backend = 0;   // The backend failed while executing them.
  uint64_t other = 0;     // Anything else, such as an invalid request.
};

// A histogram with fixed bounds: counts[i] samples fell in (upper_bounds[i-1], upper_bounds[i]];
// counts.back() (one more than the bounds) counts those above the last bound. Not cumulative.
struct HistogramStat {
  std::vector<double> upper_bounds;
  std::vector<uint64_t> counts;
  double sum = 0;
};

struct ModelStatistics {
  std::string name;
  std::string version;
  uint64_t last_inference_ms = 0;  // Wall-clock ms since the epoch; 0 if never.
  uint64_t inference_count = 0;    // Batch elements inferred successfully.
  uint64_t execution_count = 0;    // Backend executions (a batch counts once).
  InferenceStats inference_stats;
  std::vector<BatchStats> batch_stats;  // Ascending batch size.
  int64_t memory_bytes = 0;             // RSS the load added, or the backend's figure if larger.
  FailureCounts fail_by_reason;         // Splits inference_stats.fail.count.
  HistogramStat request_latency_us;     // Successful requests, received to response, in us.
  int64_t pending_request_count = 0;    // Queued or executing when the statistics were taken.
};

struct ModelIndexEntry {
  std::string name;
  std::string version;  // Empty when no version is loaded.
  std::string state;    // READY, UNAVAILABLE, LOADING, UNLOADING
  std::string reason;
};

}  // namespace inferd
