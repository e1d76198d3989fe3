// SPDX-License-Identifier: Apache-2.0
#include "ipc_bench.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <thread>

#include "child_process.h"
#include "fmt/format.h"
#include "inferd/client.h"
#include "inferd/shm.h"
#include "transport/ipc/shm_ring.h"


namespace inferd::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr size_t kLargeBytes = 602112;  // One ResNet50 input: 3 × 224 × 224 FP32.
constexpr size_t kSmallBytes = 16;

// ---- The bare ping-pong baseline ----

struct PingPong {
  alignas(64) std::atomic<uint32_t> request_seq;
  std::atomic<uint32_t> request_waiters;
  alignas(64) std::atomic<uint32_t> response_seq;
  std::atomic<uint32_t> response_waiters;
  alignas(64) std::atomic<uint64_t> bytes;
  std::atomic<uint32_t> stop;
};
constexpr size_t kAreaOffset = 4096;
constexpr size_t kAreaBytes = 1 << 20;
constexpr size_t kPingPongBytes = kAreaOffset + 2 * kAreaBytes;

std::byte* RequestArea(PingPong* p) { return reinterpret_cast<std::byte*>(p) + kAreaOffset; }
std::byte* ResponseArea(PingPong* p) { return RequestArea(p) + kAreaBytes; }

void Signal(std::atomic<uint32_t>& seq, std::atomic<uint32_t>& waiters) {
  seq.fetch_add(1, std::memory_order_seq_cst);
  if (waiters.load(std::memory_order_seq_cst) != 0) ipc::FutexWakeAll(&seq);
}

// Returns once `seq` differs from `last`: spins for `spin`, then sleeps on the futex.
void AwaitChange(std::atomic<uint32_t>& seq, std::atomic<uint32_t>& waiters, uint32_t last,
                 std::chrono::microseconds spin) {
  const auto spin_until = Clock::now() + spin;
  while (seq.load(std::memory_order_acquire) == last) {
    if (Clock::now() < spin_until) {
      __builtin_ia32_pause();
      continue;
    }
    waiters.fetch_add(1, std::memory_order_seq_cst);
    if (seq.load(std::memory_order_seq_cst) == last) {
      ipc::FutexWait(&seq, last, absl::Milliseconds(100));
    }
    waiters.fetch_sub(1, std::memory_order_seq_cst);
  }
}

PingPong* MapPingPong(const std::string& name, bool create) {
  const int fd = shm_open(name.c_str(), O_RDWR | (create ? O_CREAT | O_EXCL : 0), 0600);
  if (fd < 0) return nullptr;
  if (create && ftruncate(fd, kPingPongBytes) != 0) {
    close(fd);
    return nullptr;
  }
  void* p = mmap(nullptr, kPingPongBytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  close(fd);
  return p == MAP_FAILED ? nullptr : static_cast<PingPong*>(p);
}

// ---- Measurement ----

struct Figures {
  double median_us = 0;
  double p90_us = 0;
};

Figures Summarise(std::vector<double> samples) {
  if (samples.empty()) return {};
  std::sort(samples.begin(), samples.end());
  return {samples[samples.size() / 2], samples[samples.size() * 9 / 10]};
}

// One round trip of `bytes`: the client writes the bytes (from `src`), the far side returns
// them, the client reads them back (into `dst`). False on an error.
using RoundTrip = std::function<bool(size_t bytes)>;

struct Transport {
  std::string key;  // What --only names.
  std::string name;
  RoundTrip round_trip;
  std::map<size_t, std::vector<double>> samples;
};

std::vector<float> Source(size_t bytes) {
  std::vector<float> v(bytes / sizeof(float));
  for (size_t i = 0; i < v.size(); ++i) v[i] = static_cast<float>(i % 251);
  return v;
}

InferRequest IdentityRequest(const InferInput& input) {
  InferRequest request;
  request.model_name = "identity";
  request.inputs.push_back(input);
  return request;
}

bool CheckOutput(const absl::StatusOr<InferResponse>& response, const std::byte* expected,
                 size_t bytes, std::vector<std::byte>& dst) {
  if (!response.ok()) {
    std::fprintf(stderr, "request failed: %s\n", response.status().ToString().c_str());
    return false;
  }
  if (response->outputs.size() != 1 || response->outputs[0].byte_size != bytes) return false;
  std::memcpy(dst.data(), response->outputs[0].data, bytes);  // The client reads the bytes.
  return std::memcmp(dst.data(), expected, bytes) == 0;
}


}  // namespace

