// SPDX-License-Identifier: Apache-2.0
#include "transport/ipc/ipc_server.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "fmt/format.h"
#include "spdlog/spdlog.h"
#include "transport/ipc/ipc_connection.h"

namespace inferd {

class IpcServer::Impl {
 public:
  Impl(IpcServerOptions options, int listen_fd, int wake_read, int wake_write)
      : options_(std::move(options)),
        listen_fd_(listen_fd),
        wake_read_(wake_read),
        wake_write_(wake_write) {
    connection_options_.server = options_.server;
    connection_options_.allowed_uids = options_.allowed_uids;
    connection_options_.allowed_uids.insert(connection_options_.allowed_uids.begin(), getuid());
    connection_options_.spin = options_.spin;
    connection_options_.liveness_interval = options_.liveness_interval;
    // A connection that ended (its client hung up or was killed) wakes the listener, which joins
    // its thread and closes its socket then, not when the next client connects.
    connection_options_.on_done = [this] {
      absl::MutexLock lock(&mu_);
      if (stopped_) return;
      const char byte = 'r';
      (void)!write(wake_write_, &byte, 1);  // Non-blocking: a full pipe already wakes it.
    };
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }
  ~Impl() { Stop(); }

  void Stop() {
    {
      absl::MutexLock lock(&mu_);
      if (stopped_) return;
      stopped_ = true;
    }
    const char byte = 1;
    (void)!write(wake_write_, &byte, 1);
    accept_thread_.join();
    close(listen_fd_);
    close(wake_read_);
    close(wake_write_);
    std::vector<std::shared_ptr<ipc::Connection>> connections;
    {
      absl::MutexLock lock(&mu_);
      connections.swap(connections_);
    }
    for (auto& c : connections) c->Close();
    for (auto& c : connections) c->Join();
    unlink(options_.socket_path.c_str());
    spdlog::info("IPC server stopped");
  }

  int ConnectionCount() {
    absl::MutexLock lock(&mu_);
    return static_cast<int>(std::count_if(connections_.begin(), connections_.end(),
                                          [](const auto& c) { return !c->done(); }));
  }

 private:
  void AcceptLoop() {
    for (;;) {
      pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {wake_read_, POLLIN, 0}};
      if (poll(fds, 2, -1) < 0) {
        if (errno == EINTR) continue;
        spdlog::error("ipc:// listener poll failed: {}", std::strerror(errno));
        return;
      }
      if (fds[1].revents != 0) {
        char bytes[256];
        while (read(wake_read_, bytes, sizeof(bytes)) > 0) {
        }
        {
          absl::MutexLock lock(&mu_);
          if (stopped_) return;
        }
        Reap();
        continue;
      }
      const int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) continue;
      Reap();
      absl::MutexLock lock(&mu_);
      if (static_cast<int>(connections_.size()) >= options_.max_connections) {
        const ipc::Greeting busy = ipc::MakeGreeting(absl::ResourceExhaustedError(fmt::format(
            "the ipc:// server already has {} connections (its limit)", connections_.size())));
        (void)ipc::SendAll(fd, &busy, sizeof(busy));
        close(fd);
        continue;
      }
      auto connection = std::make_shared<ipc::Connection>(fd, connection_options_);
      connection->Start();
      connections_.push_back(std::move(connection));
    }
  }

  // Joins the threads of connections that ended.
  void Reap() {
    std::vector<std::shared_ptr<ipc::Connection>> finished;
    {
      absl::MutexLock lock(&mu_);
      auto done = std::stable_partition(connections_.begin(), connections_.end(),
                                        [](const auto& c) { return !c->done(); });
      finished.assign(done, connections_.end());
      connections_.erase(done, connections_.end());
    }
    for (auto& c : finished) c->Join();
  }

  const IpcServerOptions options_;
  ipc::ConnectionOptions connection_options_;
  const int listen_fd_;
  const int wake_read_;
  const int wake_write_;
  std::thread accept_thread_;
  absl::Mutex mu_;
  bool stopped_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::shared_ptr<ipc::Connection>> connections_ ABSL_GUARDED_BY(mu_);
};

IpcServer::IpcServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
IpcServer::~IpcServer() { Stop(); }
void IpcServer::Stop() { impl_->Stop(); }
int IpcServer::ConnectionCount() const { return impl_->ConnectionCount(); }

absl::StatusOr<std::unique_ptr<IpcServer>> IpcServer::Create(IpcServerOptions options) {
  if (options.server == nullptr) {
    return absl::InvalidArgumentError("IpcServerOptions.server is required");
  }
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (options.socket_path.empty() || options.socket_path.size() >= sizeof(address.sun_path)) {
    return absl::InvalidArgumentError(fmt::format(
        "ipc:// socket path '{}' must be 1 to {} characters long", options.socket_path,
        sizeof(address.sun_path) - 1));
  }
  if (options.spin < absl::ZeroDuration() || options.spin > absl::Milliseconds(10)) {
    return absl::InvalidArgumentError("the ipc:// spin must be between 0 and 10000 us");
  }
  std::memcpy(address.sun_path, options.socket_path.c_str(), options.socket_path.size());
  struct stat st{};
  if (lstat(options.socket_path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return absl::InvalidArgumentError(fmt::format(
          "ipc:// socket path '{}' exists and is not a socket; refusing to replace it",
          options.socket_path));
    }
    unlink(options.socket_path.c_str());  // A stale socket from an earlier run.
  }
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    return absl::UnavailableError(fmt::format("socket(AF_UNIX) failed: {}", std::strerror(errno)));
  }
  if (bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0 ||
      chmod(options.socket_path.c_str(), 0666) != 0 || listen(fd, 128) != 0) {
    const int error = errno;
    close(fd);
    return absl::UnavailableError(fmt::format("cannot listen on ipc:// socket '{}': {}",
                                              options.socket_path, std::strerror(error)));
  }
  int wake[2];
  if (pipe2(wake, O_CLOEXEC | O_NONBLOCK) != 0) {
    close(fd);
    return absl::InternalError(fmt::format("pipe2 failed: {}", std::strerror(errno)));
  }
  const std::string path = options.socket_path;
  auto impl = std::make_unique<Impl>(std::move(options), fd, wake[0], wake[1]);
  spdlog::info("IPC server listening on {}", path);
  return std::unique_ptr<IpcServer>(new IpcServer(std::move(impl)));
}

absl::StatusOr<std::vector<uid_t>> ParseUidList(const std::string& text) {
  std::vector<uid_t> uids;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(',', start);
    if (end == std::string::npos) end = text.size();
    const std::string item = text.substr(start, end - start);
    if (!item.empty()) {
      char* rest = nullptr;
      errno = 0;
      const unsigned long value = std::strtoul(item.c_str(), &rest, 10);
      if (errno != 0 || *rest != '\0' || item[0] == '-' || value > 0xfffffffeul) {
        return absl::InvalidArgumentError(
            fmt::format("--ipc-allowed-uids: '{}' is not a numeric uid", item));
      }
      uids.push_back(static_cast<uid_t>(value));
    }
    start = end + 1;
  }
  return uids;
}

}  // namespace inferd
