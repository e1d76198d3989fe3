// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

namespace inferd::bench {

struct MemoryBenchOptions {
  std::string inferd_path;  // The server binary to measure.
  std::string model_repository;
  int settle_ms = 500;  // Idle time after readiness before reading memory.
  // The whole server with its network transports must stay within 20 MB (issue 2's goal for the
  // server with every transport; the foundation alone had 10 MB).
  double budget_mb = 20.0;
};

// Starts the inferd binary, waits for its readiness line, lets it idle, reads its resident
// memory from /proc/<pid>/status, stops it with SIGTERM and prints the figures. Returns the exit
// code for main.
int RunMemoryBench(const MemoryBenchOptions& options);

}  // namespace inferd::bench
