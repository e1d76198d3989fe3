// SPDX-License-Identifier: Apache-2.0
// The HTTP/1.1 listener: Boost.Beast, asynchronous, keep-alive, TCP_NODELAY, a pool of I/O
// threads. It reads each request (the body-size limit is checked against Content-Length before
// the body is read), hands it to HttpApi as a plain struct and writes the response with a gather
// write (the JSON, then the output tensors' own buffers). Every connection has header, body,
// idle and send timeouts; connections and the bytes waiting for slow readers are bounded; accept
// backs off when the process runs out of file descriptors. Beast stays inside this folder.
#pragma once

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "server/inference_server.h"
#include "transport/http/http_api.h"

namespace inferd {

class ShmRegionRegistry;

struct HttpServerOptions {
  std::string address = "0.0.0.0";
  int port = 8000;  // 0: any free port (see port()).
  // I/O threads; 0: one per CPU the process may run on (AvailableCpus). More threads than CPUs
  // only add wake-ups: with 8 threads on 2 CPUs, 8 connections woke a different thread for almost
  // every request (docs/benchmarks.md, "Requests in flight").
  int thread_count = 0;
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

  // Timeouts in milliseconds (0: none). A request's header must arrive within header_timeout_ms
  // of the connection's start or of the request's first byte, its body within body_timeout_ms
  // of the header's end (both answered 408, then the connection closes); a response must be
  // written to the socket within send_timeout_ms (else the connection closes); a keep-alive
  // connection with no request for idle_timeout_ms is closed.
  int header_timeout_ms = 10000;
  int body_timeout_ms = 30000;
  int idle_timeout_ms = 60000;
  int send_timeout_ms = 30000;
  // Open connections beyond this are answered 503 and closed as they are accepted.
  int max_connections = 4096;
  // Bytes of responses handed to the sockets but not yet taken by them (clients that read
  // slowly or not at all), server-wide: while this many wait, a further response is replaced by
  // a 503 (one response is always let through when none waits).
  size_t max_unsent_bytes = size_t{512} << 20;
  // Stop() waits at most this long for responses still being written before closing.
  int drain_timeout_ms = 5000;
  // Names the server in its log lines ("<name> server listening on ...") and errors.
  std::string name = "HTTP";
};

// Handles one request; calls the responder exactly once, on any thread.
using HttpHandler = std::function<void(HttpRequest, HttpResponder)>;

class HttpServer {
 public:
  // Binds, listens and starts the I/O threads; logs "<name> server listening on
  // <address>:<port>". The KServe v2 API (HttpApi) over `server`, which must outlive the
  // HttpServer. UNAVAILABLE when the address cannot be bound.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Create(InferenceServer* server,
                                                            const HttpServerOptions& options);
  // The same wire (limits, timeouts) for another handler: the metrics endpoint.
  static absl::StatusOr<std::unique_ptr<HttpServer>> Create(HttpHandler handler,
                                                            const HttpServerOptions& options);
  ~HttpServer();  // Stop().

  int port() const;  // The port actually bound.

  // Closes the listening socket: new connections are refused (ECONNREFUSED) from when it returns;
  // open connections are still served. Idempotent; Stop() does it too.
  void StopAccepting();
  // Stops accepting, waits (at most drain_timeout_ms) for the responses of requests already
  // handed to the server to be written, closes every connection and joins the I/O threads.
  // Idempotent.
  void Stop();

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  static absl::StatusOr<std::unique_ptr<HttpServer>> Start(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace inferd
