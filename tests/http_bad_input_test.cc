// SPDX-License-Identifier: Apache-2.0
// End-to-end: every bad HTTP input gets its status code and a message naming the problem, and the
// server keeps serving afterwards.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "http_test_util.h"
#include "transport/http/test_util/zlib_reference.h"

namespace inferd {
namespace {

using ::testing::HasSubstr;
using namespace http_test;
using testing::ZlibCompress;  // zlib itself, as another project's client would send and read.
using namespace std::chrono_literals;

std::string Ints(int n, int value = 1) {
  std::string out = "[";
  for (int i = 0; i < n; ++i) out += (i ? "," : "") + std::to_string(value);
  return out + "]";
}

std::string AddSubInput(const std::string& name, const std::string& datatype = "INT32",
                        const std::string& shape = "[1,16]", const std::string& data = Ints(16)) {
  return R"({"name":")" + name + R"(","datatype":")" + datatype + R"(","shape":)" + shape +
         R"(,"data":)" + data + "}";
}

class HttpBadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(HttpServerFixture::Get().ok()) << HttpServerFixture::Get().error();
    port_ = HttpServerFixture::Get().port();
  }
  // After each bad input the server still answers health checks and inference.
  void TearDown() override {
    EXPECT_EQ(Http(port_, "GET", "/v2/health/ready").status, 200);
    RawResponse r = Http(port_, "POST", "/v2/models/add_sub/infer",
                         R"({"inputs":[)" + AddSubInput("INPUT0") + "," + AddSubInput("INPUT1") +
                             "]}");
    EXPECT_EQ(r.status, 200) << r.body;
  }
  RawResponse Infer(const std::string& model, const std::string& body) {
    return Http(port_, "POST", "/v2/models/" + model + "/infer", body);
  }
  void ExpectError(const RawResponse& r, int status, const std::string& words) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.Header("content-type"), "application/json");
    EXPECT_THAT(r.body, HasSubstr(R"({"error":")"));
    EXPECT_THAT(r.body, HasSubstr(words));
  }
  int port_ = 0;
};

TEST_F(HttpBadInput, MalformedJson) {
  ExpectError(Infer("add_sub", R"({"inputs": [ {"name": )"), 400,
              "failed to parse the request JSON");
}

TEST_F(HttpBadInput, JsonThatIsNotAnObject) {
  ExpectError(Infer("add_sub", "[1,2,3]"), 400, "the request JSON must be a JSON object, not an array");
}

TEST_F(HttpBadInput, UnknownModel) {
  ExpectError(Infer("nope", R"({"inputs":[]})"), 404, "unknown model: 'nope'");
  ExpectError(Http(port_, "GET", "/v2/models/nope"), 404, "unknown model: 'nope'");
}

TEST_F(HttpBadInput, UnknownVersion) {
  ExpectError(Http(port_, "POST", "/v2/models/add_sub/versions/7/infer",
                   R"({"inputs":[)" + AddSubInput("INPUT0") + "," + AddSubInput("INPUT1") + "]}"),
              404, "has no version 7");
  ExpectError(Http(port_, "GET", "/v2/models/add_sub/versions/x1/ready"), 400,
              "model version 'x1' in the URL is not a positive integer");
}

TEST_F(HttpBadInput, ModelNotReady) {
  ExpectError(Infer("spare", R"({"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1],"data":[1]}]})"),
              503, "'spare' is not ready");
  ExpectError(Http(port_, "GET", "/v2/models/spare/ready"), 400, "model 'spare' is not ready");
}

TEST_F(HttpBadInput, MissingInput) {
  ExpectError(Infer("add_sub", R"({"inputs":[)" + AddSubInput("INPUT0") + "]}"), 400,
              "missing input 'INPUT1'");
  ExpectError(Infer("add_sub", R"({"id":"x"})"), 400, "the request JSON has no 'inputs' array");
}

TEST_F(HttpBadInput, UnknownInput) {
  ExpectError(Infer("add_sub", R"({"inputs":[)" + AddSubInput("INPUT0") + "," +
                                   AddSubInput("INPUT1") + "," + AddSubInput("BOGUS") + "]}"),
              400, "unexpected inference input 'BOGUS' for model 'add_sub'");
}

