// SPDX-License-Identifier: Apache-2.0
#include "client/ipc_transport.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <optional>
#include <cstring>
#include <map>
#include <thread>
#include <unordered_map>

#include "absl/synchronization/mutex.h"
#include "fmt/format.h"
#include "transport/ipc/ipc_protocol.h"

namespace inferd {
namespace {

using ipc::InBounds;

constexpr uint64_t kAlignment = 64;
constexpr uint64_t kDescriptorReserve = 4096;
constexpr int kOutputRetries = 3;

uint64_t AlignUp(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }

// The client's region: its mapping and a first-fit allocator over the arena. Shared by the
// transport and every block handed out, so tensors stay valid after the transport is gone.
class Region {
 public:
  Region(std::byte* base, ipc::RegionLayout layout) : base_(base), layout_(layout) {
    free_[0] = layout.arena_bytes;
  }
  ~Region() { munmap(base_, layout_.region_bytes); }

  std::byte* base() const { return base_; }
  std::byte* arena() const { return base_ + layout_.arena_offset; }
  const ipc::RegionLayout& layout() const { return layout_; }

  // Arena offset of `bytes` bytes, 64-aligned; RESOURCE_EXHAUSTED when no free run is big enough.
  absl::StatusOr<uint64_t> Allocate(uint64_t bytes) {
    bytes = AlignUp(std::max<uint64_t>(bytes, 1), kAlignment);
    absl::MutexLock lock(&mu_);
    for (auto it = free_.begin(); it != free_.end(); ++it) {
      if (it->second < bytes) continue;
      const uint64_t at = it->first;
      const uint64_t left = it->second - bytes;
      free_.erase(it);
      if (left > 0) free_[at + bytes] = left;
      used_[at] = bytes;
      return at;
    }
    return absl::ResourceExhaustedError(fmt::format(
        "the ipc:// shared region has no free run of {} bytes ({} byte arena; raise region_mb in "
        "the ipc:// URL)",
        bytes, layout_.arena_bytes));
  }

  void Free(uint64_t at) {
    absl::MutexLock lock(&mu_);
    auto used = used_.find(at);
    if (used == used_.end()) return;
    uint64_t begin = at;
    uint64_t size = used->second;
    used_.erase(used);
    auto next = free_.lower_bound(begin);
    if (next != free_.end() && next->first == begin + size) {
      size += next->second;
      next = free_.erase(next);
    }
    if (next != free_.begin()) {
      auto prev = std::prev(next);
      if (prev->first + prev->second == begin) {
        begin = prev->first;
        size += prev->second;
        free_.erase(prev);
      }
    }
    free_[begin] = size;
  }

  // The arena offset of [data, data + bytes) when it lies in the arena.
  std::optional<uint64_t> OffsetOf(const std::byte* data, size_t bytes) const {
    const std::byte* begin = arena();
    if (data == nullptr || data < begin || data >= begin + layout_.arena_bytes) return std::nullopt;
    const auto at = static_cast<uint64_t>(data - begin);
    if (!InBounds(at, bytes, layout_.arena_bytes)) return std::nullopt;
    return at;
  }

