// SPDX-License-Identifier: Apache-2.0
// A minimal HTTP/1.1 GET over a TCP socket, enough for inferd-top to read /metrics and the
// statistics API of a local or remote inferd.
#pragma once

#include <chrono>
#include <string>

#include "absl/status/statusor.h"

namespace inferd::top {

// The body of GET http://host:port/path. UNAVAILABLE naming the address when it cannot connect
// or the connection breaks; the HTTP status and its body for a non-200 answer (NOT_FOUND for 404,
// UNKNOWN otherwise); DEADLINE_EXCEEDED after `timeout`.
absl::StatusOr<std::string> HttpGet(const std::string& host, int port, const std::string& path,
                                    std::chrono::milliseconds timeout);

// The body of an HTTP/1.1 response (headers, then a Content-Length or chunked body).
absl::StatusOr<std::string> ResponseBody(const std::string& response);

}  // namespace inferd::top
