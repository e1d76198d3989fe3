// SPDX-License-Identifier: Apache-2.0
#pragma once

#include <string>

namespace inferd::bench {

struct SoakLoadOptions {
  std::string url;             // http://, grpc:// or ipc:// of a running server.
  double seconds = 60;         // How long to send.
  int reconnect_every = 500;   // Requests per client before it is dropped and a new one connects.
  int large_every = 50;
  int rate = 200;              // Identity requests per second at most (0: as fast as it can).        // Every Nth identity request carries 602,112 bytes (else 16).
  std::string steady_model = "identity";  // Must answer every request correctly.
  std::string cycled_model = "add_sub";   // Loaded and unloaded meanwhile: refusals are expected.
};

// One client's share of `make soak` (scripts/soak.py): until `seconds` have passed, sends
// identity requests (checking every output byte), add_sub requests (refused while the soak
// unloads add_sub: UNAVAILABLE or NOT_FOUND are counted, not errors), and over grpc:// a short
// ModelStreamInfer stream every 16 requests; drops its client and connects a new one every
// `reconnect_every` requests. Prints one summary line; returns 1 when any request got a wrong
// answer or an unexpected error, else 0.
int RunSoakLoad(const SoakLoadOptions& options);

}  // namespace inferd::bench
