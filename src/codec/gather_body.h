// SPDX-License-Identifier: Apache-2.0
// A Beast body type for an HTTP message sent as a list of buffers: the JSON, then each binary
// tensor where it already lies, written with one gather write and no copy. The HTTP server writes
// its responses with it and the http:// client its requests. Also the read condition both use to
// take a large body straight off the socket.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/optional.hpp>

namespace inferd::codec {

// A completion condition for (async_)read of `total` bytes that lets each read take all the
// socket has (asio's transfer_all stops each read at 64 KiB, so a 600 KB body would cost ten
// reactor round trips).
inline auto ReadAllAvailable(std::size_t total) {
  return [total](const boost::beast::error_code& ec, std::size_t done) -> std::size_t {
    return ec ? 0 : total - done;
  };
}

struct GatherBody {
  struct value_type {
    std::string head;  // JSON (or the whole body).
    std::vector<boost::asio::const_buffer> tail;
    std::shared_ptr<const void> owner;  // Keeps `tail` alive (may be null).
  };

  static std::uint64_t size(const value_type& body) {
    std::uint64_t n = body.head.size();
    for (const auto& b : body.tail) n += b.size();
    return n;
  }

  class writer {
   public:
    using const_buffers_type = std::vector<boost::asio::const_buffer>;

    template <bool isRequest, class Fields>
    writer(const boost::beast::http::header<isRequest, Fields>&, const value_type& body)
        : body_(body) {}

    void init(boost::beast::error_code& ec) { ec = {}; }

    boost::optional<std::pair<const_buffers_type, bool>> get(boost::beast::error_code& ec) {
      ec = {};
      if (done_) return boost::none;
      done_ = true;
      const_buffers_type buffers;
      buffers.reserve(body_.tail.size() + 1);
      if (!body_.head.empty()) buffers.emplace_back(body_.head.data(), body_.head.size());
      buffers.insert(buffers.end(), body_.tail.begin(), body_.tail.end());
      if (buffers.empty()) return boost::none;
      return std::make_pair(std::move(buffers), false);
    }

   private:
    const value_type& body_;
    bool done_ = false;
  };
};

}  // namespace inferd::codec