 private:
  std::byte* const base_;
  const ipc::RegionLayout layout_;
  absl::Mutex mu_;
  std::map<uint64_t, uint64_t> free_ ABSL_GUARDED_BY(mu_);
  std::unordered_map<uint64_t, uint64_t> used_ ABSL_GUARDED_BY(mu_);
};

// A run of the arena, returned to the allocator when the last reference goes.
struct Block {
  std::shared_ptr<Region> region;
  uint64_t offset = 0;
  uint64_t bytes = 0;
  ~Block() { region->Free(offset); }
  std::byte* data() const { return region->arena() + offset; }
};

absl::StatusOr<std::shared_ptr<Block>> AllocateBlock(const std::shared_ptr<Region>& region,
                                                     uint64_t bytes) {
  absl::StatusOr<uint64_t> at = region->Allocate(bytes);
  if (!at.ok()) return at.status();
  auto block = std::make_shared<Block>();
  block->region = region;
  block->offset = *at;
  block->bytes = bytes;
  return block;
}

struct IpcTarget {
  std::string socket_path;
  uint64_t region_bytes = 128ull << 20;
  uint32_t ring_capacity = 256;
  absl::Duration spin = absl::Microseconds(20);
  // Callers of Infer spin up to twice their recent wait when that is at most this long (see
  // ipc::AdaptiveSpin); at most `spin` turns that off.
  absl::Duration max_spin = absl::Microseconds(200);
};

absl::StatusOr<IpcTarget> ParseTarget(std::string_view target) {
  IpcTarget parsed;
  const size_t query = target.find('?');
  parsed.socket_path = std::string(target.substr(0, query));
  if (parsed.socket_path.empty()) {
    return absl::InvalidArgumentError("ipc:// URL needs a socket path, e.g. ipc:///tmp/inferd.sock");
  }
  std::string_view rest = query == std::string_view::npos ? "" : target.substr(query + 1);
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    const std::string_view item = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? "" : rest.substr(amp + 1);
    const size_t eq = item.find('=');
    const std::string_view key = item.substr(0, eq);
    const std::string_view text = eq == std::string_view::npos ? "" : item.substr(eq + 1);
    uint64_t value = 0;
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (error != std::errc() || end != text.data() + text.size()) {
      return absl::InvalidArgumentError(
          fmt::format("ipc:// URL option '{}' needs a non-negative integer value", item));
    }
    if (key == "region_mb") {
      parsed.region_bytes = value << 20;
    } else if (key == "spin_us" || key == "max_spin_us") {
      constexpr uint64_t kMaxSpinUs = 10000;
      if (value > kMaxSpinUs) {
        return absl::InvalidArgumentError(fmt::format(
            "ipc:// URL option '{}' is over {} microseconds (a spin longer than that burns a core "
            "for nothing: the futex wait is cheaper)",
            item, kMaxSpinUs));
      }
      (key == "spin_us" ? parsed.spin : parsed.max_spin) =
          absl::Microseconds(static_cast<int64_t>(value));
    } else if (key == "ring") {
      parsed.ring_capacity = static_cast<uint32_t>(std::min<uint64_t>(value, 1u << 30));
    } else {
      return absl::InvalidArgumentError(fmt::format(
          "unknown ipc:// URL option '{}' (known: region_mb, spin_us, max_spin_us, ring)", key));
    }
  }
  return parsed;
}

class IpcTransport final : public ClientTransport {
 public:
  IpcTransport(IpcTarget target, int socket_fd, std::shared_ptr<Region> region)
      : target_(std::move(target)),
        socket_fd_(socket_fd),
        region_(std::move(region)),
        requests_(ipc::RequestRing(region_->base(), region_->layout())),
        responses_(ipc::ResponseRing(region_->base(), region_->layout())),
        sync_spin_(target_.spin, target_.max_spin) {
    receiver_ = std::thread([this] { ReceiveLoop(); });
  }

  ~IpcTransport() override {
    stop_ = true;
    shutdown(socket_fd_, SHUT_RDWR);
    responses_.Wake();
    receiver_word_.fetch_add(kAsyncEpoch);
    ipc::FutexWakeAll(&receiver_word_);
    receiver_.join();
    FailAll(absl::CancelledError("the ipc:// client was destroyed with the request pending"));
    close(socket_fd_);
  }

  // The receiver thread delivers asynchronous responses: it is roused when it parked for callers
  // of Infer (see ReceiveLoop).
  // The receiver is roused before the request goes out: once it is pushed, its callback may run
  // (and the caller may destroy this client) before InferAsync returns.
  void InferAsync(InferRequest request, InferCallback callback) override {
    async_in_flight_.fetch_add(1);
    receiver_word_.fetch_add(kAsyncEpoch);
    if (receiver_parked_.load()) ipc::FutexWakeAll(&receiver_word_);
    Start(std::move(request), std::move(callback), /*async=*/true);
  }

