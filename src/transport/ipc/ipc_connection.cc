// SPDX-License-Identifier: Apache-2.0
#include "transport/ipc/ipc_connection.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <optional>

#include "core/client_text.h"
#include "core/exception_boundary.h"
#include "fmt/format.h"
#include "server/inference_server.h"
#include "spdlog/spdlog.h"

namespace inferd::ipc {
namespace {

// Room the client leaves in an output area for the response descriptor, on top of the outputs.
constexpr uint64_t kDescriptorReserve = 4096;
constexpr uint64_t kOutputAlignment = 64;

uint64_t AlignUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

std::string JoinUids(const std::vector<uid_t>& uids) {
  std::string out;
  for (uid_t u : uids) out += (out.empty() ? "" : ",") + std::to_string(u);
  return out;
}

}  // namespace

MappedRegion::~MappedRegion() {
  if (base != nullptr) munmap(base, bytes);
}

// Places a request's outputs, then its response descriptor, in the output area the client gave.
class AreaAllocator final : public OutputAllocator {
 public:
  AreaAllocator(std::shared_ptr<MappedRegion> region, uint64_t offset, uint64_t bytes)
      : region_(std::move(region)), offset_(offset), bytes_(bytes) {}

  absl::StatusOr<OutputBuffer> Allocate(std::string_view name, DataType /*datatype*/,
                                        std::span<const int64_t> /*shape*/,
                                        size_t byte_size) override {
    absl::StatusOr<uint64_t> at = Take(byte_size, kOutputAlignment);
    if (!at.ok()) {
      return absl::ResourceExhaustedError(fmt::format(
          "ipc:// output area too small: output {} needs {} bytes and the request's output "
          "area of {} bytes has {} left",
          QuoteClientText(name), byte_size, bytes_, Left()));
    }
    return OutputBuffer{region_->arena() + *at, region_};
  }

  // Arena offset of `bytes` more bytes of the area.
  absl::StatusOr<uint64_t> Take(uint64_t bytes, uint64_t alignment) {
    absl::MutexLock lock(&mu_);
    const uint64_t at = AlignUp(used_, alignment);
    if (!InBounds(at, bytes, bytes_)) {
      needed_ = std::max(needed_, at + bytes + kDescriptorReserve);
      return absl::ResourceExhaustedError("ipc:// output area too small");
    }
    used_ = at + bytes;
    return offset_ + at;
  }

  // The arena offset of [data, data + bytes) when it lies in this area.
  std::optional<uint64_t> OffsetOf(const std::byte* data, size_t bytes) const {
    const std::byte* begin = region_->arena() + offset_;
    if (data < begin || data > begin + bytes_) return std::nullopt;
    const auto at = static_cast<uint64_t>(data - begin);
    if (!InBounds(at, bytes, bytes_)) return std::nullopt;
    return offset_ + at;
  }

  uint64_t Left() {
    absl::MutexLock lock(&mu_);
    return bytes_ - std::min(bytes_, used_);
  }
  uint64_t needed() {
    absl::MutexLock lock(&mu_);
    return needed_;
  }
  std::byte* arena() const { return region_->arena(); }

