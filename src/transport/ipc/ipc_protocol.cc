// SPDX-License-Identifier: Apache-2.0
#include "transport/ipc/ipc_protocol.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "core/client_text.h"
#include "fmt/format.h"

namespace inferd::ipc {
namespace {

constexpr size_t kRequestSlotBytes = sizeof(RequestSlot);
constexpr size_t kResponseSlotBytes = sizeof(ResponseSlot);

class Writer {
 public:
  void U32(uint32_t v) { Raw(&v, sizeof(v)); }
  void U64(uint64_t v) { Raw(&v, sizeof(v)); }
  void I64(int64_t v) { Raw(&v, sizeof(v)); }
  void Str(std::string_view s) {
    U32(static_cast<uint32_t>(s.size()));
    Raw(s.data(), s.size());
  }
  void Tensor(const BlobTensor& t) {
    Str(t.name);
    U32(static_cast<uint32_t>(t.datatype));
    U32(static_cast<uint32_t>(t.shape.size()));
    for (int64_t d : t.shape) I64(d);
    U64(t.offset);
    U64(t.bytes);
  }
  std::string Take() { return std::move(out_); }

 private:
  void Raw(const void* p, size_t n) { out_.append(static_cast<const char*>(p), n); }
  std::string out_;
};

// Every read is bounds-checked; the first failure sticks and names the field.
class Reader {
 public:
  Reader(std::span<const std::byte> bytes, std::string_view what) : in_(bytes), what_(what) {}

  uint32_t U32(std::string_view field) { return Fixed<uint32_t>(field); }
  uint64_t U64(std::string_view field) { return Fixed<uint64_t>(field); }
  int64_t I64(std::string_view field) { return Fixed<int64_t>(field); }
  std::string Str(std::string_view field) {
    const uint32_t n = U32(field);
    if (!status_.ok()) return {};
    if (n > kMaxNameBytes) {
      Fail(fmt::format("{} is {} bytes long, more than the limit of {}", field, n, kMaxNameBytes));
      return {};
    }
    if (in_.size() - at_ < n) {
      Fail(fmt::format("{} runs past the end", field));
      return {};
    }
    std::string s(reinterpret_cast<const char*>(in_.data() + at_), n);
    at_ += n;
    return s;
  }
  BlobTensor Tensor(std::string_view kind) {
    BlobTensor t;
    t.name = Str(fmt::format("{} name", kind));
    const uint32_t type = U32(fmt::format("{} datatype", kind));
    const uint32_t dims = U32(fmt::format("{} rank", kind));
    if (!status_.ok()) return t;
    auto datatype = DataTypeFromConfigValue(static_cast<int>(std::min<uint32_t>(type, 1000)));
    if (!datatype) {
      Fail(fmt::format("{} {} has an unknown datatype code {}", kind, QuoteClientText(t.name),
                       type));
      return t;
    }
    t.datatype = *datatype;
    if (dims > kMaxDims) {
      Fail(fmt::format("{} {} has {} dimensions, more than the limit of {}", kind,
                       QuoteClientText(t.name), dims, kMaxDims));
      return t;
    }
    for (uint32_t i = 0; i < dims && status_.ok(); ++i) t.shape.push_back(I64("shape"));
    t.offset = U64(fmt::format("{} offset", kind));
    t.bytes = U64(fmt::format("{} byte size", kind));
    return t;
  }
  void Fail(std::string message) {
    if (status_.ok()) {
      status_ = absl::InvalidArgumentError(
          fmt::format("malformed ipc:// {} descriptor: {}", what_, message));
    }
  }
  absl::Status status() const { return status_; }