  // Submits, then the caller waits on the response ring itself and drains it when no other
  // thread is: the server's push wakes this thread directly (or finds it still spinning), with no
  // hop through the receiver thread. It spins for sync_spin_'s budget before sleeping.
  absl::StatusOr<InferResponse> Infer(InferRequest request) override {
    struct Waiter {
      std::atomic<bool> done{false};
      std::optional<absl::StatusOr<InferResponse>> result;
    };
    auto waiter = std::make_shared<Waiter>();
    receiver_word_.fetch_add(1);  // The receiver thread stands aside (see ReceiveLoop).
    auto deliver = [this, waiter](absl::StatusOr<InferResponse> result) {
      waiter->result.emplace(std::move(result));
      waiter->done.store(true, std::memory_order_release);
      responses_.WakeSleepers();  // When another thread delivered it while we slept.
    };
    Start(std::move(request), std::move(deliver), /*async=*/false);
    const auto started = std::chrono::steady_clock::now();
    const absl::Duration budget = sync_spin_.Budget();
    auto waited = [&] { return absl::FromChrono(std::chrono::steady_clock::now() - started); };
    while (!waiter->done.load(std::memory_order_acquire)) {
      if (consumer_mu_.TryLock()) {
        const bool alive = Drain();
        consumer_mu_.Unlock();
        if (!alive) continue;  // FailAll answered every pending request, ours included.
        if (waiter->done.load(std::memory_order_acquire)) break;
      }
      responses_.Wait(std::max(budget - waited(), absl::ZeroDuration()), absl::Milliseconds(20));
    }
    if (waiter->result->ok()) sync_spin_.Observe(waited());  // Errors come back early.
    // Leaving does not wake the receiver: it parked only while no asynchronous request was in
    // flight, and a new one rouses it.
    receiver_word_.fetch_sub(1);
    return std::move(*waiter->result);
  }

  absl::StatusOr<OutputBuffer> AllocateTensor(size_t byte_size) override {
    absl::StatusOr<std::shared_ptr<Block>> block = AllocateBlock(region_, byte_size);
    if (!block.ok()) return block.status();
    return OutputBuffer{(*block)->data(), *block};
  }

  absl::StatusOr<bool> IsServerLive() override {
    absl::MutexLock lock(&mu_);
    if (!broken_.ok()) return broken_;
    return !ipc::PeerClosed(socket_fd_);
  }
  absl::StatusOr<bool> IsServerReady() override { return Unsupported("IsServerReady"); }
  absl::StatusOr<bool> IsModelReady(std::string_view, int64_t) override {
    return Unsupported("IsModelReady");
  }
  absl::StatusOr<ServerMetadata> GetServerMetadata() override {
    return Unsupported("GetServerMetadata");
  }
  absl::StatusOr<ModelMetadata> GetModelMetadata(std::string_view, int64_t) override {
    return Unsupported("GetModelMetadata");
  }
  absl::Status LoadModel(std::string_view) override { return Unsupported("LoadModel"); }
  absl::Status UnloadModel(std::string_view) override { return Unsupported("UnloadModel"); }
  absl::StatusOr<std::vector<ModelIndexEntry>> GetRepositoryIndex(bool) override {
    return Unsupported("GetRepositoryIndex");
  }
  absl::StatusOr<std::vector<ModelStatistics>> GetModelStatistics(std::string_view,
                                                                  int64_t) override {
    return Unsupported("GetModelStatistics");
  }

 private:
  struct Pending {
    InferRequest request;  // Kept (with its inputs' owners) until the response, for retries.
    InferCallback callback;
    std::shared_ptr<Block> block;  // Copied inputs, output area and descriptor.
    uint64_t output_offset = 0;
    uint64_t output_bytes = 0;
    int retries_left = 0;
    bool async = false;  // From InferAsync (counted in async_in_flight_), not from Infer.
  };

  void Start(InferRequest request, InferCallback callback, bool async) {
    Pending pending;
    pending.request = std::move(request);
    pending.callback = std::move(callback);
    pending.retries_left = kOutputRetries;
    pending.async = async;
    Submit(std::move(pending), 0);
  }

  // Delivers a request's result; an InferAsync request leaves async_in_flight_ first.
  void Finish(Pending& pending, absl::StatusOr<InferResponse> result) {
    if (pending.async) async_in_flight_.fetch_sub(1);
    pending.callback(std::move(result));
  }

  static absl::Status Unsupported(std::string_view call) {
    return absl::UnimplementedError(fmt::format(
        "ipc:// carries inference only; call {} over http:// or grpc://", call));
  }

