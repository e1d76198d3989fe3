// SPDX-License-Identifier: Apache-2.0
// The native ipc:// transport: inference for clients on the same machine with no socket on the
// request path (the protocol is in ipc_protocol.h).
//
// A listener thread accepts Unix-domain connections. Each connection gets a thread that checks the
// peer's uid (SO_PEERCRED), receives the client's sealed memfd region, maps it, and then serves
// the request ring: it copies each descriptor out of the region, validates every offset and size
// against the region, and calls InferenceServer::Infer with inputs that point into the region
// (fixed-size types; BYTES inputs are copied out, since their length prefixes could change under
// the backend) and an OutputAllocator that places outputs in the request's output area. The
// completion writes the response descriptor and pushes it onto the response ring from the
// instance thread.
//
// Faults: a descriptor that is malformed or points outside the region gets an error response; a
// corrupt ring index closes that connection. A client that disappears (its socket hangs up) has
// its connection closed; its region stays mapped until the last of its requests has completed,
// then it is unmapped and the kernel frees it. At most ring-capacity requests of one connection
// are in flight, so a response always has a free slot unless the client corrupted the ring.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace inferd {

class InferenceServer;

struct IpcServerOptions {
  std::string socket_path;  // Required. An existing socket file there is replaced.
  // Uids allowed besides the server's own (which is always allowed).
  std::vector<uid_t> allowed_uids;
  // How long a connection thread spins on an empty ring before sleeping on the futex.
  absl::Duration spin = absl::Microseconds(20);
  // How often a sleeping connection checks whether its client is still there.
  absl::Duration liveness_interval = absl::Milliseconds(50);
  int max_connections = 1024;
  InferenceServer* server = nullptr;  // Not owned; must outlive the IpcServer.
};

class IpcServer {
 public:
  // Binds and listens (the socket file is made 0666: access is decided by the uid check), starts
  // the listener and logs "IPC server listening on <socket path>". INVALID_ARGUMENT for bad
  // options; UNAVAILABLE when the path cannot be bound.
  static absl::StatusOr<std::unique_ptr<IpcServer>> Create(IpcServerOptions options);
  ~IpcServer();  // Stop().

  // Stops accepting, closes every connection (clients' pending requests fail promptly), joins the
  // threads and removes the socket file. Call after InferenceServer::Shutdown(). Idempotent.
  void Stop();

  // Connections whose thread is still running (for tests and diagnostics).
  int ConnectionCount() const;

  class Impl;

 private:
  explicit IpcServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Parses "1000,1001" into uids; INVALID_ARGUMENT naming the bad element.
absl::StatusOr<std::vector<uid_t>> ParseUidList(const std::string& text);

}  // namespace inferd
