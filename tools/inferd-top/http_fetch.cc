// SPDX-License-Identifier: Apache-2.0
#include "http_fetch.h"

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fmt/format.h"

namespace inferd::top {
namespace {

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

absl::StatusOr<std::string> ResponseBody(const std::string& response) {
  const size_t header_end = response.find("\r\n\r\n");
  if (response.rfind("HTTP/1.", 0) != 0 || header_end == std::string::npos) {
    return absl::DataLossError("the answer is not an HTTP/1.1 response");
  }
  const std::string headers = Lower(response.substr(0, header_end));
  std::string body = response.substr(header_end + 4);
  if (headers.find("transfer-encoding: chunked") != std::string::npos) {
    std::string decoded;
    size_t pos = 0;
    while (true) {
      const size_t eol = body.find("\r\n", pos);
      if (eol == std::string::npos) return absl::DataLossError("truncated chunked body");
      const size_t size = std::strtoul(body.substr(pos, eol - pos).c_str(), nullptr, 16);
      if (size == 0) break;
      if (eol + 2 + size > body.size()) return absl::DataLossError("truncated chunked body");
      decoded.append(body, eol + 2, size);
      pos = eol + 2 + size + 2;
    }
    body = std::move(decoded);
  } else if (size_t at = headers.find("content-length:"); at != std::string::npos) {
    const size_t length = std::strtoul(headers.c_str() + at + 15, nullptr, 10);
    if (body.size() < length) return absl::DataLossError("truncated body");
    body.resize(length);
  }
  const int status = std::atoi(response.c_str() + 9);
  if (status == 200) return body;
  const std::string what = fmt::format("HTTP {}: {}", status, body.substr(0, 200));
  return status == 404 ? absl::NotFoundError(what) : absl::UnknownError(what);
}

absl::StatusOr<std::string> HttpGet(const std::string& host, int port, const std::string& path,
                                    std::chrono::milliseconds timeout) {
  const std::string address = fmt::format("{}:{}", host, port);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found); rc != 0) {
    return absl::UnavailableError(fmt::format("cannot resolve {}: {}", host, gai_strerror(rc)));
  }
  int fd = -1;
  int error = 0;
  for (addrinfo* a = found; a != nullptr && fd < 0; a = a->ai_next) {
    fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
    if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      error = errno;
      close(fd);
      fd = -1;
    }
  }
  freeaddrinfo(found);
  if (fd < 0) {
    return absl::UnavailableError(
        fmt::format("cannot reach http://{}{}: {}", address, path, std::strerror(error)));
  }
  const std::string request = fmt::format(
      "GET {} HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nAccept: */*\r\n\r\n", path, address);
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    close(fd);
    return absl::UnavailableError(fmt::format("cannot send to {}", address));
  }
  std::string response;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buffer[16384];
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      close(fd);
      return absl::DeadlineExceededError(
          fmt::format("http://{}{} did not answer within {} ms", address, path, timeout.count()));
    }
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n < 0) {
      close(fd);
      return absl::UnavailableError(fmt::format("reading from {}: {}", address, strerror(errno)));
    }
    if (n == 0) break;
    response.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return ResponseBody(response);
}

}  // namespace inferd::top
