// SPDX-License-Identifier: Apache-2.0
// The measuring engine of `inferd-perf profile`: connects to a server through the client
// library (any scheme), checks the model and builds its inputs, then measures load levels the way
// perf_analyzer does (windows of --measurement-interval until the last three agree within
// --stability-percentage, at most --max-trials), with the server's own breakdown from statistics
// deltas and the hardware from /metrics. A sweep calls MeasureLevel for the levels it chooses.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "perf/profile_options.h"
#include "perf/profile_result.h"

namespace inferd::perf {

// Told where the run is; the tool draws its progress line from it.
struct Progress {
  int level_index = 0;  // 0-based
  int level_count = 0;
  double level_value = 0;
  int window = 0;  // 1-based window within the level
  int max_windows = 0;
  double elapsed_s = 0;
};
using ProgressCallback = std::function<void(const Progress&)>;

class Profiler {
 public:
  // Connects, checks the server answers within options.connect_timeout_ms, checks the model and
  // version, reads its batching, resolves input shapes and reads or makes the input data. Each
  // problem is an error whose message names it (an unknown model lists the models there).
  static absl::StatusOr<std::unique_ptr<Profiler>> Create(const ProfileOptions& options);
  virtual ~Profiler() = default;

  // Measures one level: concurrency (closed loop) or request rate (open loop). An error means the
  // level could not be measured (the server went away); failing requests are counted instead.
  virtual absl::StatusOr<LevelResult> MeasureLevel(LoadMode mode, double value,
                                                   const ProgressCallback& progress) = 0;

  // Every level of the options' range, stopping early at the latency threshold, with hints and
  // absent-hardware notes. Never fails as a whole: result.error holds the error that ended it.
  virtual ProfileResult Run(const ProgressCallback& progress) = 0;
};

// Plain-words readings of the results ("queue time exceeds compute time: ..."); empty when there
// is nothing to say.
std::vector<std::string> MakeHints(const ProfileResult& result);

}  // namespace inferd::perf