 private:
  template <typename T>
  T Fixed(std::string_view field) {
    T v{};
    if (!status_.ok()) return v;
    if (in_.size() - at_ < sizeof(T)) {
      Fail(fmt::format("truncated before {}", field));
      return v;
    }
    std::memcpy(&v, in_.data() + at_, sizeof(T));
    at_ += sizeof(T);
    return v;
  }
  std::span<const std::byte> in_;
  size_t at_ = 0;
  std::string_view what_;
  absl::Status status_;
};

template <size_t N>
void CopyMessage(char (&dest)[N], std::string_view text, uint32_t* length = nullptr) {
  const size_t n = std::min(text.size(), N - 1);
  std::memcpy(dest, text.data(), n);
  dest[n] = '\0';
  if (length != nullptr) *length = static_cast<uint32_t>(n);
}

absl::Status StatusFrom(int32_t code, const char* message, size_t capacity) {
  if (code == 0) return absl::OkStatus();
  const size_t n = strnlen(message, capacity);
  const auto status_code = (code > 0 && code <= 16) ? static_cast<absl::StatusCode>(code)
                                                    : absl::StatusCode::kUnknown;
  return absl::Status(status_code, std::string(message, n));
}

}  // namespace

absl::StatusOr<RegionLayout> ComputeLayout(uint64_t region_bytes, uint32_t ring_capacity) {
  if (ring_capacity == 0 || ring_capacity > kMaxRingCapacity ||
      (ring_capacity & (ring_capacity - 1)) != 0) {
    return absl::InvalidArgumentError(fmt::format(
        "ipc:// ring capacity {} must be a power of two between 1 and {}", ring_capacity,
        kMaxRingCapacity));
  }
  if (region_bytes < kMinRegionBytes || region_bytes > kMaxRegionBytes) {
    return absl::InvalidArgumentError(
        fmt::format("ipc:// region of {} bytes is outside the allowed {}..{} bytes", region_bytes,
                    kMinRegionBytes, kMaxRegionBytes));
  }
  RegionLayout layout;
  layout.region_bytes = region_bytes;
  layout.ring_capacity = ring_capacity;
  layout.request_ring_offset = 0;
  layout.response_ring_offset = RingBytes(kRequestSlotBytes, ring_capacity);
  layout.arena_offset =
      (layout.response_ring_offset + RingBytes(kResponseSlotBytes, ring_capacity) + 4095) / 4096 *
      4096;
  if (layout.arena_offset >= region_bytes) {
    return absl::InvalidArgumentError(fmt::format(
        "ipc:// region of {} bytes leaves no room for tensors after its rings", region_bytes));
  }
  layout.arena_bytes = region_bytes - layout.arena_offset;
  return layout;
}

RingView RequestRing(std::byte* region, const RegionLayout& layout) {
  return RingView(region + layout.request_ring_offset, kRequestSlotBytes, layout.ring_capacity);
}
RingView ResponseRing(std::byte* region, const RegionLayout& layout) {
  return RingView(region + layout.response_ring_offset, kResponseSlotBytes, layout.ring_capacity);
}

std::string EncodeRequestBlob(const RequestBlob& blob) {
  Writer w;
  w.U32(kRequestBlobMagic);
  w.Str(blob.model_name);
  w.I64(blob.model_version);
  w.Str(blob.id);
  w.U32(static_cast<uint32_t>(blob.inputs.size()));
  for (const BlobTensor& t : blob.inputs) w.Tensor(t);
  w.U32(static_cast<uint32_t>(blob.outputs.size()));
  for (const std::string& name : blob.outputs) w.Str(name);
  w.U64(blob.output_offset);
  w.U64(blob.output_bytes);
  return w.Take();
}

absl::StatusOr<RequestBlob> DecodeRequestBlob(std::span<const std::byte> bytes) {
  Reader r(bytes, "request");
  RequestBlob blob;
  if (r.U32("magic") != kRequestBlobMagic && r.status().ok()) r.Fail("bad magic number");
  blob.model_name = r.Str("model name");
  blob.model_version = r.I64("model version");
  blob.id = r.Str("request id");
  const uint32_t inputs = r.U32("input count");
  if (inputs > kMaxTensors) r.Fail(fmt::format("{} inputs, more than the limit of {}", inputs,
                                               kMaxTensors));
  for (uint32_t i = 0; i < inputs && r.status().ok(); ++i) blob.inputs.push_back(r.Tensor("input"));
  const uint32_t outputs = r.U32("output count");
  if (outputs > kMaxTensors) r.Fail(fmt::format("{} outputs, more than the limit of {}", outputs,
                                                kMaxTensors));
  for (uint32_t i = 0; i < outputs && r.status().ok(); ++i) {
    blob.outputs.push_back(r.Str("output name"));
  }
  blob.output_offset = r.U64("output area offset");
  blob.output_bytes = r.U64("output area size");
  if (!r.status().ok()) return r.status();
  return blob;
}

std::string EncodeResponseBlob(const ResponseBlob& blob) {
  Writer w;
  w.U32(kResponseBlobMagic);
  w.Str(blob.model_name);
  w.I64(blob.model_version);
  w.Str(blob.id);
  w.U32(static_cast<uint32_t>(blob.outputs.size()));
  for (const BlobTensor& t : blob.outputs) w.Tensor(t);
  return w.Take();
}

absl::StatusOr<ResponseBlob> DecodeResponseBlob(std::span<const std::byte> bytes) {
  Reader r(bytes, "response");
  ResponseBlob blob;
  if (r.U32("magic") != kResponseBlobMagic && r.status().ok()) r.Fail("bad magic number");
  blob.model_name = r.Str("model name");
  blob.model_version = r.I64("model version");
  blob.id = r.Str("request id");
  const uint32_t outputs = r.U32("output count");
  if (outputs > kMaxTensors) r.Fail("too many outputs");
  for (uint32_t i = 0; i < outputs && r.status().ok(); ++i) {
    blob.outputs.push_back(r.Tensor("output"));
  }
  if (!r.status().ok()) return r.status();
  return blob;
}

Greeting MakeGreeting(const absl::Status& status) {
  Greeting g;
  g.code = static_cast<int32_t>(status.code());
  CopyMessage(g.message, std::string(status.message()));
  return g;
}

absl::Status GreetingStatus(const Greeting& greeting) {
  if (greeting.magic != kProtocolMagic) {
    return absl::UnavailableError("the peer does not speak the inferd ipc:// protocol");
  }
  if (greeting.version != kProtocolVersion) {
    return absl::FailedPreconditionError(
        fmt::format("ipc:// protocol version {} is not the supported version {}", greeting.version,
                    kProtocolVersion));
  }
  return StatusFrom(greeting.code, greeting.message, sizeof(greeting.message));
}

void SetSlotStatus(ResponseSlot& slot, const absl::Status& status) {
  slot.code = static_cast<int32_t>(status.code());
  CopyMessage(slot.message, std::string(status.message()), &slot.message_bytes);
}

absl::Status SlotStatus(const ResponseSlot& slot) {
  return StatusFrom(slot.code, slot.message, sizeof(slot.message));
}

absl::Status SendAll(int fd, const void* data, size_t bytes) {
  const char* p = static_cast<const char*>(data);
  while (bytes > 0) {
    const ssize_t n = send(fd, p, bytes, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      return absl::UnavailableError(
          fmt::format("ipc:// socket send failed: {}", std::strerror(errno)));
    }
    p += n;
    bytes -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status RecvAll(int fd, void* data, size_t bytes) {
  char* p = static_cast<char*>(data);
  while (bytes > 0) {
    const ssize_t n = recv(fd, p, bytes, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) return absl::UnavailableError("ipc:// peer closed the connection");
    if (n < 0) {
      return absl::UnavailableError(
          fmt::format("ipc:// socket receive failed: {}", std::strerror(errno)));
    }
    p += n;
    bytes -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status SendWithFd(int fd, const void* data, size_t bytes, int passed_fd) {
  iovec iov{const_cast<void*>(data), bytes};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(cmsg), &passed_fd, sizeof(int));
  ssize_t n;
  do {
    n = sendmsg(fd, &msg, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    return absl::UnavailableError(
        fmt::format("ipc:// sending the shared region failed: {}", std::strerror(errno)));
  }
  const size_t sent = static_cast<size_t>(n);
  if (sent < bytes) return SendAll(fd, static_cast<const char*>(data) + sent, bytes - sent);
  return absl::OkStatus();
}

absl::StatusOr<int> RecvWithFd(int fd, void* data, size_t bytes) {
  iovec iov{data, bytes};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 8)] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n;
  do {
    n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n == 0) return absl::UnavailableError("ipc:// peer closed the connection");
  if (n < 0) {
    return absl::UnavailableError(
        fmt::format("ipc:// socket receive failed: {}", std::strerror(errno)));
  }
  int received = -1;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int one;
      std::memcpy(&one, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      if (received < 0) {
        received = one;
      } else {
        close(one);
      }
    }
  }
  const size_t got = static_cast<size_t>(n);
  if (got < bytes) {
    absl::Status rest = RecvAll(fd, static_cast<char*>(data) + got, bytes - got);
    if (!rest.ok()) {
      if (received >= 0) close(received);
      return rest;
    }
  }
  return received;
}

bool PeerClosed(int fd) {
  pollfd p{fd, POLLIN | POLLRDHUP, 0};
  const int n = poll(&p, 1, 0);
  if (n <= 0) return false;
  return (p.revents & (POLLHUP | POLLRDHUP | POLLERR | POLLNVAL)) != 0;
}

}  // namespace inferd::ipc
