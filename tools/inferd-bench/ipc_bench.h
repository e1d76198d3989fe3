// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <vector>

namespace inferd::bench {

struct IpcBenchOptions {
  std::string inferd_path;  // The server binary.
  std::string self_path;    // This binary, to start the ping-pong baseline's server side.
  std::string model_repository;
  std::vector<std::string> inferd_args;  // Extra flags for inferd.
  int rounds = 5;                        // Alternating rounds over every transport.
  int samples_per_round = 300;           // 16-byte round trips per round and transport.
  int large_samples_per_round = 100;     // 602,112-byte round trips per round and transport.
  int spin_us = 20;                      // Spin before futex sleep, both sides, everywhere.
  // Cap of the adaptive spin of the ipc:// client's Infer and of the baseline's client (their
  // max_spin_us); at most spin_us turns it off.
  int max_spin_us = 200;
  bool pin = true;  // Servers on CPU 1, clients on CPU 0 (when there are two CPUs).
  // Transports to measure besides the baseline (empty: all): ipc, grpc, http-shm, grpc-shm.
  std::vector<std::string> only;
};

// Starts the real inferd (ipc://, gRPC and HTTP on free ports) and a bare two-process shared
// memory ping-pong (the baseline: futex wake-ups after the same spins as ipc://, the client writes the bytes
// into shared memory, the other process copies them into a reply area, the client reads them
// back: no server logic), and prints from one run the median and p90 round trip of `identity`
// FP32 at 602,112 and 16 bytes over ipc:// (zero-copy input buffer), HTTP and gRPC with Triton
// system shared memory, plain gRPC, and the baseline, with the ratios against the goals
// (ipc:// <= 1.3x the baseline, >= 4x faster than plain gRPC at 602,112 bytes).
int RunIpcBench(const IpcBenchOptions& options);

// The baseline's server side: maps the POSIX shm object `name` and echoes until told to stop.
int RunShmPingPongServer(const std::string& name, int spin_us);

}  // namespace inferd::bench
