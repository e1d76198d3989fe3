// SPDX-License-Identifier: Apache-2.0
#include "perf_check_bench.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "child_process.h"

namespace inferd::bench {
namespace {

namespace fs = std::filesystem;

struct Figures {
  double throughput = 0;  // requests (= inferences) per second
  double p50_us = 0;
};

// The request: identity's INPUT0 as 4 FP32 values with Triton's binary tensor extension, the
// output asked for in binary too (what inferd's http:// client sends).
std::string IdentityRequest() {
  const std::string header =
      R"({"inputs":[{"name":"INPUT0","shape":[4],"datatype":"FP32","parameters":{"binary_data_size":16}}],)"
      R"("outputs":[{"name":"OUTPUT0","parameters":{"binary_data":true}}]})";
  std::string body = header;
  const float values[4] = {1, 2, 3, 4};
  body.append(reinterpret_cast<const char*>(values), sizeof(values));
  return fmt::format(
      "POST /v2/models/identity/infer HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
      "application/octet-stream\r\nInference-Header-Content-Length: {}\r\nContent-Length: "
      "{}\r\n\r\n",
      header.size(), body.size()) +
         body;
}

// One keep-alive connection sending `request` and reading each response whole (Content-Length).
class Connection {
 public:
  explicit Connection(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const int one = 1;
    setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      close(fd_);
      fd_ = -1;
    }
  }
  ~Connection() {
    if (fd_ >= 0) close(fd_);
  }
  bool ok() const { return fd_ >= 0; }

  bool RoundTrip(const std::string& request) {
    for (size_t sent = 0; sent < request.size();) {
      const ssize_t n = send(fd_, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) return false;
      sent += static_cast<size_t>(n);
    }
    // Headers, then Content-Length bytes of body.
    size_t header_end;
    while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (!Read()) return false;
    }
    const std::string headers = buffer_.substr(0, header_end);
    if (headers.compare(0, 12, "HTTP/1.1 200") != 0) return false;
    size_t length = 0;
    std::string lower = headers;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    // "\r\n" first: Inference-Header-Content-Length ends in the same words.
    const size_t at = lower.find("\r\ncontent-length:");
    if (at == std::string::npos) return false;
    length = std::strtoul(headers.c_str() + at + 17, nullptr, 10);
    while (buffer_.size() < header_end + 4 + length) {
      if (!Read()) return false;
    }
    buffer_.erase(0, header_end + 4 + length);
    return true;
  }

 private:
  bool Read() {
    char chunk[4096];
    const ssize_t n = recv(fd_, chunk, sizeof(chunk), 0);
    if (n <= 0) return false;
    buffer_.append(chunk, static_cast<size_t>(n));
    return true;
  }
  int fd_ = -1;
  std::string buffer_;
};