 private:
  const std::shared_ptr<MappedRegion> region_;
  const uint64_t offset_;
  const uint64_t bytes_;
  absl::Mutex mu_;
  uint64_t used_ ABSL_GUARDED_BY(mu_) = 0;
  uint64_t needed_ ABSL_GUARDED_BY(mu_) = 0;
};

Connection::Connection(int socket_fd, ConnectionOptions options)
    : socket_fd_(socket_fd), options_(std::move(options)) {}

Connection::~Connection() {
  if (thread_.joinable()) thread_.detach();  // Not reached: the server joins first.
  close(socket_fd_);
}

void Connection::Start() {
  thread_ = std::thread([self = shared_from_this()] { self->Run(); });
}

void Connection::Close() {
  stop_ = true;
  shutdown(socket_fd_, SHUT_RDWR);
}

void Connection::Join() {
  if (thread_.joinable()) thread_.join();
}

void Connection::Run() {
  absl::Status set_up = Handshake();
  if (set_up.ok()) {
    spdlog::debug("ipc:// connection from {} set up ({} byte region)", peer_, region_->bytes);
    Serve();
    spdlog::debug("ipc:// connection from {} closed", peer_);
  } else {
    spdlog::warn("ipc:// connection from {} refused: {}", peer_.empty() ? "?" : peer_,
                 std::string(set_up.message()));
  }
  shutdown(socket_fd_, SHUT_RDWR);
  {
    absl::MutexLock lock(&response_mu_);
    broken_ = true;
    if (responses_.valid()) responses_.Wake();  // A sleeping client rechecks its socket now.
  }
  requests_ = RingView();
  region_.reset();  // In-flight requests keep the mapping until they complete.
  done_ = true;
  if (options_.on_done) options_.on_done();
}

absl::Status Connection::Handshake() {
  ucred cred{};
  socklen_t length = sizeof(cred);
  if (getsockopt(socket_fd_, SOL_SOCKET, SO_PEERCRED, &cred, &length) != 0) {
    return absl::InternalError(fmt::format("SO_PEERCRED failed: {}", std::strerror(errno)));
  }
  peer_ = fmt::format("uid {} pid {}", cred.uid, cred.pid);
  const auto& allowed = options_.allowed_uids;
  if (std::find(allowed.begin(), allowed.end(), cred.uid) == allowed.end()) {
    absl::Status refused = absl::PermissionDeniedError(fmt::format(
        "ipc:// peer uid {} (pid {}) is not allowed to connect; this server allows uid {}; start "
        "inferd with --ipc-allowed-uids={} to allow it",
        cred.uid, cred.pid, JoinUids(allowed), cred.uid));
    const Greeting greeting = MakeGreeting(refused);
    (void)SendAll(socket_fd_, &greeting, sizeof(greeting));
    return refused;
  }
  const Greeting welcome = MakeGreeting(absl::OkStatus());
  if (absl::Status s = SendAll(socket_fd_, &welcome, sizeof(welcome)); !s.ok()) return s;

  timeval timeout{5, 0};  // A client that connects and says nothing does not hold a thread.
  setsockopt(socket_fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  Hello hello;
  absl::StatusOr<int> fd = RecvWithFd(socket_fd_, &hello, sizeof(hello));
  if (!fd.ok()) return fd.status();
  auto refuse = [&](absl::Status status) {
    if (*fd >= 0) close(*fd);
    const Greeting greeting = MakeGreeting(status);
    (void)SendAll(socket_fd_, &greeting, sizeof(greeting));
    return status;
  };
  if (hello.magic != kProtocolMagic) {
    return refuse(absl::InvalidArgumentError("not an inferd ipc:// client hello (bad magic)"));
  }
  if (hello.version != kProtocolVersion) {
    return refuse(absl::FailedPreconditionError(fmt::format(
        "ipc:// protocol version {} is not the supported version {}", hello.version,
        kProtocolVersion)));
  }
  if (*fd < 0) {
    return refuse(absl::InvalidArgumentError(
        "the ipc:// client hello carried no shared-memory file descriptor"));
  }
  absl::StatusOr<RegionLayout> layout = ComputeLayout(hello.region_bytes, hello.ring_capacity);
  if (!layout.ok()) return refuse(layout.status());
  struct stat st{};
  if (fstat(*fd, &st) != 0 || !S_ISREG(st.st_mode) ||
      static_cast<uint64_t>(st.st_size) != hello.region_bytes) {
    return refuse(absl::InvalidArgumentError(fmt::format(
        "the ipc:// client's shared region is not a {}-byte memory file as its hello says",
        hello.region_bytes)));
  }
  // A region the client could shrink would let it crash the server with SIGBUS.
  const int seals = fcntl(*fd, F_GET_SEALS);
  if (seals < 0 || (seals & F_SEAL_SHRINK) == 0) {
    return refuse(absl::FailedPreconditionError(
        "the ipc:// client's shared region must be a memfd sealed with F_SEAL_SHRINK"));
  }
  void* base = mmap(nullptr, hello.region_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, *fd, 0);
  if (base == MAP_FAILED) {
    return refuse(absl::ResourceExhaustedError(fmt::format(
        "mapping the ipc:// client's {}-byte region failed: {}", hello.region_bytes,
        std::strerror(errno))));
  }
  close(*fd);
  *fd = -1;
  auto region = std::make_shared<MappedRegion>();
  region->base = static_cast<std::byte*>(base);
  region->bytes = hello.region_bytes;
  region->layout = *layout;
  region_ = region;
  requests_ = RequestRing(region->base, *layout);
  {
    absl::MutexLock lock(&response_mu_);
    responses_ = ResponseRing(region->base, *layout);
  }
  const Greeting ready = MakeGreeting(absl::OkStatus());
  return SendAll(socket_fd_, &ready, sizeof(ready));
}

void Connection::Serve() {
  const uint32_t capacity = region_->layout.ring_capacity;
  while (!stop_.load()) {
    {
      absl::MutexLock lock(&flight_mu_);
      if (in_flight_ >= capacity) {
        flight_cv_.WaitWithTimeout(&flight_mu_, options_.liveness_interval);
        if (in_flight_ >= capacity && PeerClosed(socket_fd_)) return;
        continue;
      }
    }
    RequestSlot slot;
    absl::StatusOr<bool> popped = requests_.Pop(&slot);
    if (!popped.ok()) {
      spdlog::warn("ipc:// closing the connection from {}: {}", peer_,
                   std::string(popped.status().message()));
      RespondError(0, popped.status());
      return;
    }
    if (*popped) {
      // The exception boundary: a request that throws is answered with INTERNAL.
      bool handed_off = false;
      absl::Status status = CallCatchingExceptions(
          "handling the ipc:// request", [&] { return HandleRequest(slot, handed_off); });
      if (!status.ok() && !handed_off) RespondError(slot.tag, status);
      continue;
    }
    requests_.Wait(options_.spin, options_.liveness_interval);
    if (!requests_.HasData() && PeerClosed(socket_fd_)) return;
  }
}

absl::Status Connection::HandleRequest(const RequestSlot& slot, bool& handed_off) {
  const RegionLayout& layout = region_->layout;
  if (slot.blob_bytes > kMaxBlobBytes || !InBounds(slot.blob_offset, slot.blob_bytes,
                                                   layout.arena_bytes)) {
    return absl::InvalidArgumentError(fmt::format(
        "ipc:// request descriptor (offset {}, {} bytes) lies outside the client's shared region "
        "({} bytes of tensor arena)",
        slot.blob_offset, slot.blob_bytes, layout.arena_bytes));
  }
  // Copy the descriptor out before parsing it: the client may rewrite it meanwhile.
  std::vector<std::byte> copy(region_->arena() + slot.blob_offset,
                              region_->arena() + slot.blob_offset + slot.blob_bytes);
  absl::StatusOr<RequestBlob> blob = DecodeRequestBlob(copy);
  if (!blob.ok()) return blob.status();
  if (!InBounds(blob->output_offset, blob->output_bytes, layout.arena_bytes)) {
    return absl::InvalidArgumentError(fmt::format(
        "ipc:// output area (offset {}, {} bytes) lies outside the client's shared region ({} "
        "bytes of tensor arena)",
        blob->output_offset, blob->output_bytes, layout.arena_bytes));
  }
  absl::StatusOr<InferRequest> request = BuildRequest(*blob);
  if (!request.ok()) return request.status();
  auto area = std::make_shared<AreaAllocator>(region_, blob->output_offset, blob->output_bytes);
  {
    absl::MutexLock lock(&flight_mu_);
    ++in_flight_;
  }
  handed_off = true;
  options_.server->Infer(
      *std::move(request),
      [self = shared_from_this(), tag = slot.tag, area](absl::StatusOr<InferResponse> result) {
        absl::Status status = CallCatchingExceptions(
            "encoding the ipc:// response", [&] { self->Complete(tag, std::move(result), *area); });
        if (!status.ok()) self->RespondError(tag, status);
        absl::MutexLock lock(&self->flight_mu_);
        --self->in_flight_;
        self->flight_cv_.Signal();
      },
      area, InferOptions{.allow_inline = true});
  return absl::OkStatus();
}

absl::StatusOr<InferRequest> Connection::BuildRequest(const RequestBlob& blob) {
  InferRequest request;
  request.model_name = blob.model_name;
  request.model_version = blob.model_version;
  request.id = blob.id;
  const uint64_t arena_bytes = region_->layout.arena_bytes;
  for (const BlobTensor& t : blob.inputs) {
    if (!InBounds(t.offset, t.bytes, arena_bytes)) {
      return absl::InvalidArgumentError(fmt::format(
          "ipc:// input {} (offset {}, {} bytes) lies outside the client's shared region ({} "
          "bytes of tensor arena)",
          QuoteClientText(t.name), t.offset, t.bytes, arena_bytes));
    }
    const std::byte* data = region_->arena() + t.offset;
    if (t.datatype == DataType::kBytes) {
      // Length prefixes are parsed again by the backend: give it a private copy.
      request.inputs.push_back(InferInput::FromBytes(
          t.name, t.datatype, t.shape,
          std::string(reinterpret_cast<const char*>(data), static_cast<size_t>(t.bytes))));
      continue;
    }
    InferInput input;
    input.name = t.name;
    input.datatype = t.datatype;
    input.shape = t.shape;
    input.data = data;
    input.byte_size = static_cast<size_t>(t.bytes);
    input.owner = region_;
    request.inputs.push_back(std::move(input));
  }
  for (const std::string& name : blob.outputs) request.outputs.push_back({name, {}});
  return request;
}

void Connection::Complete(uint64_t tag, absl::StatusOr<InferResponse> result,
                          AreaAllocator& area) {
  if (!result.ok()) {
    RespondError(tag, result.status(), area.needed());
    return;
  }
  ResponseBlob blob;
  blob.model_name = result->model_name;
  blob.model_version = result->model_version;
  blob.id = result->id;
  for (const InferOutput& out : result->outputs) {
    BlobTensor t{out.name, out.datatype, out.shape, 0, out.byte_size};
    if (std::optional<uint64_t> at = area.OffsetOf(out.data, out.byte_size)) {
      t.offset = *at;  // Written in place by the backend.
    } else if (out.byte_size > 0) {
      absl::StatusOr<uint64_t> placed = area.Take(out.byte_size, kOutputAlignment);
      if (!placed.ok()) {
        RespondError(tag,
                     absl::ResourceExhaustedError(
                         fmt::format("ipc:// output area too small for output {} ({} bytes)",
                                     QuoteClientText(out.name), out.byte_size)),
                     area.needed());
        return;
      }
      std::memcpy(area.arena() + *placed, out.data, out.byte_size);
      t.offset = *placed;
    }
    blob.outputs.push_back(std::move(t));
  }
  const std::string encoded = EncodeResponseBlob(blob);
  absl::StatusOr<uint64_t> at = area.Take(encoded.size(), 8);
  if (!at.ok()) {
    RespondError(tag, absl::ResourceExhaustedError(
                          "ipc:// output area too small for the response descriptor"),
                 area.needed());
    return;
  }
  std::memcpy(area.arena() + *at, encoded.data(), encoded.size());
  ResponseSlot slot;
  slot.tag = tag;
  slot.blob_offset = *at;
  slot.blob_bytes = encoded.size();
  Respond(slot);
}

void Connection::RespondError(uint64_t tag, const absl::Status& status, uint64_t needed_bytes) {
  ResponseSlot slot;
  slot.tag = tag;
  slot.needed_bytes = needed_bytes;
  SetSlotStatus(slot, status);
  Respond(slot);
}

void Connection::Respond(ResponseSlot& slot) {
  absl::MutexLock lock(&response_mu_);
  if (broken_ || !responses_.valid()) return;
  absl::Status pushed = responses_.Push(&slot);
  if (!pushed.ok()) {
    // At most ring-capacity requests are in flight, so a full ring means a corrupt one.
    spdlog::warn("ipc:// closing the connection from {}: response ring: {}", peer_,
                 std::string(pushed.message()));
    broken_ = true;
    stop_ = true;
    shutdown(socket_fd_, SHUT_RDWR);
  }
}

}  // namespace inferd::ipc