TEST_F(HttpBadInput, WrongDatatype) {
  ExpectError(Infer("add_sub", R"({"inputs":[)" + AddSubInput("INPUT0", "FP32") + "," +
                                   AddSubInput("INPUT1") + "]}"),
              400, "data-type is 'FP32', but model 'add_sub' expects 'INT32'");
  ExpectError(Infer("add_sub", R"({"inputs":[)" + AddSubInput("INPUT0", "FLOAT7") + "]}"), 400,
              "input 'INPUT0' has unknown datatype 'FLOAT7'");
  // A value that does not fit the datatype.
  ExpectError(Infer("identity_uint8",
                    R"({"inputs":[{"name":"INPUT0","datatype":"UINT8","shape":[2],"data":[1,256]}]})"),
              400, "input 'INPUT0' data element 1 is not a valid UINT8 value");
}

TEST_F(HttpBadInput, ShapeThatDoesNotMatchTheConfig) {
  ExpectError(Infer("add_sub", R"({"inputs":[)" + AddSubInput("INPUT0", "INT32", "[1,8]", Ints(8)) +
                                   "," + AddSubInput("INPUT1") + "]}"),
              400, "unexpected shape for input 'INPUT0' for model 'add_sub'. Expected [-1,16], got [1,8]");
}

TEST_F(HttpBadInput, DataCountThatDoesNotMatchTheShape) {
  ExpectError(Infer("add_sub", R"({"inputs":[)" + AddSubInput("INPUT0", "INT32", "[1,16]", Ints(15)) +
                                   "," + AddSubInput("INPUT1") + "]}"),
              400, "input 'INPUT0' has 15 data elements, but its shape needs 16");
}

TEST_F(HttpBadInput, BinaryDataSizeThatDoesNotMatchShapeTimesDatatype) {
  const std::string json =
      R"({"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[4],"parameters":{"binary_data_size":12}}]})";
  ExpectError(BinaryInfer(port_, "identity", MakeBinaryBody(json, std::string(12, '\0'))), 400,
              "input byte size mismatch for input 'INPUT0' for model 'identity'. Expected 16, got 12");
}

TEST_F(HttpBadInput, BinaryDataBeyondTheInputs) {
  const std::string json =
      R"({"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":4}}]})";
  ExpectError(BinaryInfer(port_, "identity", MakeBinaryBody(json, std::string(8, '\0'))), 400,
              "4 bytes of binary data after the JSON header that no binary_data_size accounts for");
}

TEST_F(HttpBadInput, InferenceHeaderContentLengthLargerThanTheBody) {
  const std::string body = R"({"inputs":[]})";
  ExpectError(Http(port_, "POST", "/v2/models/identity/infer", body,
                   {"Inference-Header-Content-Length: 500"}),
              400, "Inference-Header-Content-Length is 500 bytes, larger than the 13-byte request body");
  ExpectError(Http(port_, "POST", "/v2/models/identity/infer", body,
                   {"Inference-Header-Content-Length: -3"}),
              400, "Inference-Header-Content-Length '-3' is not a non-negative integer");
}

TEST_F(HttpBadInput, TruncatedBinarySection) {
  // Content-Length is right, but the binary part is shorter than binary_data_size says.
  const std::string json =
      R"({"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[4],"parameters":{"binary_data_size":16}}]})";
  ExpectError(BinaryInfer(port_, "identity", MakeBinaryBody(json, std::string(10, '\0'))), 400,
              "binary_data_size 16, but only 10 bytes of binary data remain");
}

TEST_F(HttpBadInput, TruncatedBody) {
  // The client promises 1000 bytes, sends 100 and stops sending.
  RawConnection c(port_);
  ASSERT_TRUE(c.Send("POST /v2/models/identity/infer HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
                     "\r\n" + std::string(100, '{')));
  c.ShutdownWrite();
  auto r = c.Read();
  ASSERT_TRUE(r.has_value());
  ExpectError(*r, 400, "truncated request body: the connection ended after 100 of 1000 bytes");
  EXPECT_TRUE(c.ClosedByPeer(10s));
}

