// SPDX-License-Identifier: Apache-2.0
// Helpers of the HTTP end-to-end tests: a raw HTTP/1.1 client on plain POSIX sockets (so the tests
// check the bytes on the wire, not Beast's or our client's view of them), and a suite-wide inferd
// serving a generated repository: identity_<DATATYPE> for each of the 14 datatypes, add_sub,
// identity, and `spare` (in the repository, not loaded).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "test_util/server_process.h"

namespace inferd::http_test {

inline const std::vector<std::string>& AllDatatypes() {
  static const std::vector<std::string> types = {"BOOL",  "UINT8", "UINT16", "UINT32", "UINT64",
                                                 "INT8",  "INT16", "INT32",  "INT64",  "FP16",
                                                 "FP32",  "FP64",  "BYTES",  "BF16"};
  return types;
}

inline std::string ConfigTypeOf(const std::string& type) {
  return type == "BYTES" ? "TYPE_STRING" : "TYPE_" + type;
}

struct RawResponse {
  int status = 0;
  std::map<std::string, std::string> headers;  // Lower-case names.
  std::string body;
  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

// One TCP connection to 127.0.0.1:port speaking raw HTTP/1.1.
class RawConnection {
 public:
  // receive_buffer > 0: SO_RCVBUF, set before connecting (a client that reads slowly).
  explicit RawConnection(int port, int receive_buffer = 0) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    if (receive_buffer > 0) {
      setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof(receive_buffer));
    }
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
      close(fd_);
      fd_ = -1;
    }
    int one = 1;
    if (fd_ >= 0) setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  }
  ~RawConnection() {
    if (fd_ >= 0) close(fd_);
  }
  bool connected() const { return fd_ >= 0; }

  bool Send(std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return true;
  }
  void ShutdownWrite() { shutdown(fd_, SHUT_WR); }

  // Reads one response (Content-Length framed); nullopt on timeout or a closed connection.
  std::optional<RawResponse> Read(std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    size_t header_end;
    while ((header_end = pending_.find("\r\n\r\n")) == std::string::npos) {
      if (!Fill(deadline)) return std::nullopt;
    }
    RawResponse r;
    const std::string head = pending_.substr(0, header_end);
    size_t line_end = head.find("\r\n");
    const std::string status_line = head.substr(0, line_end);
    if (status_line.size() < 12 || status_line.rfind("HTTP/1.", 0) != 0) return std::nullopt;
    r.status = std::stoi(status_line.substr(9, 3));
    while (line_end != std::string::npos && line_end < head.size()) {
      const size_t start = line_end + 2;
      line_end = head.find("\r\n", start);
      const std::string line = head.substr(start, line_end == std::string::npos
                                                      ? std::string::npos
                                                      : line_end - start);
      const size_t colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string name = line.substr(0, colon);
      std::transform(name.begin(), name.end(), name.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(' '));
      r.headers[name] = value;
    }
    const size_t length = std::stoul(r.Header("content-length").empty()
                                         ? std::string("0")
                                         : r.Header("content-length"));
    const size_t body_start = header_end + 4;
    while (pending_.size() < body_start + length) {
      if (!Fill(deadline)) return std::nullopt;
    }
    r.body = pending_.substr(body_start, length);
    pending_.erase(0, body_start + length);
    return r;
  }

  // Reads and discards until the server closes the connection; the bytes read (SIZE_MAX when it
  // is still open after `timeout`).
  size_t ReadUntilClosed(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    size_t total = pending_.size();
    pending_.clear();
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      char b[65536];
      const ssize_t n = recv(fd_, b, sizeof(b), 0);
      if (n <= 0) return total;
      total += static_cast<size_t>(n);
    }
    return SIZE_MAX;
  }

  // Whether the server closed the connection (reads EOF) within `timeout`.
  bool ClosedByPeer(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      char b[4096];
      const ssize_t n = recv(fd_, b, sizeof(b), 0);
      if (n <= 0) return true;
    }
    return false;
  }

 private:
  bool Fill(std::chrono::steady_clock::time_point deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char b[65536];
    const ssize_t n = recv(fd_, b, sizeof(b), 0);
    if (n <= 0) return false;
    pending_.append(b, static_cast<size_t>(n));
    return true;
  }

  int fd_ = -1;
  std::string pending_;
};

inline std::string RequestBytes(const std::string& method, const std::string& target,
                                const std::string& body = "",
                                const std::vector<std::string>& headers = {}) {
  std::string r = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& h : headers) r += h + "\r\n";
  if (!body.empty() || method == "POST") r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  r += "\r\n";
  return r + body;
}

// One request on a fresh connection.
inline RawResponse Http(int port, const std::string& method, const std::string& target,
                        const std::string& body = "",
                        const std::vector<std::string>& headers = {}) {
  RawConnection c(port);
  if (!c.connected() || !c.Send(RequestBytes(method, target, body, headers))) return {};
  return c.Read().value_or(RawResponse{});
}