  // Places the request in the region and pushes its descriptor. `output_hint`: bytes of output
  // area wanted (0: as many as the inputs, at least 4 KiB).
  void Submit(Pending pending, uint64_t output_hint) {
    const InferRequest& request = pending.request;
    ipc::RequestBlob blob;
    blob.model_name = request.model_name;
    blob.model_version = request.model_version;
    blob.id = request.id;
    uint64_t copied_bytes = 0;
    uint64_t input_bytes = 0;
    std::vector<std::optional<uint64_t>> in_place;
    for (const InferInput& in : request.inputs) {
      in_place.push_back(region_->OffsetOf(in.data, in.byte_size));
      if (!in_place.back()) copied_bytes += AlignUp(in.byte_size, kAlignment);
      input_bytes += in.byte_size;
      blob.inputs.push_back({in.name, in.datatype, in.shape, 0, in.byte_size});
    }
    for (const RequestedOutput& out : request.outputs) blob.outputs.push_back(out.name);
    const uint64_t output_bytes =
        AlignUp(std::max<uint64_t>(output_hint > 0 ? output_hint
                                                   : input_bytes + kDescriptorReserve +
                                                         kAlignment * (request.inputs.size() + 1),
                                   4096),
                kAlignment);
    const uint64_t descriptor_bytes = ipc::EncodeRequestBlob(blob).size();
    absl::StatusOr<std::shared_ptr<Block>> block =
        AllocateBlock(region_, copied_bytes + output_bytes + descriptor_bytes);
    if (!block.ok()) {
      Finish(pending, block.status());
      return;
    }
    pending.block = *block;
    const uint64_t base = pending.block->offset;
    uint64_t at = 0;
    for (size_t i = 0; i < request.inputs.size(); ++i) {
      const InferInput& in = request.inputs[i];
      if (in_place[i]) {
        blob.inputs[i].offset = *in_place[i];
        continue;
      }
      if (in.byte_size > 0) std::memcpy(pending.block->data() + at, in.data, in.byte_size);
      blob.inputs[i].offset = base + at;
      at += AlignUp(in.byte_size, kAlignment);
    }
    blob.output_offset = base + at;
    blob.output_bytes = output_bytes;
    pending.output_offset = blob.output_offset;
    pending.output_bytes = output_bytes;
    const std::string descriptor = ipc::EncodeRequestBlob(blob);
    const uint64_t descriptor_at = at + output_bytes;
    std::memcpy(pending.block->data() + descriptor_at, descriptor.data(), descriptor.size());

    ipc::RequestSlot slot;
    slot.blob_offset = base + descriptor_at;
    slot.blob_bytes = descriptor.size();
    absl::Status pushed;
    {
      absl::MutexLock lock(&mu_);
      if (!broken_.ok()) {
        pushed = broken_;
      } else if (pending_.size() >= region_->layout().ring_capacity) {
        pushed = absl::ResourceExhaustedError(fmt::format(
            "{} requests are already in flight on this ipc:// connection (its ring capacity; "
            "raise ring in the ipc:// URL)",
            pending_.size()));
      } else {
        slot.tag = ++next_tag_;
        pushed = requests_.Push(&slot);
        if (pushed.ok()) pending_.emplace(slot.tag, std::move(pending));
      }
    }
    if (!pushed.ok()) Finish(pending, pushed);
  }

  // Pops and delivers every waiting response; false after a corrupt ring failed everything.
  bool Drain() ABSL_EXCLUSIVE_LOCKS_REQUIRED(consumer_mu_) {
    for (;;) {
      ipc::ResponseSlot slot;
      absl::StatusOr<bool> popped = responses_.Pop(&slot);
      if (!popped.ok()) {
        FailAll(absl::DataLossError(fmt::format("ipc:// response ring from the server at {}: {}",
                                                target_.socket_path,
                                                std::string(popped.status().message()))));
        return false;
      }
      if (!*popped) return true;
      Deliver(slot);
    }
  }

