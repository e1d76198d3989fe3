// SPDX-License-Identifier: Apache-2.0
#include "transport/http/http_compression.h"

#include <optional>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "transport/http/test_util/zlib_reference.h"

namespace inferd::http_detail {
namespace {

using ::testing::HasSubstr;

std::span<const std::byte> Bytes(const std::string& s) { return std::as_bytes(std::span(s)); }

using testing::ZlibCompress;
using testing::ZlibDecompress;

std::string Json(size_t repeat) {
  std::string s = R"({"inputs":[)";
  for (size_t i = 0; i < repeat; ++i) s += R"({"name":"INPUT0","datatype":"FP32","shape":[4]},)";
  return s + "{}]}";
}

TEST(HttpCompression, ContentEncodingNames) {
  EXPECT_EQ(*ParseContentEncoding(""), ContentCoding::kIdentity);
  EXPECT_EQ(*ParseContentEncoding("identity"), ContentCoding::kIdentity);
  EXPECT_EQ(*ParseContentEncoding("GZIP"), ContentCoding::kGzip);
  EXPECT_EQ(*ParseContentEncoding(" deflate "), ContentCoding::kDeflate);
  auto br = ParseContentEncoding("br");
  EXPECT_EQ(br.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(std::string(br.status().message()), HasSubstr("'br'"));
  EXPECT_THAT(std::string(br.status().message()), HasSubstr("gzip, deflate or identity"));
}

TEST(HttpCompression, AcceptEncodingPicksGzipThenDeflateAndHonoursQZero) {
  EXPECT_EQ(ChooseResponseCoding(""), ContentCoding::kIdentity);
  EXPECT_EQ(ChooseResponseCoding("identity"), ContentCoding::kIdentity);
  EXPECT_EQ(ChooseResponseCoding("gzip"), ContentCoding::kGzip);
  EXPECT_EQ(ChooseResponseCoding("deflate, gzip;q=1.0"), ContentCoding::kGzip);
  EXPECT_EQ(ChooseResponseCoding("deflate"), ContentCoding::kDeflate);
  EXPECT_EQ(ChooseResponseCoding("gzip;q=0, deflate"), ContentCoding::kDeflate);
  EXPECT_EQ(ChooseResponseCoding("gzip; q=0.0"), ContentCoding::kIdentity);
  EXPECT_EQ(ChooseResponseCoding("*"), ContentCoding::kGzip);
  EXPECT_EQ(ChooseResponseCoding("br"), ContentCoding::kIdentity);
}

TEST(HttpCompression, DecompressesWhatZlibCompressed) {
  const std::string body = Json(500);
  auto gz = Decompress(ContentCoding::kGzip, Bytes(ZlibCompress(body, 15 + 16)), 1 << 20);
  ASSERT_TRUE(gz.ok()) << gz.status();
  EXPECT_EQ(*gz, body);
  auto zl = Decompress(ContentCoding::kDeflate, Bytes(ZlibCompress(body, 15)), 1 << 20);
  ASSERT_TRUE(zl.ok()) << zl.status();
  EXPECT_EQ(*zl, body);
}

TEST(HttpCompression, CompressRoundTripsThroughZlibInflate) {
  const std::string a = Json(300);
  const std::string b(100000, '\x07');
  for (ContentCoding coding : {ContentCoding::kGzip, ContentCoding::kDeflate}) {
    const std::string packed = Compress(coding, {Bytes(a), Bytes(b)});
    EXPECT_LT(packed.size(), a.size() + b.size());
    // Read back by zlib itself, as another project's client would, and by our own Decompress.
    const std::optional<std::string> inflated =
        ZlibDecompress(packed, coding == ContentCoding::kGzip ? 15 + 16 : 15);
    ASSERT_TRUE(inflated.has_value());
    EXPECT_EQ(*inflated, a + b);
    auto back = Decompress(coding, Bytes(packed), 1 << 20);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(*back, a + b);
  }
  // Empty bodies are valid streams too.
  auto empty = Decompress(ContentCoding::kGzip, Bytes(Compress(ContentCoding::kGzip, {})), 10);
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(*empty, "");
}

TEST(HttpCompression, CorruptTruncatedOrTrailingDataIsInvalidArgument) {
  const std::string packed = ZlibCompress(Json(50), 15 + 16);
  auto garbage = Decompress(ContentCoding::kGzip, Bytes(std::string("not gzip at all")), 1 << 20);
  EXPECT_EQ(garbage.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(garbage.status().message()), HasSubstr("not valid gzip data"));
  auto truncated = Decompress(ContentCoding::kGzip, Bytes(packed.substr(0, packed.size() / 2)),
                              1 << 20);
  EXPECT_EQ(truncated.status().code(), absl::StatusCode::kInvalidArgument);
  auto trailing = Decompress(ContentCoding::kGzip, Bytes(packed + "xyz"), 1 << 20);
  EXPECT_EQ(trailing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(trailing.status().message()), HasSubstr("3 bytes after the end"));
  // gzip data announced as deflate (zlib format) is refused, not misread.
  EXPECT_EQ(Decompress(ContentCoding::kDeflate, Bytes(packed), 1 << 20).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(HttpCompression, OutputBeyondTheLimitIsResourceExhausted) {
  const std::string body(100000, 'a');  // Compresses to a few hundred bytes.
  const std::string packed = ZlibCompress(body, 15 + 16);
  auto exact = Decompress(ContentCoding::kGzip, Bytes(packed), body.size());
  ASSERT_TRUE(exact.ok()) << exact.status();
  EXPECT_EQ(exact->size(), body.size());
  auto over = Decompress(ContentCoding::kGzip, Bytes(packed), body.size() - 1);
  EXPECT_EQ(over.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(over.status().message()), HasSubstr("99999 bytes"));
}

}  // namespace
}  // namespace inferd::http_detail
