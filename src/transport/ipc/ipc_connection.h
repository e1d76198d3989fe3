// SPDX-License-Identifier: Apache-2.0
// One ipc:// client connection on the server side: set-up, then the request ring (see
// ipc_server.h for the whole picture). Private to src/transport/ipc.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "inferd/infer.h"
#include "transport/ipc/ipc_protocol.h"

namespace inferd {

class InferenceServer;

namespace ipc {

// A client's region mapped into the server; unmapped when the last reference goes (the
// connection, and every request whose tensors point into it).
struct MappedRegion {
  std::byte* base = nullptr;
  size_t bytes = 0;
  RegionLayout layout;
  ~MappedRegion();
  std::byte* arena() const { return base + layout.arena_offset; }
};

struct ConnectionOptions {
  InferenceServer* server = nullptr;
  std::vector<uid_t> allowed_uids;  // Including the server's own.
  absl::Duration spin;
  absl::Duration liveness_interval;
  // Called on the connection's thread as its last act, once done() is true (the server wakes its
  // listener to join the thread and close the socket at once). May be empty.
  std::function<void()> on_done;
};

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  // Takes ownership of the accepted socket.
  Connection(int socket_fd, ConnectionOptions options);
  ~Connection();

  // Runs set-up and the request loop on a thread of its own.
  void Start();
  // Asks the loop to end and shuts the socket down (the client sees the hang-up); does not wait.
  void Close();
  // Joins the thread (after Close, or once done()).
  void Join();
  bool done() const { return done_.load(); }

 private:
  void Run();
  absl::Status Handshake();
  void Serve();
  // Validates one request descriptor and hands it to the server; answers errors itself.
  // Starts one request; an error found before it is handed to the server (`handed_off`) is
  // returned for the caller to answer.
  absl::Status HandleRequest(const RequestSlot& slot, bool& handed_off);
  absl::StatusOr<InferRequest> BuildRequest(const RequestBlob& blob);
  // Pushes a response (from any thread). Marks the connection broken when the ring is corrupt.
  void Respond(ResponseSlot& slot);
  void RespondError(uint64_t tag, const absl::Status& status, uint64_t needed_bytes = 0);
  void Complete(uint64_t tag, absl::StatusOr<InferResponse> result, class AreaAllocator& area);

  const int socket_fd_;
  const ConnectionOptions options_;
  std::string peer_;  // "uid U pid P", for logs.
  std::shared_ptr<MappedRegion> region_;
  RingView requests_;  // Used by the connection thread only.
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> done_{false};

  absl::Mutex response_mu_;
  RingView responses_ ABSL_GUARDED_BY(response_mu_);
  bool broken_ ABSL_GUARDED_BY(response_mu_) = false;

  absl::Mutex flight_mu_;
  absl::CondVar flight_cv_;
  uint32_t in_flight_ ABSL_GUARDED_BY(flight_mu_) = 0;
};

}  // namespace ipc
}  // namespace inferd