int RunShmPingPongServer(const std::string& name, int spin_us) {
  PingPong* p = MapPingPong(name, /*create=*/false);
  if (p == nullptr) {
    std::fprintf(stderr, "ping-pong server: cannot map %s\n", name.c_str());
    return 1;
  }
  std::printf("PINGPONG ready\n");
  std::fflush(stdout);
  uint32_t last = p->request_seq.load();
  const std::chrono::microseconds spin(spin_us);
  while (p->stop.load() == 0) {
    AwaitChange(p->request_seq, p->request_waiters, last, spin);
    last = p->request_seq.load();
    if (p->stop.load() != 0) break;
    const size_t bytes = std::min<size_t>(p->bytes.load(), kAreaBytes);
    std::memcpy(ResponseArea(p), RequestArea(p), bytes);  // Read the request, write the reply.
    Signal(p->response_seq, p->response_waiters);
  }
  return 0;
}

int RunIpcBench(const IpcBenchOptions& options) {
  const std::string socket = fmt::format("/tmp/inferd-bench-{}.sock", getpid());
  std::vector<std::string> inferd_args = {
      options.inferd_path, "--model-repository=" + options.model_repository,
      "--model-control-mode=explicit", "--load-model=identity", "--grpc-port=0",
      "--http-port=0", "--allow-metrics=false", "--allow-client-shm=true",
      "--ipc-socket-path=" + socket,
      fmt::format("--ipc-spin-us={}", options.spin_us)};
  inferd_args.insert(inferd_args.end(), options.inferd_args.begin(), options.inferd_args.end());
  const std::string shm_name = fmt::format("/inferd-bench-pingpong-{}", getpid());
  shm_unlink(shm_name.c_str());
  PingPong* pp = MapPingPong(shm_name, /*create=*/true);
  if (pp == nullptr) {
    std::fprintf(stderr, "cannot create %s: %s\n", shm_name.c_str(), std::strerror(errno));
    return 1;
  }
  std::optional<ChildProcess> inferd, pingpong;
  const bool pinned = StartServersPinned(options.pin, [&] {
    inferd.emplace(inferd_args);
    pingpong.emplace(std::vector<std::string>{options.self_path, "shm-pingpong-server",
                                              "--name=" + shm_name,
                                              fmt::format("--spin-us={}", options.spin_us)});
  });
  if (!inferd->WaitForOutput("inferd ready")) {
    std::fprintf(stderr, "inferd did not start:\n%s\n", inferd->output().c_str());
    return 1;
  }
  const int grpc_port = inferd->WaitForPort("GRPC server listening on ");
  const int http_port = inferd->WaitForPort("HTTP server listening on ");
  if (grpc_port == 0 || http_port == 0) {
    std::fprintf(stderr, "inferd printed no gRPC or HTTP port:\n%s\n", inferd->output().c_str());
    return 1;
  }
  if (!pingpong->WaitForOutput("PINGPONG ready")) {
    std::fprintf(stderr, "ping-pong server did not start:\n%s\n", pingpong->output().c_str());
    return 1;
  }

  std::map<size_t, std::vector<float>> sources = {{kSmallBytes, Source(kSmallBytes)},
                                                  {kLargeBytes, Source(kLargeBytes)}};
  std::vector<std::byte> dst(kLargeBytes);
  std::vector<Transport> transports;

  // Baseline: bare ping-pong. Its client waits for the reply the way a caller of the ipc:// client's
  // Infer does (the same adaptive spin, then the futex); its server side spins for the fixed
  // --spin-us, as inferd's connection thread does.
  ipc::AdaptiveSpin baseline_spin(absl::Microseconds(options.spin_us),
                                  absl::Microseconds(options.max_spin_us));
  transports.push_back({"baseline", "shm ping-pong (baseline)", [&](size_t bytes) {
                          const auto* src = reinterpret_cast<const std::byte*>(sources[bytes].data());
                          std::memcpy(RequestArea(pp), src, bytes);
                          pp->bytes.store(bytes);
                          const uint32_t last = pp->response_seq.load();
                          Signal(pp->request_seq, pp->request_waiters);
                          const auto started = Clock::now();
                          AwaitChange(pp->response_seq, pp->response_waiters, last,
                                      absl::ToChronoMicroseconds(baseline_spin.Budget()));
                          baseline_spin.Observe(absl::FromChrono(Clock::now() - started));
                          std::memcpy(dst.data(), ResponseArea(pp), bytes);
                          return std::memcmp(dst.data(), src, bytes) == 0;
                        }, {}});

  // ipc://: the input written into a buffer in the shared region, the output read in place.
  auto ipc = Client::Create(fmt::format("ipc://{}?spin_us={}&max_spin_us={}", socket,
                                        options.spin_us, options.max_spin_us));
  if (!ipc.ok()) {
    std::fprintf(stderr, "ipc:// client: %s\n", ipc.status().ToString().c_str());
    return 1;
  }
  std::map<size_t, Client::InputBuffer> ipc_buffers;
  for (size_t bytes : {kSmallBytes, kLargeBytes}) {
    auto buffer = (*ipc)->AllocateInput("INPUT0", DataType::kFp32,
                                        {static_cast<int64_t>(bytes / 4)}, bytes);
    if (!buffer.ok()) return 1;
    ipc_buffers.emplace(bytes, *std::move(buffer));
  }
  transports.push_back({"ipc", "ipc://", [&](size_t bytes) {
                          const auto* src = reinterpret_cast<const std::byte*>(sources[bytes].data());
                          Client::InputBuffer& buffer = ipc_buffers.at(bytes);
                          std::memcpy(buffer.data.data(), src, bytes);
                          return CheckOutput((*ipc)->Infer(IdentityRequest(buffer.input)), src,
                                             bytes, dst);
                        }, {}});

  // Plain gRPC: the input travels in the message.
  auto grpc = Client::Create(fmt::format("grpc://127.0.0.1:{}", grpc_port));
  if (!grpc.ok()) {
    std::fprintf(stderr, "grpc:// client: %s\n", grpc.status().ToString().c_str());
    return 1;
  }
  transports.push_back({"grpc", "gRPC", [&](size_t bytes) {
                          const auto* src = reinterpret_cast<const std::byte*>(sources[bytes].data());
                          InferInput in;
                          in.name = "INPUT0";
                          in.datatype = DataType::kFp32;
                          in.shape = {static_cast<int64_t>(bytes / 4)};
                          in.data = src;
                          in.byte_size = bytes;
                          return CheckOutput((*grpc)->Infer(IdentityRequest(in)), src, bytes, dst);
                        }, {}});
  // HTTP and gRPC with Triton system shared memory: the input written into a registered region,
  // the output read back from another.
  auto http = Client::Create(fmt::format("http://127.0.0.1:{}", http_port));
  if (!http.ok()) {
    std::fprintf(stderr, "http:// client: %s\n", http.status().ToString().c_str());
    return 1;
  }
  auto shm_in = SystemShmRegion::Create(fmt::format("/inferd-bench-in-{}", getpid()), kLargeBytes);
  auto shm_out = SystemShmRegion::Create(fmt::format("/inferd-bench-out-{}", getpid()), kLargeBytes);
  if (!shm_in.ok() || !shm_out.ok()) {
    std::fprintf(stderr, "cannot create the shared-memory regions\n");
    return 1;
  }
  // One registry serves both transports: register once.
  if (absl::Status in = (*grpc)->RegisterSystemSharedMemory("bench_in", (*shm_in)->key(),
                                                            kLargeBytes),
      out = (*grpc)->RegisterSystemSharedMemory("bench_out", (*shm_out)->key(), kLargeBytes);
      !in.ok() || !out.ok()) {
    std::fprintf(stderr, "registering regions failed: %s %s\n", in.ToString().c_str(),
                 out.ToString().c_str());
    return 1;
  }
  auto shm_round_trip = [&](Client& client, size_t bytes) {
    const auto* src = reinterpret_cast<const std::byte*>(sources[bytes].data());
    std::memcpy((*shm_in)->data(), src, bytes);
    InferRequest request;
    request.model_name = "identity";
    request.inputs.push_back(ShmInput("INPUT0", DataType::kFp32,
                                      {static_cast<int64_t>(bytes / 4)}, "bench_in", bytes));
    request.outputs.push_back(ShmOutput("OUTPUT0", "bench_out", bytes));
    auto response = client.Infer(std::move(request));
    if (!response.ok()) {
      std::fprintf(stderr, "request failed: %s\n", response.status().ToString().c_str());
      return false;
    }
    std::memcpy(dst.data(), (*shm_out)->data(), bytes);
    return std::memcmp(dst.data(), src, bytes) == 0;
  };
  transports.push_back(
      {"http-shm", "HTTP + system shm", [&](size_t bytes) { return shm_round_trip(**http, bytes); }, {}});
  transports.push_back(
      {"grpc-shm", "gRPC + system shm", [&](size_t bytes) { return shm_round_trip(**grpc, bytes); }, {}});

  // --only: the baseline and the named transports (their clients exist, unused, either way).
  std::erase_if(transports, [&](const Transport& t) {
    return t.key != "baseline" && !options.only.empty() &&
           std::find(options.only.begin(), options.only.end(), t.key) == options.only.end();
  });
  auto measured = [&](const std::string& key) {
    return std::any_of(transports.begin(), transports.end(),
                       [&](const Transport& t) { return t.key == key; });
  };

  bool all_ok = true;
  for (int round = 0; round < options.rounds; ++round) {
    for (size_t bytes : {kSmallBytes, kLargeBytes}) {
      const int n = bytes == kSmallBytes ? options.samples_per_round
                                         : options.large_samples_per_round;
      for (Transport& t : transports) {
        for (int i = 0; i < 10; ++i) all_ok &= t.round_trip(bytes);  // Warm-up.
        for (int i = 0; i < n; ++i) {
          const auto start = Clock::now();
          const bool ok = t.round_trip(bytes);
          const auto end = Clock::now();
          all_ok &= ok;
          t.samples[bytes].push_back(
              std::chrono::duration<double, std::micro>(end - start).count());
        }
      }
    }
  }
  pp->stop.store(1);
  Signal(pp->request_seq, pp->request_waiters);

  std::printf("Round trips of identity FP32 (client writes the input, reads the output back), "
              "%d alternating rounds, spin %d us (clients: adaptive up to %d us)%s\n",
              options.rounds, options.spin_us, options.max_spin_us,
              pinned ? ", servers on CPU 1, clients on CPU 0" : "");
  std::printf("  %-10s %-26s %10s %10s %12s\n", "payload", "transport", "median us", "p90 us",
              "x baseline");
  std::map<std::string, std::map<size_t, Figures>> figures;
  for (size_t bytes : {kSmallBytes, kLargeBytes}) {
    for (Transport& t : transports) figures[t.name][bytes] = Summarise(t.samples[bytes]);
    const double base = figures[transports[0].name][bytes].median_us;
    for (Transport& t : transports) {
      const Figures& f = figures[t.name][bytes];
      std::printf("  %-10zu %-26s %10.1f %10.1f %12.2f\n", bytes, t.name.c_str(), f.median_us,
                  f.p90_us, f.median_us / base);
    }
  }
  const double ipc_large = figures["ipc://"][kLargeBytes].median_us;
  const double base_large = figures[transports[0].name][kLargeBytes].median_us;
  const double grpc_large = figures["gRPC"][kLargeBytes].median_us;
  const bool goal_baseline = ipc_large <= 1.3 * base_large;
  const bool goal_grpc = grpc_large >= 4 * ipc_large;
  if (measured("ipc") && measured("grpc")) {
    std::printf("\n602,112 bytes: ipc:// / baseline = %.2f (goal <= 1.3: %s); plain gRPC / ipc:// "
                "= %.2f (goal >= 4: %s)\n",
                ipc_large / base_large, goal_baseline ? "met" : "NOT met",
                grpc_large / ipc_large, goal_grpc ? "met" : "NOT met");
  }
  if (!all_ok) std::fprintf(stderr, "some round trips failed or returned wrong bytes\n");
  shm_unlink(shm_name.c_str());
  munmap(pp, kPingPongBytes);
  return all_ok ? 0 : 1;
}

}  // namespace inferd::bench
