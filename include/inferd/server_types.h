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

struct ModelStatistics {
  std::string name;
  std::string version;
  uint64_t last_inference_ms = 0;  // Wall-clock ms since the epoch; 0 if never.
  uint64_t inference_count = 0;    // Batch elements inferred successfully.
  uint64_t execution_count = 0;    // Backend executions (a batch counts once).
  InferenceStats inference_stats;
  std::vector<BatchStats> batch_stats;  // Ascending batch size.
  int64_t memory_bytes = 0;             // What the backend reports for the loaded model.
};

struct ModelIndexEntry {
  std::string name;
  std::string version;  // Empty when no version is loaded.
  std::string state;    // READY, UNAVAILABLE, LOADING, UNLOADING
  std::string reason;
};

}  // namespace inferd