  void ReceiveLoop() {
    while (!stop_) {
      // While callers of Infer wait on the ring they drain every response, so this thread parks
      // instead of being woken (and spinning on the callers' CPUs) for each one; it comes back
      // for asynchronous requests, and watches the socket meanwhile.
      if (const uint32_t word = receiver_word_.load();
          (word & kSyncCallers) != 0 && async_in_flight_.load() == 0) {
        receiver_parked_.store(true);
        ipc::FutexWait(&receiver_word_, word, absl::Milliseconds(50));
        receiver_parked_.store(false);
        if ((receiver_word_.load() & kSyncCallers) != 0 && ipc::PeerClosed(socket_fd_)) {
          FailAll(absl::UnavailableError(fmt::format(
              "the ipc:// server at {} closed the connection (it stopped or crashed); the "
              "request did not complete",
              target_.socket_path)));
          return;
        }
        continue;
      }
      if (consumer_mu_.TryLock()) {  // Else a caller of Infer is draining.
        const bool alive = Drain();
        consumer_mu_.Unlock();
        if (!alive) return;
      }
      responses_.Wait(target_.spin, absl::Milliseconds(50));
      if (!responses_.HasData() && ipc::PeerClosed(socket_fd_)) {
        FailAll(absl::UnavailableError(fmt::format(
            "the ipc:// server at {} closed the connection (it stopped or crashed); the request "
            "did not complete",
            target_.socket_path)));
        return;
      }
    }
  }

  void Deliver(const ipc::ResponseSlot& slot) {
    Pending pending;
    {
      absl::MutexLock lock(&mu_);
      auto it = pending_.find(slot.tag);
      if (it == pending_.end()) return;  // A connection-level error (tag 0) is followed by a hang-up.
      pending = std::move(it->second);
      pending_.erase(it);
    }
    const absl::Status status = ipc::SlotStatus(slot);
    if (!status.ok()) {
      if (status.code() == absl::StatusCode::kResourceExhausted && slot.needed_bytes > 0 &&
          pending.retries_left > 0) {
        // The outputs did not fit the area we guessed; the server says how much they need.
        --pending.retries_left;
        const uint64_t hint = std::max(slot.needed_bytes, pending.output_bytes * 2);
        pending.block.reset();
        Submit(std::move(pending), hint);
        return;
      }
      Finish(pending, status);
      return;
    }
    Finish(pending, Decode(slot, pending));
  }

  absl::StatusOr<InferResponse> Decode(const ipc::ResponseSlot& slot, const Pending& pending) {
    const uint64_t area_end = pending.output_offset + pending.output_bytes;
    auto in_area = [&](uint64_t offset, uint64_t bytes) {
      return offset >= pending.output_offset && InBounds(offset, bytes, area_end);
    };
    if (!in_area(slot.blob_offset, slot.blob_bytes)) {
      return absl::DataLossError("ipc:// response descriptor lies outside the request's area");
    }
    absl::StatusOr<ipc::ResponseBlob> blob = ipc::DecodeResponseBlob(
        {region_->arena() + slot.blob_offset, static_cast<size_t>(slot.blob_bytes)});
    if (!blob.ok()) return blob.status();
    InferResponse response;
    response.model_name = std::move(blob->model_name);
    response.model_version = blob->model_version;
    response.id = std::move(blob->id);
    for (ipc::BlobTensor& t : blob->outputs) {
      if (t.bytes > 0 && !in_area(t.offset, t.bytes)) {
        return absl::DataLossError(
            fmt::format("ipc:// output '{}' lies outside the request's area", t.name));
      }
      InferOutput out;
      out.name = std::move(t.name);
      out.datatype = t.datatype;
      out.shape = std::move(t.shape);
      out.data = region_->arena() + t.offset;
      out.byte_size = static_cast<size_t>(t.bytes);
      out.owner = pending.block;
      response.outputs.push_back(std::move(out));
    }
    return response;
  }

  void FailAll(const absl::Status& status) {
    std::unordered_map<uint64_t, Pending> failed;
    {
      absl::MutexLock lock(&mu_);
      if (broken_.ok()) broken_ = status;
      failed.swap(pending_);
    }
    for (auto& [tag, pending] : failed) Finish(pending, status);
  }

