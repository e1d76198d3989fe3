// SPDX-License-Identifier: Apache-2.0
// The HTTP/1.1 listener: Boost.Beast, asynchronous, keep-alive, TCP_NODELAY, a pool of I/O
// threads. It reads each request (the body-size limit is checked against Content-Length before
// the body is read), hands it to HttpApi as a plain struct and writes the response with a gather
// write (the JSON, then the output tensors' own buffers). Beast stays inside this folder.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/inference_server.h"

namespace inferd {

class ShmRegionRegistry;

struct HttpServerOptions {
  std::string address = "0.0.0.0";
  int port = 8000;  // 0: any free port (see port()).
  int thread_count = 8;
  // Largest request body accepted; larger ones get 413 before their body is read.
  size_t max_input_size = size_t{64} << 20;
  // Request bodies and outputs live in pooled blocks; at most this many idle bytes stay cached.
  size_t buffer_cache_bytes = size_t{32} << 20;
  // SO_RCVBUF and SO_SNDBUF of every connection, so that a large tensor (a 602 KB ResNet50 input)
  // fits in the socket at once whatever the connection's history: with the kernel's autotuning
  // some connections kept a small receive window and a 602 KB request cost several extra
  // wake-ups (round trips 250-300 µs instead of 130). Applied only where the kernel allows that
  // size (net.core.rmem_max and wmem_max); 0 leaves the kernel's autotuning.
  size_t socket_buffer_size = size_t{4} << 20;
  // Triton's system shared-memory extension (null: its endpoints and parameters are refused).
  ShmRegionRegistry* shm_registry = nullptr;
};

class HttpServer {
 public:
  // Binds, listens and starts the I/O threads; logs "HTTP server listening on <address>:<port>".
  // `server` must outlive the HttpServer. UNAVAILABLE when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Create(InferenceServer* server,
                                                            const HttpServerOptions& options);
  ~HttpServer();  // Stop().

  int port() const;  // The port actually bound.

  // Stops accepting, waits for the responses of requests already handed to the server to be
  // written, closes every connection and joins the I/O threads. Idempotent.
  void Stop();

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace inferd
