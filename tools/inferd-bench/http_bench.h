// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <vector>

namespace inferd::bench {

struct HttpBenchOptions {
  std::string inferd_path;  // The server binary.
  std::string self_path;    // This binary, which runs the echo baseline as `http-echo-server`.
  std::string model_repository;
  std::vector<std::string> inferd_args;  // Extra flags for inferd.
  int rounds = 10;                // Alternating rounds of inferd and echo samples.
  int samples_per_round = 200;    // Round trips per round (16-byte input).
  int large_samples_per_round = 40;  // Round trips per round (602,112-byte input).
  int concurrency = 8;             // Connections (and requests in flight) for the throughput run.
  int throughput_requests = 20000;  // Requests of the throughput run, per side.
  bool pin = true;  // Servers on CPU 1, clients on CPU 0 (when there are two CPUs).
};

// Starts the real inferd binary on a free port and a bare Boost.Beast echo server (this binary's
// `http-echo-server`, also a child process), and prints from one run: the median and p90 round trip of
// `identity` FP32 with 602,112- and 16-byte inputs through inferd's http:// client (binary tensor
// extension) and of the bare Beast client/echo server moving the same bytes, their ratios against
// the goals (1.15 and 1.3), and requests per second with `concurrency` connections and 16-byte
// inputs (inferd through Client::InferAsync; the echo baseline with one synchronous Beast client
// per connection). Returns main's exit code (non-zero when a run failed, not when a goal is
// missed).
int RunHttpBench(const HttpBenchOptions& options);

// The echo baseline: serves on a free port of 127.0.0.1, prints "ECHO server listening on
// 127.0.0.1:<port>", and runs until SIGTERM.
int RunHttpEchoServer();

}  // namespace inferd::bench