// A binary-extension infer body: the JSON header, then the bytes; the header length to send.
struct BinaryBody {
  std::string body;
  size_t header_length = 0;
};
inline BinaryBody MakeBinaryBody(const std::string& json, const std::string& bytes) {
  return {json + bytes, json.size()};
}
inline RawResponse BinaryInfer(int port, const std::string& model, const BinaryBody& b) {
  return Http(port, "POST", "/v2/models/" + model + "/infer", b.body,
              {"Inference-Header-Content-Length: " + std::to_string(b.header_length),
               "Content-Type: application/octet-stream"});
}


// The port in "HTTP server listening on <address>:<port>"; 0 when there is none.
inline int ListeningPort(const std::string& output) {
  const std::string marker = "HTTP server listening on ";
  const size_t at = output.find(marker);
  if (at == std::string::npos) return 0;
  const size_t end = output.find_first_of("\r\n", at);
  const std::string line = output.substr(at, end == std::string::npos ? end : end - at);
  const size_t colon = line.rfind(':');
  return colon == std::string::npos ? 0 : std::atoi(line.c_str() + colon + 1);
}

// The suite's server: started once, on free ports, with a generated repository.
class HttpServerFixture {
 public:
  static HttpServerFixture& Get() {
    static HttpServerFixture fixture;  // Destroyed at exit: the server is killed.
    return fixture;
  }
  ~HttpServerFixture() {
    server_.reset();
    std::error_code ec;
    std::filesystem::remove_all(repo_, ec);
  }
  int port() const { return port_; }
  const std::string& error() const { return error_; }
  bool ok() const { return port_ > 0; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::string& repository() const { return repo_; }

 private:
  HttpServerFixture() {
    namespace fs = std::filesystem;
    repo_ = (fs::temp_directory_path() / ("inferd_http_e2e_" + std::to_string(getpid()))).string();
    fs::remove_all(repo_);
    std::vector<std::string> load = {"--model-control-mode=explicit"};
    for (const std::string& type : AllDatatypes()) {
      std::string lower = type;
      std::transform(lower.begin(), lower.end(), lower.begin(),
                     [](unsigned char c) { return std::tolower(c); });
      const std::string name = "identity_" + lower;
      Write(name, "backend: \"builtin\"\nmax_batch_size: 0\n"
                  "parameters { key: \"builtin_model\" value { string_value: \"identity\" } }\n"
                  "input { name: \"INPUT0\" data_type: " + ConfigTypeOf(type) + " dims: [ -1 ] }\n"
                  "output { name: \"OUTPUT0\" data_type: " + ConfigTypeOf(type) + " dims: [ -1 ] }\n");
      load.push_back("--load-model=" + name);
    }
    Write("add_sub", "backend: \"builtin\"\nmax_batch_size: 8\n"
                     "input [ { name: \"INPUT0\" data_type: TYPE_INT32 dims: [ 16 ] },\n"
                     "        { name: \"INPUT1\" data_type: TYPE_INT32 dims: [ 16 ] } ]\n"
                     "output [ { name: \"OUTPUT0\" data_type: TYPE_INT32 dims: [ 16 ] },\n"
                     "         { name: \"OUTPUT1\" data_type: TYPE_INT32 dims: [ 16 ] } ]\n");
    load.push_back("--load-model=add_sub");
    Write("identity", "backend: \"builtin\"\nmax_batch_size: 0\n"
                      "input { name: \"INPUT0\" data_type: TYPE_FP32 dims: [ -1 ] }\n"
                      "output { name: \"OUTPUT0\" data_type: TYPE_FP32 dims: [ -1 ] }\n"
                      "instance_group [ { count: 2 kind: KIND_CPU } ]\n");
    load.push_back("--load-model=identity");
    Write("spare", "backend: \"builtin\"\nmax_batch_size: 0\n"
                   "parameters { key: \"builtin_model\" value { string_value: \"identity\" } }\n"
                   "input { name: \"INPUT0\" data_type: TYPE_FP32 dims: [ -1 ] }\n"
                   "output { name: \"OUTPUT0\" data_type: TYPE_FP32 dims: [ -1 ] }\n");
    std::vector<std::string> args = {"--model-repository=" + repo_, "--http-port=0",
                                     "--http-address=127.0.0.1", "--allow-grpc=false",
                                     "--allow-metrics=false", "--http-thread-count=4"};
    args.insert(args.end(), load.begin(), load.end());
    server_ = std::make_unique<testing::ServerProcess>(testing::InferdBinary(), args);
    if (!server_->WaitForOutput("inferd ready", std::chrono::seconds(60))) {
      error_ = "inferd did not start:\n" + server_->output();
      return;
    }
    port_ = ListeningPort(server_->output());
    if (port_ <= 0) error_ = "no HTTP listening line:\n" + server_->output();
  }

  void Write(const std::string& model, const std::string& config) {
    namespace fs = std::filesystem;
    fs::create_directories(fs::path(repo_) / model / "1");
    std::ofstream(fs::path(repo_) / model / "config.pbtxt") << config;
  }

  std::string repo_;
  std::unique_ptr<testing::ServerProcess> server_;
  int port_ = 0;
  std::string error_;
};

}  // namespace inferd::http_test
