// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

namespace inferd::bench {

struct PerfCheckOptions {
  std::string inferd_path;
  std::string perf_path;  // inferd-perf
  std::string model_repository;
  int rounds = 3;             // Alternating rounds of inferd-perf and the socket generator.
  double window_ms = 2000;    // inferd-perf's -p; the generator runs 3 windows' worth.
  bool pin = true;            // Server on CPU 1, both clients on CPU 0.
};

// Does inferd-perf distort what it measures? Against one inferd serving `identity` with a 16-byte
// input over HTTP, at concurrency 1 and 8, compares inferd-perf's throughput and p50 with those of
// an independent closed-loop generator written here on plain POSIX sockets (one keep-alive
// connection per request in flight, the same request bytes every time), in alternating rounds,
// and prints the medians and their ratios (goal: within 5%). Beside them, inferd-perf's own
// ceiling: the same request over ipc:// at concurrency 8. Returns main's exit code.
int RunPerfCheckBench(const PerfCheckOptions& options);

}  // namespace inferd::bench