TEST_F(HttpBadInput, MalformedChunkedBodiesGet400) {
  const std::string head =
      "POST /v2/models/identity/infer HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  struct Case {
    std::string chunks;
    int status;
    std::string words;
  };
  const std::string not_hex = "a chunk size is not a hexadecimal number that fits in 64 bits";
  const std::vector<Case> cases = {
      {"zz\r\nhello\r\n0\r\n\r\n", 400, not_hex},
      {"-5\r\nhello\r\n0\r\n\r\n", 400, not_hex},
      {"1ffffffffffffffff\r\nhello\r\n0\r\n\r\n", 400, not_hex},
      {"5\r\nhelloXX3\r\nabc\r\n0\r\n\r\n", 400, "is not followed by CRLF"},
      {"5;=v\r\nhello\r\n0\r\n\r\n", 400, "bad chunk extension"},
      {"5;a b\r\nhello\r\n0\r\n\r\n", 400, "bad chunk extension"},
      {"5;" + std::string(200000, 'a') + "\r\nhello\r\n0\r\n\r\n", 400,
       "a chunk header line is longer than 131072 bytes"},
      {"4000001\r\nhello\r\n", 413, "request body exceeds the maximum of 67108864 bytes"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.chunks.substr(0, 40));
    RawConnection conn(port_);
    ASSERT_TRUE(conn.Send(head + c.chunks));
    auto r = conn.Read(10s);
    ASSERT_TRUE(r.has_value()) << "the connection closed without a response";
    ExpectError(*r, c.status, c.words);
    EXPECT_EQ(r->Header("connection"), "close");
  }
  // A well-formed chunked body still works.
  const std::string body =
      R"({"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[2],"data":[1,2]}]})";
  RawConnection conn(port_);
  char size[32];
  std::snprintf(size, sizeof(size), "%zx", body.size());
  ASSERT_TRUE(conn.Send(head + size + "\r\n" + body + "\r\n0\r\n\r\n"));
  auto r = conn.Read(10s);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200) << r->body;
}

