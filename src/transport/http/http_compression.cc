// SPDX-License-Identifier: Apache-2.0
#include "transport/http/http_compression.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "absl/cleanup/cleanup.h"
#include "core/client_text.h"
#include "fmt/format.h"

namespace inferd::http_detail {
namespace {

// zlib's window bits: 15, plus 16 for the gzip wrapper.
int WindowBits(ContentCoding coding) { return coding == ContentCoding::kGzip ? 15 + 16 : 15; }

// (absl's ASCII helpers take absl::string_view, which Debian's build keeps apart from std's.)
std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string_view CodingName(ContentCoding coding) {
  switch (coding) {
    case ContentCoding::kGzip: return "gzip";
    case ContentCoding::kDeflate: return "deflate";
    case ContentCoding::kIdentity: break;
  }
  return "identity";
}

absl::StatusOr<ContentCoding> ParseContentEncoding(std::string_view value) {
  const std::string coding = Lower(Trim(value));
  if (coding.empty() || coding == "identity") return ContentCoding::kIdentity;
  if (coding == "gzip" || coding == "x-gzip") return ContentCoding::kGzip;
  if (coding == "deflate") return ContentCoding::kDeflate;
  return absl::UnimplementedError(
      fmt::format("unsupported Content-Encoding {}: inferd accepts gzip, deflate or identity",
                  QuoteClientText(value)));
}

ContentCoding ChooseResponseCoding(std::string_view accept_encoding) {
  bool gzip = false;
  bool deflate = false;
  std::string_view rest = accept_encoding;
  while (!rest.empty()) {
    const size_t comma = rest.find(',');
    std::string_view item = rest.substr(0, comma);
    rest = comma == std::string_view::npos ? std::string_view() : rest.substr(comma + 1);
    std::string_view name = item;
    double q = 1.0;
    if (const size_t semi = item.find(';'); semi != std::string_view::npos) {
      name = item.substr(0, semi);
      const std::string params = Lower(item.substr(semi + 1));
      if (const size_t at = params.find("q="); at != std::string::npos) {
        q = std::strtod(params.c_str() + at + 2, nullptr);
      }
    }
    if (q <= 0) continue;
    const std::string coding = Lower(Trim(name));
    if (coding == "gzip" || coding == "x-gzip" || coding == "*") gzip = true;
    if (coding == "deflate") deflate = true;
  }
  if (gzip) return ContentCoding::kGzip;
  if (deflate) return ContentCoding::kDeflate;
  return ContentCoding::kIdentity;
}

absl::StatusOr<std::string> Decompress(ContentCoding coding, std::span<const std::byte> data,
                                       size_t max_bytes) {
  z_stream z{};
  if (inflateInit2(&z, WindowBits(coding)) != Z_OK) {
    return absl::InternalError("cannot start zlib's inflate");
  }
  absl::Cleanup end = [&z] { inflateEnd(&z); };
  z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  std::string out;
  out.resize(std::min<size_t>(max_bytes, std::max<size_t>(data.size() * 4, 4096)));
  size_t produced = 0;
  while (true) {
    if (produced == out.size()) {
      if (out.size() >= max_bytes) {
        // Full at the limit: the body fits only if the stream ends here.
        unsigned char probe = 0;
        z.next_out = &probe;
        z.avail_out = 1;
        if (inflate(&z, Z_NO_FLUSH) == Z_STREAM_END && z.avail_out == 1) break;
        return absl::ResourceExhaustedError(fmt::format(
            "the {}-compressed request body expands beyond the maximum of {} bytes "
            "(--http-max-input-size)",
            CodingName(coding), max_bytes));
      }
      out.resize(std::min(max_bytes, out.size() * 2));
    }
    z.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    z.avail_out = static_cast<uInt>(out.size() - produced);
    const int rc = inflate(&z, Z_NO_FLUSH);
    produced = out.size() - z.avail_out;
    if (rc == Z_STREAM_END) break;
    if (rc == Z_OK || (rc == Z_BUF_ERROR && z.avail_out == 0)) continue;
    return absl::InvalidArgumentError(fmt::format(
        "the request body is not valid {} data (Content-Encoding: {}): {}", CodingName(coding),
        CodingName(coding), z.msg != nullptr ? z.msg : "the data ends before the stream does"));
  }
  if (z.avail_in != 0) {
    return absl::InvalidArgumentError(fmt::format(
        "the request body has {} bytes after the end of its {} stream", z.avail_in,
        CodingName(coding)));
  }
  out.resize(produced);
  return out;
}

std::string Compress(ContentCoding coding, const std::vector<std::span<const std::byte>>& pieces) {
  size_t total = 0;
  for (const auto& p : pieces) total += p.size();
  z_stream z{};
  deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, WindowBits(coding), 8, Z_DEFAULT_STRATEGY);
  std::string out;
  out.resize(deflateBound(&z, static_cast<uLong>(total)) + 64);
  size_t produced = 0;
  auto run = [&](int flush) {
    // Until zlib has taken all input (and, finishing, written the end of the stream).
    while (true) {
      if (produced == out.size()) out.resize(out.size() * 2);
      z.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
      z.avail_out = static_cast<uInt>(out.size() - produced);
      const int rc = deflate(&z, flush);
      produced = out.size() - z.avail_out;
      if (rc == Z_STREAM_ERROR) return;  // Cannot happen with a stream set up as above.
      if (flush == Z_FINISH ? rc == Z_STREAM_END : z.avail_in == 0) return;
    }
  };
  for (const auto& p : pieces) {
    z.next_in = reinterpret_cast<Bytef*>(const_cast<std::byte*>(p.data()));
    z.avail_in = static_cast<uInt>(p.size());
    run(Z_NO_FLUSH);
  }
  z.avail_in = 0;
  run(Z_FINISH);
  deflateEnd(&z);
  out.resize(produced);
  return out;
}

}  // namespace inferd::http_detail
