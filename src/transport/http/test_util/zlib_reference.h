// SPDX-License-Identifier: Apache-2.0
// zlib called directly (not inferd's http_compression): window_bits 15 + 16 is gzip, 15 the zlib
// format that HTTP calls deflate. What another project's client would send, and how it would read
// our answers. For the HTTP unit and end-to-end tests.
#pragma once

#include <gtest/gtest.h>
#include <zlib.h>

#include <optional>
#include <string>

namespace inferd::testing {

inline std::string ZlibCompress(const std::string& in, int window_bits) {
  z_stream z{};
  deflateInit2(&z, 6, Z_DEFLATED, window_bits, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, in.size()) + 32, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(out.size() - z.avail_out);
  deflateEnd(&z);
  return out;
}

// The inflated bytes; nullopt when `in` is not one complete stream of that format.
inline std::optional<std::string> ZlibDecompress(const std::string& in, int window_bits) {
  z_stream z{};
  inflateInit2(&z, window_bits);
  std::string out;
  char chunk[65536];
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = static_cast<uInt>(in.size());
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<Bytef*>(chunk);
    z.avail_out = sizeof(chunk);
    rc = inflate(&z, Z_NO_FLUSH);
    out.append(chunk, sizeof(chunk) - z.avail_out);
  }
  inflateEnd(&z);
  if (rc != Z_STREAM_END) return std::nullopt;
  return out;
}

}  // namespace inferd::testing
