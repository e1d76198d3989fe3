// SPDX-License-Identifier: Apache-2.0
#include "codec/npy.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

namespace inferd::codec {
namespace {

using ::testing::HasSubstr;

// A .npy file as NumPy writes it: `major`.0, the dict padded to a multiple of 64, then `data`.
std::string Npy(std::string_view dict, std::string_view data, int major = 1) {
  const size_t length_size = major == 1 ? 2 : 4;
  const size_t prefix = 8 + length_size;
  const size_t total = (prefix + dict.size() + 1 + 63) / 64 * 64;
  std::string out("\x93NUMPY", 6);
  out.push_back(static_cast<char>(major));
  out.push_back('\0');
  const size_t header = total - prefix;
  for (size_t i = 0; i < length_size; ++i)
    out.push_back(static_cast<char>((header >> (8 * i)) & 0xff));
  out += dict;
  out.append(total - out.size() - 1, ' ');
  out.push_back('\n');
  out += data;
  return out;
}

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

template <typename T>
std::string Raw(std::initializer_list<T> values) {
  std::string s(values.size() * sizeof(T), '\0');
  std::memcpy(s.data(), std::data(values), s.size());
  return s;
}

TEST(NpyTest, LittleEndianCOrderIsAViewIntoTheBody) {
  const std::string file = Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }",
                               Raw<float>({1, 2, 3, 4, 5, 6}));
  AlignedBody body(file);
  auto in = DecodeNpy(body.span(), body.storage);
  ASSERT_TRUE(in.ok()) << in.status();
  EXPECT_EQ(in->datatype, DataType::kFp32);
  EXPECT_EQ(in->shape, (Shape{2, 3}));
  EXPECT_EQ(in->data, body.data + 128);  // No copy: the data where NumPy put it.
  EXPECT_EQ(in->byte_size, 24u);
  EXPECT_EQ(in->owner, body.storage);
}

TEST(NpyTest, FormatVersions2And3AndKeyOrderAndPython2Integers) {
  for (int major : {2, 3}) {
    const std::string file = Npy("{'shape': (3L,), 'fortran_order': False, 'descr': '<i8'}",
                                 Raw<int64_t>({7, 8, 9}), major);
    AlignedBody body(file);
    auto in = DecodeNpy(body.span(), body.storage);
    ASSERT_TRUE(in.ok()) << in.status();
    EXPECT_EQ(in->datatype, DataType::kInt64);
    EXPECT_EQ(in->shape, (Shape{3}));
    EXPECT_EQ(in->view().As<int64_t>()[2], 9);
  }
}

TEST(NpyTest, BigEndianIsSwapped) {
  const std::string data("\x00\x01\x00\x02", 4);
  AlignedBody body(Npy("{'descr': '>u2', 'fortran_order': False, 'shape': (2,), }", data));
  auto in = DecodeNpy(body.span(), body.storage);
  ASSERT_TRUE(in.ok()) << in.status();
  EXPECT_EQ(in->datatype, DataType::kUint16);
  EXPECT_EQ(in->view().As<uint16_t>()[0], 1);
  EXPECT_EQ(in->view().As<uint16_t>()[1], 2);
  EXPECT_NE(in->data, body.data + 64);  // Swapped into a buffer of its own.
}

TEST(NpyTest, FortranOrderIsTransposedToCOrder) {
  // [[1,2,3],[4,5,6]] in Fortran order is 1,4,2,5,3,6.
  AlignedBody body(Npy("{'descr': '<i4', 'fortran_order': True, 'shape': (2, 3), }",
                       Raw<int32_t>({1, 4, 2, 5, 3, 6})));
  auto in = DecodeNpy(body.span(), body.storage);
  ASSERT_TRUE(in.ok()) << in.status();
  const auto v = in->view().As<int32_t>();
  EXPECT_EQ(std::vector<int32_t>(v.begin(), v.end()), (std::vector<int32_t>{1, 2, 3, 4, 5, 6}));
}