  const IpcTarget target_;
  const int socket_fd_;
  const std::shared_ptr<Region> region_;
  std::atomic<bool> stop_{false};
  absl::Mutex mu_;
  ipc::RingView requests_ ABSL_GUARDED_BY(mu_);
  // Whoever holds consumer_mu_ pops (the receiver thread, or a caller of Infer waiting for its
  // response); Wait/HasData/Wake need no lock.
  absl::Mutex consumer_mu_;
  ipc::RingView responses_;
  // The receiver thread's parking word (a futex): the low 16 bits count callers inside Infer;
  // every InferAsync adds kAsyncEpoch, so a receiver about to park sees the change. A parked
  // receiver is woken by InferAsync (when receiver_parked_) and by the destructor.
  static constexpr uint32_t kSyncCallers = 0xffff;
  static constexpr uint32_t kAsyncEpoch = 1u << 16;
  std::atomic<uint32_t> receiver_word_{0};
  std::atomic<bool> receiver_parked_{false};
  std::atomic<uint32_t> async_in_flight_{0};  // InferAsync requests not yet answered.
  ipc::AdaptiveSpin sync_spin_;  // How long callers of Infer spin.
  uint64_t next_tag_ ABSL_GUARDED_BY(mu_) = 0;
  std::unordered_map<uint64_t, Pending> pending_ ABSL_GUARDED_BY(mu_);
  absl::Status broken_ ABSL_GUARDED_BY(mu_);
  std::thread receiver_;
};

absl::StatusOr<int> Connect(const std::string& path) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path)) {
    return absl::InvalidArgumentError(fmt::format("ipc:// socket path '{}' is too long", path));
  }
  std::memcpy(address.sun_path, path.data(), path.size());
  const int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return absl::UnavailableError(fmt::format("socket: {}", std::strerror(errno)));
  if (connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) != 0) {
    const int error = errno;
    close(fd);
    return absl::UnavailableError(fmt::format(
        "cannot connect to the ipc:// socket '{}': {} (is inferd running with "
        "--ipc-socket-path={}?)",
        path, std::strerror(error), path));
  }
  timeval timeout{10, 0};  // Set-up only; the socket carries nothing afterwards.
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  return fd;
}

absl::StatusOr<std::shared_ptr<Region>> CreateRegion(const IpcTarget& target, int* memfd) {
  absl::StatusOr<ipc::RegionLayout> layout =
      ipc::ComputeLayout(target.region_bytes, target.ring_capacity);
  if (!layout.ok()) return layout.status();
  const int fd = memfd_create("inferd-ipc", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) {
    return absl::ResourceExhaustedError(fmt::format("memfd_create: {}", std::strerror(errno)));
  }
  if (ftruncate(fd, static_cast<off_t>(target.region_bytes)) != 0 ||
      fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) != 0) {
    const int error = errno;
    close(fd);
    return absl::ResourceExhaustedError(
        fmt::format("preparing the ipc:// shared region failed: {}", std::strerror(error)));
  }
  void* base = mmap(nullptr, target.region_bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (base == MAP_FAILED) {
    const int error = errno;
    close(fd);
    return absl::ResourceExhaustedError(
        fmt::format("mapping the ipc:// shared region failed: {}", std::strerror(error)));
  }
  *memfd = fd;
  return std::make_shared<Region>(static_cast<std::byte*>(base), *layout);
}

}  // namespace

absl::StatusOr<std::unique_ptr<ClientTransport>> CreateIpcTransport(
    std::string_view target, const ClientOptions& /*options*/) {
  absl::StatusOr<IpcTarget> parsed = ParseTarget(target);
  if (!parsed.ok()) return parsed.status();
  absl::StatusOr<int> fd = Connect(parsed->socket_path);
  if (!fd.ok()) return fd.status();
  auto fail = [&](absl::Status status) {
    close(*fd);
    return status;
  };
  ipc::Greeting greeting;
  if (absl::Status s = ipc::RecvAll(*fd, &greeting, sizeof(greeting)); !s.ok()) return fail(s);
  if (absl::Status s = ipc::GreetingStatus(greeting); !s.ok()) return fail(s);
  int memfd = -1;
  absl::StatusOr<std::shared_ptr<Region>> region = CreateRegion(*parsed, &memfd);
  if (!region.ok()) return fail(region.status());
  ipc::Hello hello;
  hello.region_bytes = parsed->region_bytes;
  hello.ring_capacity = parsed->ring_capacity;
  absl::Status sent = ipc::SendWithFd(*fd, &hello, sizeof(hello), memfd);
  close(memfd);  // The mapping keeps the memory; the server has its own descriptor now.
  if (!sent.ok()) return fail(sent);
  if (absl::Status s = ipc::RecvAll(*fd, &greeting, sizeof(greeting)); !s.ok()) return fail(s);
  if (absl::Status s = ipc::GreetingStatus(greeting); !s.ok()) return fail(s);
  return std::make_unique<IpcTransport>(*std::move(parsed), *fd, *std::move(region));
}

}  // namespace inferd
