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
  std::vector<int> levels = {1, 8, 32};  // Requests in flight (connections) of the throughput runs.
  int throughput_requests = 20000;  // Requests of each throughput level, per server.
  bool pin = true;  // Servers on CPU 1, clients on CPU 0 (when there are two CPUs).
};

// Starts the real inferd binary on a free port and a bare Boost.Beast echo server (this binary's
// `http-echo-server`, also a child process), and prints from one run: the median and p90 round trip of
// `identity` FP32 with 602,112- and 16-byte inputs through inferd's http:// client (binary tensor
// extension) and of the bare Beast client/echo server moving the same bytes, their ratios against
// the goals (1.15 and 1.3), and, for each level of requests in flight, requests per second of
// 16-byte identity and of the echo under the same load generator, each server's CPU time per
// request, and the ratio (plus inferd through Client::InferAsync, for reference). Returns main's exit code (non-zero when a run failed, not when a goal is
// missed).
int RunHttpBench(const HttpBenchOptions& options);

// The echo baseline: serves on a free port of 127.0.0.1, prints "ECHO server listening on
// 127.0.0.1:<port>", and runs until SIGTERM.
int RunHttpEchoServer();

}  // namespace inferd::bench