TEST(NpyTest, FixedWidthBytesBecomeBytesElements) {
  AlignedBody body(
      Npy("{'descr': '|S3', 'fortran_order': False, 'shape': (2,), }", std::string("ab\0xyz", 6)));
  auto in = DecodeNpy(body.span(), body.storage);
  ASSERT_TRUE(in.ok()) << in.status();
  EXPECT_EQ(in->datatype, DataType::kBytes);
  auto elements = ParseBytesTensor({in->data, in->byte_size}, 2);
  ASSERT_TRUE(elements.ok());
  EXPECT_EQ((*elements)[0], "ab");
  EXPECT_EQ((*elements)[1], "xyz");
}

TEST(NpyTest, EncodeRoundTripsAndPadsTo64) {
  const std::vector<double> values = {1.5, -2.5};
  const Shape shape = {2, 1};
  TensorView view{"OUT", DataType::kFp64, shape, reinterpret_cast<const std::byte*>(values.data()),
                  16};
  auto encoded = EncodeNpy(view);
  ASSERT_TRUE(encoded.ok()) << encoded.status();
  EXPECT_EQ(encoded->header.size() % 64, 0u);
  EXPECT_THAT(encoded->header, HasSubstr("'descr': '<f8'"));
  EXPECT_THAT(encoded->header, HasSubstr("'shape': (2, 1)"));
  EXPECT_EQ(encoded->data.data(), view.data);  // The output's bytes are sent as they are.
  std::string file = encoded->header;
  file.append(reinterpret_cast<const char*>(encoded->data.data()), encoded->data.size());
  AlignedBody body(file);
  auto in = DecodeNpy(body.span(), body.storage);
  ASSERT_TRUE(in.ok()) << in.status();
  EXPECT_EQ(in->shape, shape);
  EXPECT_EQ(in->view().As<double>()[1], -2.5);

  const std::string bytes = SerializeBytesTensor(std::vector<std::string>{"a", "hello"});
  const Shape one = {2};
  auto text = EncodeNpy(
      {"T", DataType::kBytes, one, reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()});
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_THAT(text->header, HasSubstr("'descr': '|S5'"));
  EXPECT_EQ(std::string_view(reinterpret_cast<const char*>(text->data.data()), 10),
            std::string_view("a\0\0\0\0hello", 10));

  const Shape scalar = {};
  EXPECT_THAT(EncodeNpy({"B", DataType::kBf16, scalar, nullptr, 2}).status().message(),
              HasSubstr("BF16, which has no NumPy dtype"));
}

TEST(NpyTest, BadInputsNameTheProblem) {
  struct Case {
    std::string body;
    std::string message;
  };
  const std::string ok =
      Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", Raw<float>({1, 2}));
  const std::vector<Case> cases = {
      {"not npy at all", "does not start with the magic"},
      {ok.substr(0, 9), "header is truncated"},
      {ok.substr(0, 40), "header is truncated: it declares 118 header bytes"},
      {ok.substr(0, ok.size() - 1), "declares shape (2,) of '<f4' (8 bytes of data) but 7 bytes"},
      {ok + "x", "but 9 bytes follow"},
      {std::string("\x93NUMPY\x04\x00", 8) + "xxxx", "version 4.0 is not supported"},
      {Npy("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", "12345678"),
       "dtype '<c8' (complex) has no KServe datatype"},
      {Npy("{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", "12345678"),
       "dtype '|O' (Python objects)"},
      {Npy("{'descr': '<U2', 'fortran_order': False, 'shape': (1,), }", "12345678"),
       "'<U2' (unicode"},
      {Npy("{'descr': [('a', '<i4')], 'fortran_order': False, 'shape': (1,), }", "1234"),
       "structured dtype"},
      {Npy("{'descr': '<f4', 'shape': (1,), }", "1234"), "lacks the key 'fortran_order'"},
      {Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }", "1234"),
       "not a non-negative integer"},
      {Npy("{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4), }", ""),
       "too large"},
  };
  for (const Case& c : cases) {
    AlignedBody body(c.body);
    auto in = DecodeNpy(body.span(), body.storage);
    ASSERT_FALSE(in.ok()) << c.message;
    EXPECT_EQ(in.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(in.status().message()), HasSubstr(c.message));
  }
}

}  // namespace
}  // namespace inferd::codec
