// SPDX-License-Identifier: Apache-2.0
// http://host:port: the KServe v2 REST protocol over a pool of keep-alive connections (Beast).
// Inputs and outputs travel with Triton's binary tensor extension unless a request asks for JSON
// outputs ("binary_data_output": false); many requests may be in flight, each on its own
// connection, up to `max_connections`, the rest queued in order.
#pragma once

#include <cstddef>
#include <memory>
#include <string_view>

#include "client/client_transport.h"

namespace inferd {

// How infer requests travel (the URL's `?codec=`; docs/protocols.md): KServe JSON with binary
// inputs (binary, the default), KServe JSON with inputs as JSON (json), a NumPy .npy body (npy:
// a request with one input; the answer is .npy when the request names one output, else binary
// JSON) or an Arrow IPC stream (arrow: every input and output; the client reads the model's
// max_batch_size from its config once, to lay out rows).
enum class HttpBodyCodec { kBinary, kJson, kNpy, kArrow };

struct HttpTransportOptions {
  int max_connections = 16;
  bool binary_inputs = true;  // Send inputs as binary data (FP16/BF16 always are).
  HttpBodyCodec codec = HttpBodyCodec::kBinary;
  // Response bodies are read into pooled blocks; at most this many idle bytes stay cached.
  size_t buffer_cache_bytes = size_t{32} << 20;
};

// `address` is "host:port" (port defaults to 8000); an optional path after it is ignored; a query
// "?codec=binary|json|npy|arrow" sets `codec` (json also clears `binary_inputs`).
absl::StatusOr<std::unique_ptr<ClientTransport>> CreateHttpTransport(
    std::string_view address, const HttpTransportOptions& options = {});

}  // namespace inferd