// Whether `text` is valid UTF-8 (what a JSON parser on the client side requires).
bool IsValidUtf8(const std::string& text) {
  for (size_t i = 0; i < text.size();) {
    const auto b = static_cast<unsigned char>(text[i]);
    const size_t n = b < 0x80 ? 1 : (b >> 5) == 6 ? 2 : (b >> 4) == 14 ? 3 : (b >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > text.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

TEST_F(HttpBadInput, EchoedClientTextIsCutAndEscaped) {
  // A 60 KB model name comes back cut to 128 bytes, with its length.
  RawResponse r = Infer(std::string(60000, 'm'), R"({"inputs":[]})");
  ExpectError(r, 404, "unknown model: '" + std::string(128, 'm') + "'... (60000 bytes)");
  EXPECT_LT(r.body.size(), 400u);
  // Bytes that are not UTF-8 (percent-encoded in the URL) come back escaped, in valid JSON.
  r = Infer("%FF%FEbad", R"({"inputs":[]})");
  ExpectError(r, 404, R"(unknown model: '\\xFF\\xFEbad')");
  EXPECT_TRUE(IsValidUtf8(r.body)) << r.body;
  // A control character in an input name.
  r = Infer("identity", R"({"inputs":[{"name":"a\nb","datatype":"FP32","shape":[1],"data":[1]}]})");
  ExpectError(r, 400, R"(unexpected inference input 'a\\x0Ab' for model 'identity')");
  // Header values.
  ExpectError(Http(port_, "POST", "/v2/models/identity/infer", "{}",
                   {"Content-Encoding: " + std::string(5000, 'z') + "\xFF"}),
              415, "unsupported Content-Encoding '" + std::string(128, 'z') + "'... (5001 bytes)");
}

TEST_F(HttpBadInput, OversizedBodyIsRefusedBeforeItIsRead) {
  // Only the header is sent: the 413 must come without the body.
  RawConnection c(port_);
  ASSERT_TRUE(c.Send("POST /v2/models/identity/infer HTTP/1.1\r\nHost: x\r\nContent-Length: " +
                     std::to_string((64u << 20) + 1) + "\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r.has_value());
  ExpectError(*r, 413, "request body of 67108865 bytes exceeds the maximum of 67108864 bytes");
  EXPECT_EQ(r->Header("connection"), "close");
}

TEST_F(HttpBadInput, UnsupportedContentEncoding) {
  ExpectError(Http(port_, "POST", "/v2/models/add_sub/infer", "whatever",
                   {"Content-Encoding: br"}),
              415, "unsupported Content-Encoding 'br': inferd accepts gzip, deflate or identity");
}

TEST_F(HttpBadInput, SeveralContentEncodingsAreRefused) {
  const std::string packed = ZlibCompress(
      R"({"inputs":[)" + AddSubInput("INPUT0") + "," + AddSubInput("INPUT1") + "]}", 15 + 16);
  ExpectError(Http(port_, "POST", "/v2/models/add_sub/infer", packed,
                   {"Content-Encoding: gzip, br"}),
              415,
              "unsupported Content-Encoding 'gzip, br': inferd accepts gzip, deflate or identity");
}

TEST_F(HttpBadInput, EmptyBodyDeclaredAsGzip) {
  ExpectError(Http(port_, "POST", "/v2/models/add_sub/infer", "", {"Content-Encoding: gzip"}),
              400, "not valid gzip data (Content-Encoding: gzip): the data ends before the stream does");
}

TEST_F(HttpBadInput, CorruptOrTruncatedCompressedBody) {
  ExpectError(Http(port_, "POST", "/v2/models/add_sub/infer", "this is not gzip",
                   {"Content-Encoding: gzip"}),
              400, "the request body is not valid gzip data");
  const std::string packed = ZlibCompress(
      R"({"inputs":[)" + AddSubInput("INPUT0") + "," + AddSubInput("INPUT1") + "]}", 15);
  ExpectError(Http(port_, "POST", "/v2/models/add_sub/infer", packed.substr(0, packed.size() - 6),
                   {"Content-Encoding: deflate"}),
              400, "the request body is not valid deflate data");
}

TEST_F(HttpBadInput, CompressedBodyThatExpandsBeyondTheLimit) {
  // 64 MiB + 1 of zeros: about 65 KB compressed, over --http-max-input-size once expanded.
  const std::string packed = ZlibCompress(std::string((64u << 20) + 1, '\0'), 15 + 16);
  ExpectError(Http(port_, "POST", "/v2/models/identity/infer", packed,
                   {"Content-Encoding: gzip", "Inference-Header-Content-Length: 0"}),
              413, "expands beyond the maximum of 67108864 bytes (--http-max-input-size)");
}

TEST_F(HttpBadInput, UnknownRequestedOutput) {
  ExpectError(Infer("add_sub", R"({"inputs":[)" + AddSubInput("INPUT0") + "," +
                                   AddSubInput("INPUT1") + R"(],"outputs":[{"name":"NOPE"}]})"),
              400, "unexpected inference output 'NOPE' for model 'add_sub'");
}

TEST_F(HttpBadInput, UnsupportedMethodIs405) {
  RawResponse r = Http(port_, "DELETE", "/v2/models/add_sub/infer");
  ExpectError(r, 405, "method DELETE is not allowed for '/v2/models/add_sub/infer'; use POST");
  EXPECT_EQ(r.Header("allow"), "POST");
  ExpectError(Http(port_, "POST", "/v2/health/live"), 405, "use GET");
}

TEST_F(HttpBadInput, UnknownPathIs404) {
  ExpectError(Http(port_, "GET", "/v2/models/add_sub/frobnicate"), 404,
              "no endpoint at '/v2/models/add_sub/frobnicate'");
  ExpectError(Http(port_, "GET", "/metrics"), 404, "no endpoint at '/metrics'");
}

TEST_F(HttpBadInput, MalformedHttpIs400) {
  RawConnection c(port_);
  ASSERT_TRUE(c.Send("THIS IS NOT HTTP\r\n\r\n"));
  auto r = c.Read();
  ASSERT_TRUE(r.has_value());
  ExpectError(*r, 400, "malformed HTTP request");
}

TEST_F(HttpBadInput, BadRepositoryRequests) {
  ExpectError(Http(port_, "POST", "/v2/repository/index", "{nope"), 400,
              "failed to parse the request JSON");
  ExpectError(Http(port_, "POST", "/v2/repository/index", R"({"ready":"yes"})"), 400,
              "'ready' must be a boolean");
  ExpectError(Http(port_, "POST", "/v2/repository/models/spare/load",
                   R"({"parameters":{"config":"{}"}})"),
              501, "does not support the repository parameter 'config'");
  ExpectError(Http(port_, "POST", "/v2/repository/models/not_there/load"), 404, "not_there");
}

TEST_F(HttpBadInput, BadParametersAndTensorFields) {
  ExpectError(Infer("identity", R"({"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1],)"
                                R"("data":[1],"parameters":{"x":[1]}}]})"),
              400, "parameter 'x' of input 'INPUT0' must be a string, number or boolean");
  ExpectError(Infer("identity", R"({"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[1]}]})"),
              400, "input 'INPUT0' has neither 'data' nor a binary_data_size parameter");
  ExpectError(Infer("identity", R"({"inputs":[{"name":"INPUT0","datatype":"FP32","shape":["a"],"data":[1]}]})"),
              400, "the shape of input 'INPUT0' must hold integers");
  ExpectError(Infer("identity", R"({"id":7,"inputs":[]})"), 400, "the request 'id' must be a string");
}

}  // namespace
}  // namespace inferd
