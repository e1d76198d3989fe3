// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

namespace inferd::bench {

struct BatchingBenchOptions {
  std::string backend_directory;  // Empty: next to the executable (bin/../backends).
  // A repository holding resnet50_torchscript/1/model.pt (examples/generate_models.py); empty
  // or without the model: the ResNet50 part is skipped, and says so.
  std::string resnet_repository;
  int clients = 16;
  int rounds = 3;          // Each figure is the median of this many rounds.
  double seconds = 3.0;    // Length of one busy round.
  double resnet_seconds = 10.0;
};

// Throughput of batch-1 clients with dynamic batching, against clients sending full batches
// directly (the baseline) and against the same clients without dynamic batching, on the builtin
// busy model at a = 5 ms, b = 0.2 ms (GPU-like: batching is nearly free), then on ResNet50
// TorchScript on this CPU. Everything runs in-process (local://), so the figures are the
// scheduler's, not a transport's. Returns the exit code for main.
int RunBatchingBench(const BatchingBenchOptions& options);

}  // namespace inferd::bench
