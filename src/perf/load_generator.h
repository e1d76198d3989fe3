// SPDX-License-Identifier: Apache-2.0
// Keeps a load on the server while the profiler measures: closed loop (N requests in flight, sync
// threads, async or a gRPC stream) or open loop (requests sent on a constant or Poisson schedule,
// whatever the server's pace). Each completed request leaves a RequestRecord; the profiler takes
// them window by window with TakeRecords(). Thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "inferd/client.h"
#include "perf/profile_options.h"

namespace inferd::perf {

struct RequestRecord {
  int64_t start_ns = 0;  // Send (closed loop) or scheduled send time (open loop), steady clock.
  int64_t end_ns = 0;    // Response in our callback.
  int64_t send_ns = 0;   // Time the client library held the caller while sending.
  int64_t recv_ns = 0;   // Time from the response's arrival to the end of its handling.
  bool ok = false;
  std::string error;  // When !ok.
};

struct LoadSpec {
  LoadMode mode = LoadMode::kConcurrency;
  double value = 1;  // Concurrency or requests per second.
  CallMode call_mode = CallMode::kSync;
  RequestDistribution distribution = RequestDistribution::kConstant;
  uint64_t seed = 1;
};

class LoadGenerator {
 public:
  // `next_request` returns the request to send (called from every sending thread at once: it
  // must be thread-safe, as the profiler's is: an atomic sequence over prepared inputs);
  // `check_response` runs on each successful response (in the receiving thread) and may turn it
  // into an error.
  using RequestSource = std::function<InferRequest()>;
  using ResponseCheck = std::function<absl::Status(const InferResponse&)>;
  static absl::StatusOr<std::unique_ptr<LoadGenerator>> Start(Client* client, LoadSpec spec,
                                                               RequestSource next_request,
                                                               ResponseCheck check_response);
  virtual ~LoadGenerator() = default;

  // Records of the requests completed since the last call.
  virtual std::vector<RequestRecord> TakeRecords() = 0;
  // Completed since Start (successes and failures).
  virtual uint64_t Completed() const = 0;
  // Blocks until Completed() >= target or `timeout_ms` passed (no polling: a thread waking every
  // few ms disturbs an in-process model's OpenMP workers); the count reached.
  virtual uint64_t WaitForCompleted(uint64_t target, double timeout_ms) = 0;
  // Stops sending and waits up to `timeout_ms` for the requests in flight; false when some are
  // still out (their threads are left behind, detached).
  virtual bool Stop(double timeout_ms) = 0;
};

int64_t SteadyNowNs();

}  // namespace inferd::perf
