// SPDX-License-Identifier: Apache-2.0
// From a request parsed by Beast to HttpApi's plain HttpRequest (private to src/transport/http/
// and fuzz/): the one conversion that the HTTP session and the HTTP fuzz target share, so the
// fuzzer exercises the exact path a socket's bytes take.
#pragma once

#include <boost/beast/http.hpp>
#include <charconv>
#include <cstddef>
#include <memory>
#include <string>

#include "transport/http/http_api.h"

namespace inferd::http_detail {

inline constexpr const char* kHeaderLengthField = "Inference-Header-Content-Length";

// Once the header is parsed, before the body is read: places the body so that the binary part
// after the JSON header (Inference-Header-Content-Length, when a number) starts 64-byte aligned.
template <class Header>
void AlignBodyForBinaryData(Header& header) {
  if (auto it = header.find(kHeaderLengthField); it != header.end()) {
    size_t n = 0;
    const auto v = it->value();
    if (std::from_chars(v.data(), v.data() + v.size(), n).ec == std::errc()) {
      header.body().align_after = n;
    }
  }
}

// The HttpApi request of a parsed header and its body (`owner` keeps `data` alive).
template <class Header>
HttpRequest MakeHttpRequest(const Header& header, std::shared_ptr<const void> owner,
                            const std::byte* data, size_t size) {
  namespace http = boost::beast::http;
  HttpRequest request;
  request.method = std::string(header.method_string());
  request.target = std::string(header.target());
  if (auto it = header.find(kHeaderLengthField); it != header.end()) {
    request.inference_header_length = std::string(it->value());
  }
  request.body = data;
  request.body_size = size;
  request.body_owner = std::move(owner);
  if (auto it = header.find(http::field::content_encoding); it != header.end()) {
    request.content_encoding = std::string(it->value());
  }
  if (auto it = header.find(http::field::accept_encoding); it != header.end()) {
    request.accept_encoding = std::string(it->value());
  }
  if (auto it = header.find(http::field::content_type); it != header.end()) {
    request.content_type = std::string(it->value());
  }
  if (auto it = header.find(http::field::accept); it != header.end()) {
    request.accept = std::string(it->value());
  }
  return request;
}

}  // namespace inferd::http_detail
