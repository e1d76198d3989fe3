// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>
#include <vector>

namespace inferd::bench {

struct MetricsBenchOptions {
  std::string inferd_path;  // The server binary.
  std::string model_repository;
  int rounds = 9;          // Rounds; the figures are medians over rounds.
  int chunks = 10;         // Pairs of chunks per round, alternating between the servers.
  int requests = 1000;     // Requests per chunk.
  int in_flight = 8;       // Requests outstanding.
  int scrape_ms = 1000;    // A Prometheus-like scraper reads /metrics this often (0: never).
  int interval_ms = 2000;  // --metrics-interval-ms of the metrics-on server.
};

// Starts two real inferd processes serving `identity` over gRPC, one with metrics on (and a
// scraper reading /metrics every scrape_ms) and one with --allow-metrics=false, and measures their
// throughput alternately through inferd's grpc:// client with 16-byte FP32 requests. Prints each
// round, the medians, the ratio on/off and the cost of metrics against the 2% budget. Returns
// main's exit code (0 even over budget: it is a measurement, not a test).
int RunMetricsBench(const MetricsBenchOptions& options);

}  // namespace inferd::bench
