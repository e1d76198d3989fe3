// SPDX-License-Identifier: Apache-2.0
// What the fuzz targets share: one InferenceServer per fuzzer process, hosting built-in models
// from a repository written to a temporary folder (fixed-size FP32 and INT32, variable shapes,
// BYTES, a dynamic batcher), with logging turned down so that runs print only findings.
#pragma once

#include <future>
#include <memory>

#include "absl/status/statusor.h"
#include "server/inference_server.h"

namespace inferd::fuzz {

// The server, created on first use (aborts when it cannot start: a fuzzer without its server is
// a broken build, not a finding). Lives until the process exits.
InferenceServer& Server();

// Runs InferenceServer::Infer and waits for its callback (a request whose callback never runs
// hangs here, and libFuzzer reports the hang as a timeout).
absl::StatusOr<InferResponse> InferAndWait(InferRequest request,
                                           std::shared_ptr<OutputAllocator> allocator,
                                           InferOptions options = {});

}  // namespace inferd::fuzz
