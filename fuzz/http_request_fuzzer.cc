// SPDX-License-Identifier: Apache-2.0
// The HTTP request path from raw bytes, without sockets: the bytes a client would send on one
// keep-alive connection (one or more requests: headers, Content-Length or chunked bodies, gzip or
// deflate bodies, JSON infer requests with Triton's binary extension) are parsed by Beast's
// parser with the session's limits, turned into HttpRequest by the session's own MakeHttpRequest,
// and handled by HttpApi against a server hosting built-in models (fuzz_server.h), which runs the
// models. Every response is encoded as the session would send it.
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/http.hpp>
#include <cstddef>
#include <cstdint>
#include <future>
#include <limits>
#include <optional>

#include "fuzz/sink.h"
#include "codec/buffer_pool.h"
#include "fuzz/fuzz_server.h"
#include "transport/http/beast_bodies.h"
#include "transport/http/beast_request.h"
#include "transport/http/http_api.h"

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using inferd::HttpApi;
using inferd::HttpResponse;
using inferd::http_detail::RequestBody;

// The session's header limit; a body limit small enough that a fuzzer's claims cannot exhaust
// its memory but large enough for every seed.
constexpr size_t kHeaderLimit = 64 * 1024;
constexpr size_t kMaxBody = 1 << 20;
constexpr int kMaxRequests = 4;

const HttpApi& Api() {
  // Outputs in pooled blocks, as the server's are. Never destroyed: instance threads may run.
  static const auto* pool =
      new std::shared_ptr<inferd::BufferPool>(inferd::BufferPool::Create(size_t{1} << 20));
  static const HttpApi* api =
      new HttpApi(&inferd::fuzz::Server(), (*pool)->output_allocator(), nullptr, kMaxBody);
  return *api;
}

// Touches every byte of the response as the gather write would send it.
void Consume(const HttpResponse& response) {
  uint8_t sum = 0;
  for (char c : response.json) sum ^= static_cast<uint8_t>(c);
  for (const auto& chunk : response.binary) {
    for (std::byte b : chunk) sum ^= static_cast<uint8_t>(b);
  }
  inferd::fuzz::Sink(sum);
}

// Parses one request from the front of `bytes` and handles it. Returns the bytes it consumed,
// or nullopt when the connection would close (parse error, truncated input).
std::optional<size_t> HandleOne(const uint8_t* data, size_t size) {
  http::request_parser<RequestBody> parser;
  parser.header_limit(kHeaderLimit);
  parser.body_limit(kMaxBody);
  parser.eager(false);
  beast::error_code ec;
  size_t used = 0;
  // The header first, as the session reads it, so that the body block is placed as it would be.
  while (!ec && !parser.is_header_done() && used < size) {
    used += parser.put(boost::asio::buffer(data + used, size - used), ec);
  }
  if (ec || !parser.is_header_done()) return std::nullopt;
  inferd::http_detail::AlignBodyForBinaryData(parser.get());
  parser.eager(true);
  while (!ec && !parser.is_done() && used < size) {
    used += parser.put(boost::asio::buffer(data + used, size - used), ec);
  }
  if (ec == http::error::need_more || (!ec && !parser.is_done())) {
    parser.put_eof(ec);  // The connection ended here.
  }
  if (ec || !parser.is_done()) return std::nullopt;
  auto& message = parser.get();
  RequestBody::value_type& body = message.body();
  const std::byte* body_data = body.data;
  const size_t body_size = body.size;
  inferd::HttpRequest request = inferd::http_detail::MakeHttpRequest(
      message, std::move(body.storage), body_data, body_size);
  std::promise<HttpResponse> done;
  Api().Handle(std::move(request), [&done](HttpResponse r) { done.set_value(std::move(r)); });
  HttpResponse response = done.get_future().get();
  Consume(response);
  if (!message.keep_alive()) return std::nullopt;
  return used;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  size_t offset = 0;
  for (int i = 0; i < kMaxRequests && offset < size; ++i) {
    std::optional<size_t> used = HandleOne(data + offset, size - offset);
    if (!used || *used == 0) break;
    offset += *used;
  }
  return 0;
}
