// SPDX-License-Identifier: Apache-2.0
#include "codec/arrow_ipc.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

namespace inferd::codec {
namespace {

using ::testing::HasSubstr;

// Bytes 64-byte aligned, as the HTTP server places a body.
struct AlignedBody {
  explicit AlignedBody(const std::string& s) : storage(new std::byte[s.size() + 64]) {
    const auto base = reinterpret_cast<uintptr_t>(storage.get());
    data = storage.get() + (64 - base % 64) % 64;
    std::memcpy(data, s.data(), s.size());
    size = s.size();
  }
  std::span<const std::byte> span() const { return {data, size}; }
  std::shared_ptr<std::byte[]> storage;
  std::byte* data;
  size_t size;
};

std::string Flatten(const EncodedArrowStream& e) {
  std::string s = e.head;
  for (auto chunk : e.body) s.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
  return s;
}

InferOutput Output(std::string name, DataType type, Shape shape, const void* data, size_t size) {
  InferOutput o;
  o.name = std::move(name);
  o.datatype = type;
  o.shape = std::move(shape);
  o.data = static_cast<const std::byte*>(data);
  o.byte_size = size;
  return o;
}

// A stream that does not start 8-aligned in memory (an HTTP body after a binary header of
// another length) decodes: its metadata is copied to aligned memory before it is read in place.
TEST(ArrowIpcTest, StreamNotStartingEightAlignedDecodes) {
  const std::vector<float> f = {1, 2, 3, 4, 5, 6};
  std::vector<InferOutput> outputs = {Output("F", DataType::kFp32, {2, 3}, f.data(), 24)};
  auto encoded = EncodeArrowStream(outputs, /*batched=*/true);
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  AlignedBody body(std::string(4, '\0') + Flatten(*encoded));
  const std::span<const std::byte> shifted = body.span().subspan(4);  // 4 mod 8.
  auto inputs = DecodeArrowStream(shifted, body.storage, /*batched=*/true);
  ASSERT_TRUE(inputs.ok()) << inputs.status();
  ASSERT_EQ(inputs->size(), 1u);
  EXPECT_EQ((*inputs)[0].shape, (Shape{2, 3}));
  ASSERT_EQ((*inputs)[0].byte_size, 24u);
  std::vector<float> got(6);
  std::memcpy(got.data(), (*inputs)[0].data, 24);
  EXPECT_EQ(got, f);
}

TEST(ArrowIpcTest, RoundTripsEveryKindOfColumnAndFixedValuesAreViews) {
  const std::vector<float> f = {1, 2, 3, 4, 5, 6};
  const std::vector<uint8_t> b = {1, 0, 1, 1, 0, 0};
  const std::string text = SerializeBytesTensor(std::vector<std::string>{"a", "", "xyz", "q"});
  std::vector<InferOutput> outputs = {
      Output("F", DataType::kFp32, {2, 3}, f.data(), 24),
      Output("B", DataType::kBool, {2, 3}, b.data(), 6),
      Output("T", DataType::kBytes, {2, 2}, text.data(), text.size())};
  auto encoded = EncodeArrowStream(outputs, /*batched=*/true);
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  AlignedBody body(Flatten(*encoded));
  auto inputs = DecodeArrowStream(body.span(), body.storage, /*batched=*/true);
  ASSERT_TRUE(inputs.ok()) << inputs.status();
  ASSERT_EQ(inputs->size(), 3u);
  EXPECT_EQ((*inputs)[0].name, "F");
  EXPECT_EQ((*inputs)[0].shape, (Shape{2, 3}));
  EXPECT_EQ((*inputs)[0].owner, body.storage);  // A view into the body: no copy.
  EXPECT_GE((*inputs)[0].data, body.data);
  EXPECT_LT((*inputs)[0].data, body.data + body.size);
  EXPECT_EQ(std::memcmp((*inputs)[0].data, f.data(), 24), 0);
  EXPECT_EQ((*inputs)[1].datatype, DataType::kBool);
  EXPECT_EQ(std::memcmp((*inputs)[1].data, b.data(), 6), 0);
  EXPECT_EQ((*inputs)[2].datatype, DataType::kBytes);
  EXPECT_EQ((*inputs)[2].shape, (Shape{2, 2}));
  EXPECT_EQ(std::string(reinterpret_cast<const char*>((*inputs)[2].data), (*inputs)[2].byte_size),
            text);

  // Not batched: one row holding the whole shape.
  auto one = EncodeArrowStream(std::span(outputs).first(1), /*batched=*/false);
  ASSERT_TRUE(one.ok());
  AlignedBody body1(Flatten(*one));
  auto single = DecodeArrowStream(body1.span(), body1.storage, /*batched=*/false);
  ASSERT_TRUE(single.ok()) << single.status();
  EXPECT_EQ((*single)[0].shape, (Shape{2, 3}));
  // Read as a batched model's: rows become the batch dimension.
  auto as_batched = DecodeArrowStream(body1.span(), body1.storage, /*batched=*/true);
  ASSERT_TRUE(as_batched.ok());
  EXPECT_EQ((*as_batched)[0].shape, (Shape{1, 2, 3}));
}

TEST(ArrowIpcTest, BadStreamsNameTheProblem) {
  const std::vector<int32_t> v = {1, 2};
  std::vector<InferOutput> outputs = {Output("X", DataType::kInt32, {1, 2}, v.data(), 8)};
  auto encoded = EncodeArrowStream(outputs, true);
  ASSERT_TRUE(encoded.ok());
  const std::string stream = Flatten(*encoded);
  // The schema message is the head up to the record batch's metadata: find the second marker.
  const size_t second = encoded->head.find("\xff\xff\xff\xff", 8);
  ASSERT_NE(second, std::string::npos);
  const std::string schema_only = encoded->head.substr(0, second);
  const std::string batch_only = stream.substr(second, stream.size() - 8 - second);
  const std::string eos("\xff\xff\xff\xff\0\0\0\0", 8);
  struct Case {
    std::string body;
    std::string message;
  };
  const std::vector<Case> cases = {
      {"", "does not start with a Schema"},
      {schema_only + eos, "has no record batch"},
      {schema_only + batch_only + batch_only + eos, "has 2 record batches"},
      {stream.substr(0, 20), "declares"},
      {schema_only + batch_only.substr(0, batch_only.size() - 8), "body declares"},
      {std::string("\xff\xff\xff\xff\x10\0\0\0", 8) + std::string(16, 'z'), "not a valid Arrow"},
  };
  for (const Case& c : cases) {
    AlignedBody body(c.body);
    auto in = DecodeArrowStream(body.span(), body.storage, true);
    ASSERT_FALSE(in.ok()) << c.message;
    EXPECT_THAT(std::string(in.status().message()), HasSubstr(c.message));
  }
  const uint16_t bf = 0;
  std::vector<InferOutput> bf16 = {Output("H", DataType::kBf16, {1}, &bf, 2)};
  EXPECT_THAT(EncodeArrowStream(bf16, false).status().message(), HasSubstr("BF16"));
}

}  // namespace
}  // namespace inferd::codec