// Closed loop: `concurrency` threads, each on its own connection, for `seconds`.
std::optional<Figures> RunGenerator(int port, int concurrency, double seconds) {
  const std::string request = IdentityRequest();
  std::vector<std::vector<double>> latencies(static_cast<size_t>(concurrency));
  std::atomic<bool> failed{false};
  std::vector<std::thread> threads;
  // A short warm-up on each connection, then the measured span.
  const auto start = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
  const auto end = start + std::chrono::duration<double>(seconds);
  for (int t = 0; t < concurrency; ++t) {
    threads.emplace_back([&, t] {
      Connection c(port);
      if (!c.ok()) {
        failed = true;
        return;
      }
      while (true) {
        const auto sent = std::chrono::steady_clock::now();
        if (sent >= end) return;
        if (!c.RoundTrip(request)) {
          failed = true;
          return;
        }
        const auto done = std::chrono::steady_clock::now();
        if (sent >= start && done <= end) {
          latencies[static_cast<size_t>(t)].push_back(
              std::chrono::duration<double, std::micro>(done - sent).count());
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  if (failed) return std::nullopt;
  std::vector<double> all;
  for (auto& v : latencies) all.insert(all.end(), v.begin(), v.end());
  if (all.empty()) return std::nullopt;
  std::sort(all.begin(), all.end());
  Figures f;
  f.throughput = static_cast<double>(all.size()) / seconds;
  f.p50_us = all[(all.size() + 1) / 2 - 1];
  return f;
}

// A number after "key": in inferd-perf's JSON (the first occurrence after `after`).
double JsonNumber(const std::string& json, const std::string& key, size_t after = 0) {
  const size_t at = json.find("\"" + key + "\":", after);
  if (at == std::string::npos) return 0;
  return std::strtod(json.c_str() + at + key.size() + 3, nullptr);
}

std::optional<Figures> RunPerf(const PerfCheckOptions& o, const std::string& url, int concurrency,
                               const std::string& json_path, const std::string& control,
                               bool async = false) {
  std::vector<std::string> args = {o.perf_path, "profile", "-m", "identity", "-u", url,
                                   "--shape", "INPUT0:4", "--concurrency-range",
                                   std::to_string(concurrency), "-p",
                                   fmt::format("{:.0f}", o.window_ms), "-s", "100", "-r", "3",
                                   "--json", json_path};
  if (async) args.push_back("--async");
  if (!control.empty()) {
    args.push_back("--control-url");
    args.push_back(control);
  }
  ChildProcess perf(args);
  if (!perf.running()) return std::nullopt;
  if (perf.Wait() != 0) {
    fmt::print(stderr, "inferd-perf failed:\n{}\n", perf.output());
    return std::nullopt;
  }
  std::ifstream in(json_path);
  std::stringstream s;
  s << in.rdbuf();
  const std::string json = s.str();
  const size_t levels = json.find("\"levels\"");
  if (levels == std::string::npos) return std::nullopt;
  Figures f;
  f.throughput = JsonNumber(json, "throughput_infer_per_s", levels);
  f.p50_us = JsonNumber(json, "p50", levels);
  if (f.throughput <= 0) return std::nullopt;
  return f;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

}  // namespace

int RunPerfCheckBench(const PerfCheckOptions& o) {
  const fs::path dir = fs::temp_directory_path() / fmt::format("inferd_perf_check_{}", getpid());
  fs::create_directories(dir);
  const std::string socket_path = (dir / "inferd.sock").string();
  std::optional<ChildProcess> inferd;
  const bool pinned = StartServersPinned(o.pin, [&] {
    inferd.emplace(std::vector<std::string>{
        o.inferd_path, "--model-repository=" + o.model_repository, "--http-port=0",
        "--allow-grpc=false", "--allow-metrics=false", "--ipc-socket-path=" + socket_path});
  });
  const int port =
      inferd->WaitForOutput("inferd ready") ? inferd->WaitForPort("HTTP server listening on ") : 0;
  if (port == 0) {
    fmt::print(stderr, "inferd did not start:\n{}\n", inferd->output());
    return 1;
  }
  const std::string url = fmt::format("http://127.0.0.1:{}", port);
  fmt::print("inferd-perf vs a plain-socket closed-loop generator: identity, 16-byte FP32 input, "
             "HTTP, {} rounds of {:.1f} s each side{}\n",
             o.rounds, 3 * o.window_ms / 1000, pinned ? " (server on CPU 1, clients on CPU 0)" : "");
  int code = 0;
  for (int concurrency : {1, 8}) {
    std::vector<double> perf_tput, perf_p50, gen_tput, gen_p50;
    for (int round = 0; round < o.rounds; ++round) {
      auto p = RunPerf(o, url, concurrency, (dir / "perf.json").string(), "");
      auto g = RunGenerator(port, concurrency, 3 * o.window_ms / 1000);
      if (!p || !g) {
        fmt::print(stderr, "round {} at concurrency {} failed ({})\n", round, concurrency,
                   !p ? "inferd-perf" : "the generator");
        code = 1;
        continue;
      }
      perf_tput.push_back(p->throughput);
      perf_p50.push_back(p->p50_us);
      gen_tput.push_back(g->throughput);
      gen_p50.push_back(g->p50_us);
    }
    const double pt = Median(perf_tput), pp = Median(perf_p50);
    const double gt = Median(gen_tput), gp = Median(gen_p50);
    fmt::print("concurrency {}: inferd-perf {:.0f} infer/s p50 {:.0f} us | generator {:.0f} "
               "infer/s p50 {:.0f} us | throughput ratio {:.3f}, p50 ratio {:.3f} (goal: within "
               "5%)\n",
               concurrency, pt, pp, gt, gp, gt > 0 ? pt / gt : 0, gp > 0 ? pp / gp : 0);
  }
  auto ceiling = RunPerf(o, "ipc://" + socket_path, 8, (dir / "ipc.json").string(), url, true);
  if (ceiling) {
    fmt::print("inferd-perf's ceiling: identity 16 B over ipc:// at concurrency 8 (--async): {:.0f} "
               "infer/s, p50 {:.0f} us\n",
               ceiling->throughput, ceiling->p50_us);
  } else {
    fmt::print(stderr, "the ipc:// ceiling run failed\n");
    code = 1;
  }
  inferd->Stop();
  fs::remove_all(dir);
  return code;
}

}  // namespace inferd::bench
