// SPDX-License-Identifier: Apache-2.0
// Beast body types of the HTTP transport (private to src/transport/http/).
//
// RequestBody: the request body in one shared heap block, so tensors sent as binary data can be
// handed to the backend as views, kept alive by the block. The block is placed so that the byte
// after the JSON header (Inference-Header-Content-Length) is 64-byte aligned: the first binary
// input starts aligned.

#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/optional.hpp>

#include "codec/gather_body.h"

namespace inferd::http_detail {

struct RequestBody {
  struct value_type {
    std::shared_ptr<std::byte[]> storage;
    std::byte* data = nullptr;
    size_t size = 0;
    size_t capacity = 0;
    size_t align_after = 0;  // Bytes before the point that should be 64-byte aligned.
  };

  class reader {
   public:
    template <bool isRequest, class Fields>
    reader(boost::beast::http::header<isRequest, Fields>&, value_type& body) : body_(body) {}

    void init(const boost::optional<std::uint64_t>& length, boost::beast::error_code& ec) {
      Reserve(length ? static_cast<size_t>(*length) : size_t{16384});
      ec = {};
    }

    template <class ConstBufferSequence>
    std::size_t put(const ConstBufferSequence& buffers, boost::beast::error_code& ec) {
      const size_t n = boost::asio::buffer_size(buffers);
      if (body_.size + n > body_.capacity) Reserve(std::max(body_.capacity * 2, body_.size + n));
      body_.size += boost::asio::buffer_copy(boost::asio::buffer(body_.data + body_.size, n),
                                             buffers);
      ec = {};
      return n;
    }

    void finish(boost::beast::error_code& ec) { ec = {}; }

   private:
    void Reserve(size_t capacity) {
      std::shared_ptr<std::byte[]> storage(new std::byte[capacity + 64]);
      const auto base = reinterpret_cast<uintptr_t>(storage.get());
      const size_t pad = (64 - (base + body_.align_after) % 64) % 64;
      std::byte* data = storage.get() + pad;
      if (body_.size > 0) std::memcpy(data, body_.data, body_.size);
      body_.storage = std::move(storage);
      body_.data = data;
      body_.capacity = capacity;
    }

    value_type& body_;
  };
};

// Responses are written with codec::GatherBody (src/codec/gather_body.h), which the http://
// client's requests use too.
using GatherBody = codec::GatherBody;

}  // namespace inferd::http_detail
