// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <vector>

namespace inferd::bench {

struct GrpcBenchOptions {
  std::string inferd_path;  // The server binary.
  std::string self_path;    // This binary, to start the echo server as a child.
  std::string model_repository;
  std::vector<std::string> inferd_args;  // Extra flags for inferd.
  int rounds = 5;                        // Alternating rounds of inferd and echo samples.
  int samples_per_round = 200;           // Round trips per round and size (small payload).
  int large_samples_per_round = 60;
  int throughput_requests = 3000;  // Requests per in-flight level (small payload).
  int threads = 0;  // Completion-queue threads of the echo server (0: one per CPU, as inferd).
  bool pin = true;  // Servers on CPU 1, clients on CPU 0 (when there are two CPUs).
};

// Starts the real inferd binary and a bare grpc++ echo server (completion-queue API, as inferd's
// gRPC server), both as child processes on free ports, and prints from one run: median and p90
// round trips of `identity` FP32 at 602,112 and 16 bytes through inferd's grpc:// client and
// through a bare callback-API client of the echo server, their ratios against the goals (1.15 and
// 1.3), and requests per second with 8 and 32 requests in flight. Returns main's exit code.
int RunGrpcBench(const GrpcBenchOptions& options);

// The echo server: inference.GRPCInferenceService/ModelInfer answering each request with its
// inputs as raw_output_contents: moved, with the completion-queue API (`threads` queues); copied,
// with the callback API. Prints "ECHO server (<API> API) listening on 127.0.0.1:<port>" and
// serves until SIGTERM.
int RunGrpcEchoServer(int port, int threads, bool callback_api);

}  // namespace inferd::bench
