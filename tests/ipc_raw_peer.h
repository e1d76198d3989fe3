// SPDX-License-Identifier: Apache-2.0
// A hand-driven ipc:// client for tests: it speaks the protocol with the protocol library directly,
// so a test can send descriptors that inferd's own client never would (out-of-range offsets,
// garbage, corrupt ring indices) and read the raw response slots.
#pragma once

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <optional>
#include <string>

#include "transport/ipc/ipc_protocol.h"

namespace inferd::testing {

class RawIpcPeer {
 public:
  struct Options {
    uint64_t region_bytes = 4 << 20;
    uint32_t ring_capacity = 16;
    bool seal = true;  // false: send an unsealed memfd (the server must refuse it).
  };

  // Connects and sets up; status() says how it went.
  RawIpcPeer(const std::string& socket_path, Options options) {
    status_ = SetUp(socket_path, options);
  }
  explicit RawIpcPeer(const std::string& socket_path) : RawIpcPeer(socket_path, Options{}) {}
  ~RawIpcPeer() {
    if (fd_ >= 0) close(fd_);
    if (base_ != nullptr) munmap(base_, layout_.region_bytes);
  }

  const absl::Status& status() const { return status_; }
  std::byte* arena() { return base_ + layout_.arena_offset; }
  const ipc::RegionLayout& layout() const { return layout_; }
  ipc::RingControl* request_control() {
    return reinterpret_cast<ipc::RingControl*>(base_ + layout_.request_ring_offset);
  }

  // Writes `blob` at arena offset `at` and pushes a slot for it.
  void SendBlob(uint64_t tag, uint64_t at, const std::string& blob) {
    std::memcpy(arena() + at, blob.data(), blob.size());
    ipc::RequestSlot slot;
    slot.tag = tag;
    slot.blob_offset = at;
    slot.blob_bytes = blob.size();
    SendSlot(slot);
  }
  void SendSlot(const ipc::RequestSlot& slot) { (void)requests_.Push(&slot); }

  // The next response, or nullopt after `timeout`.
  std::optional<ipc::ResponseSlot> Receive(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      ipc::ResponseSlot slot;
      absl::StatusOr<bool> got = responses_.Pop(&slot);
      if (!got.ok()) return std::nullopt;
      if (*got) return slot;
      responses_.Wait(absl::ZeroDuration(), absl::Milliseconds(10));
    }
    return std::nullopt;
  }

  bool ServerHungUp() { return ipc::PeerClosed(fd_); }

 private:
  absl::Status SetUp(const std::string& path, const Options& options) {
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.data(), std::min(path.size(), sizeof(address.sun_path) - 1));
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (connect(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
      return absl::UnavailableError("connect failed");
    }
    ipc::Greeting greeting;
    if (auto s = ipc::RecvAll(fd_, &greeting, sizeof(greeting)); !s.ok()) return s;
    if (auto s = ipc::GreetingStatus(greeting); !s.ok()) return s;
    auto layout = ipc::ComputeLayout(options.region_bytes, options.ring_capacity);
    if (!layout.ok()) return layout.status();
    layout_ = *layout;
    const int memfd = memfd_create("raw-peer", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    (void)!ftruncate(memfd, static_cast<off_t>(options.region_bytes));
    if (options.seal) fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW);
    base_ = static_cast<std::byte*>(
        mmap(nullptr, options.region_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0));
    requests_ = ipc::RequestRing(base_, layout_);
    responses_ = ipc::ResponseRing(base_, layout_);
    ipc::Hello hello;
    hello.region_bytes = options.region_bytes;
    hello.ring_capacity = options.ring_capacity;
    absl::Status sent = ipc::SendWithFd(fd_, &hello, sizeof(hello), memfd);
    close(memfd);
    if (!sent.ok()) return sent;
    if (auto s = ipc::RecvAll(fd_, &greeting, sizeof(greeting)); !s.ok()) return s;
    return ipc::GreetingStatus(greeting);
  }

  absl::Status status_;
  int fd_ = -1;
  std::byte* base_ = nullptr;
  ipc::RegionLayout layout_;
  ipc::RingView requests_;
  ipc::RingView responses_;
};

}  // namespace inferd::testing
