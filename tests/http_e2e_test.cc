// SPDX-License-Identifier: Apache-2.0
// End-to-end: the real inferd binary's HTTP/REST API (KServe v2 + Triton's binary tensor,
// repository, configuration and statistics extensions), over raw HTTP and through our client.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <future>
#include <limits>
#include <thread>

#include "http_test_util.h"
#include "inferd/client.h"
#include "inferd/tensor.h"
#include "transport/http/test_util/zlib_reference.h"

namespace inferd {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using namespace http_test;
using testing::ZlibCompress;  // zlib itself, as another project's client would send and read.
using testing::ZlibDecompress;

template <typename T>
std::string Raw(std::initializer_list<T> values) {
  std::string out;
  for (T v : values) out.append(reinterpret_cast<const char*>(&v), sizeof(T));
  return out;
}

struct Sample {
  std::string json;   // The data array as inferd writes it back.
  std::string bytes;  // The same elements in the binary layout.
};

// Three elements of each datatype, extremes included.
Sample SampleOf(const std::string& type) {
  if (type == "BOOL") return {"[true,false,true]", std::string("\x01\x00\x01", 3)};
  if (type == "UINT8") return {"[0,255,7]", Raw<uint8_t>({0, 255, 7})};
  if (type == "UINT16") return {"[0,65535,7]", Raw<uint16_t>({0, 65535, 7})};
  if (type == "UINT32") return {"[0,4294967295,7]", Raw<uint32_t>({0, 4294967295u, 7})};
  if (type == "UINT64") {
    return {"[0,18446744073709551615,7]",
            Raw<uint64_t>({0, std::numeric_limits<uint64_t>::max(), 7})};
  }
  if (type == "INT8") return {"[-128,127,0]", Raw<int8_t>({-128, 127, 0})};
  if (type == "INT16") return {"[-32768,32767,0]", Raw<int16_t>({-32768, 32767, 0})};
  if (type == "INT32") {
    return {"[-2147483648,2147483647,0]",
            Raw<int32_t>({std::numeric_limits<int32_t>::min(), 2147483647, 0})};
  }
  if (type == "INT64") {
    return {"[-9223372036854775808,9223372036854775807,0]",
            Raw<int64_t>({std::numeric_limits<int64_t>::min(),
                          std::numeric_limits<int64_t>::max(), 0})};
  }
  if (type == "FP32") return {"[1.5,-2.25,0.0]", Raw<float>({1.5f, -2.25f, 0.0f})};
  if (type == "FP64") return {"[1.5,-2.25,1e300]", Raw<double>({1.5, -2.25, 1e300})};
  if (type == "BYTES") {
    std::vector<std::string> e = {"ab", "", "hello world"};
    return {R"(["ab","","hello world"])", SerializeBytesTensor(e)};
  }
  // FP16 and BF16: binary only (1.0, -2.0, 0.5 in each format).
  if (type == "FP16") return {"", Raw<uint16_t>({0x3C00, 0xC000, 0x3800})};
  return {"", Raw<uint16_t>({0x3F80, 0xC000, 0x3F00})};  // BF16
}

std::string ModelFor(const std::string& type) {
  std::string lower = type;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return "identity_" + lower;
}

class HttpE2e : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(server().ok()) << server().error();
    port_ = server().port();
  }
  static HttpServerFixture& server() { return HttpServerFixture::Get(); }
  std::unique_ptr<Client> NewClient() {
    auto client = Client::Create(server().url());
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }
  int port_ = 0;
};

TEST_F(HttpE2e, HealthEndpointsAnswer200WithAnEmptyBody) {
  for (const char* path : {"/v2/health/live", "/v2/health/ready"}) {
    RawResponse r = Http(port_, "GET", path);
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.Header("content-length"), "0");
  }
  auto client = NewClient();
  ASSERT_NE(client, nullptr);
  EXPECT_EQ(client->IsServerLive().value_or(false), true);
  EXPECT_EQ(client->IsServerReady().value_or(false), true);
}

TEST_F(HttpE2e, ServerMetadataListsTheExtensions) {
  RawResponse r = Http(port_, "GET", "/v2");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.Header("content-type"), "application/json");
  EXPECT_THAT(r.body, HasSubstr(R"("name":"inferd")"));
  EXPECT_THAT(r.body, HasSubstr("\"binary_tensor_data\""));
  EXPECT_THAT(r.body, HasSubstr("\"model_repository\""));
  auto metadata = NewClient()->GetServerMetadata();
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  EXPECT_EQ(metadata->name, "inferd");
  EXPECT_THAT(metadata->extensions, ::testing::Contains("statistics"));
}

TEST_F(HttpE2e, ModelMetadataWithAndWithoutVersion) {
  for (const char* path : {"/v2/models/add_sub", "/v2/models/add_sub/versions/1"}) {
    RawResponse r = Http(port_, "GET", path);
    ASSERT_EQ(r.status, 200) << path;
    EXPECT_EQ(r.body,
              R"({"name":"add_sub","versions":["1"],"platform":"builtin","inputs":[)"
              R"({"name":"INPUT0","datatype":"INT32","shape":[-1,16]},)"
              R"({"name":"INPUT1","datatype":"INT32","shape":[-1,16]}],"outputs":[)"
              R"({"name":"OUTPUT0","datatype":"INT32","shape":[-1,16]},)"
              R"({"name":"OUTPUT1","datatype":"INT32","shape":[-1,16]}]})");
  }
  auto metadata = NewClient()->GetModelMetadata("identity_bytes");
  ASSERT_TRUE(metadata.ok()) << metadata.status();
  ASSERT_EQ(metadata->inputs.size(), 1u);
  EXPECT_EQ(metadata->inputs[0].datatype, DataType::kBytes);
  EXPECT_EQ(metadata->inputs[0].shape, Shape({-1}));
}

TEST_F(HttpE2e, ModelReadyWithAndWithoutVersion) {
  EXPECT_EQ(Http(port_, "GET", "/v2/models/add_sub/ready").status, 200);
  EXPECT_EQ(Http(port_, "GET", "/v2/models/add_sub/versions/1/ready").status, 200);
  auto client = NewClient();
  EXPECT_EQ(client->IsModelReady("add_sub").value_or(false), true);
  EXPECT_EQ(client->IsModelReady("add_sub", 1).value_or(false), true);
  EXPECT_EQ(client->IsModelReady("spare").value_or(true), false);
}

TEST_F(HttpE2e, ConfigIsTheModelConfigurationAsJson) {
  for (const char* path : {"/v2/models/add_sub/config", "/v2/models/add_sub/versions/1/config"}) {
    RawResponse r = Http(port_, "GET", path);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(r.Header("content-type"), "application/json");
    EXPECT_THAT(r.body, HasSubstr(R"("name":"add_sub")"));
    EXPECT_THAT(r.body, HasSubstr(R"("max_batch_size":8)"));
    EXPECT_THAT(r.body, HasSubstr(R"("data_type":"TYPE_INT32")"));
    EXPECT_THAT(r.body, HasSubstr(R"("dims":[16])"));  // int64 dims as numbers, as Triton.
  }
}

TEST_F(HttpE2e, JsonInferForEveryDatatypeReturnsTheSameData) {
  for (const std::string& type : AllDatatypes()) {
    const Sample s = SampleOf(type);
    if (s.json.empty()) continue;  // FP16/BF16: no JSON form (see the next test).
    const std::string body = R"({"id":"j-)" + type + R"(","inputs":[{"name":"INPUT0","datatype":")" +
                             type + R"(","shape":[3],"data":)" + s.json + "}]}";
    RawResponse r = Http(port_, "POST", "/v2/models/" + ModelFor(type) + "/infer", body,
                         {"Content-Type: application/json"});
    ASSERT_EQ(r.status, 200) << type << ": " << r.body;
    EXPECT_EQ(r.Header("content-type"), "application/json") << type;
    EXPECT_EQ(r.Header("inference-header-content-length"), "") << type;
    EXPECT_EQ(r.body, R"({"model_name":")" + ModelFor(type) + R"(","model_version":"1","id":"j-)" +
                          type + R"(","outputs":[{"name":"OUTPUT0","datatype":")" + type +
                          R"(","shape":[3],"data":)" + s.json + "}]}")
        << type;
  }
}

TEST_F(HttpE2e, Fp16AndBf16AsJsonAreRefusedWithAClearError) {
  for (const std::string type : {"FP16", "BF16"}) {
    const std::string body = R"({"inputs":[{"name":"INPUT0","datatype":")" + type +
                             R"(","shape":[1],"data":[1.0]}]})";
    RawResponse r = Http(port_, "POST", "/v2/models/" + ModelFor(type) + "/infer", body);
    EXPECT_EQ(r.status, 400);
    EXPECT_THAT(r.body, HasSubstr("has datatype " + type + ", which has no JSON representation"));
  }
}

TEST_F(HttpE2e, BinaryInferForEveryDatatypeReturnsTheSameBytes) {
  for (const std::string& type : AllDatatypes()) {
    const Sample s = SampleOf(type);
    const std::string json = R"({"inputs":[{"name":"INPUT0","datatype":")" + type +
                             R"(","shape":[3],"parameters":{"binary_data_size":)" +
                             std::to_string(s.bytes.size()) +
                             R"(}}],"outputs":[{"name":"OUTPUT0","parameters":{"binary_data":true}}]})";
    RawResponse r = BinaryInfer(port_, ModelFor(type), MakeBinaryBody(json, s.bytes));
    ASSERT_EQ(r.status, 200) << type << ": " << r.body;
    EXPECT_EQ(r.Header("content-type"), "application/octet-stream");
    const size_t header = std::stoul(r.Header("inference-header-content-length"));
    ASSERT_EQ(header + s.bytes.size(), r.body.size()) << type;
    const std::string response_json = r.body.substr(0, header);
    EXPECT_THAT(response_json,
                HasSubstr(R"("datatype":")" + type + R"(","shape":[3],"parameters":{"binary_data_size":)" +
                          std::to_string(s.bytes.size()) + "}"));
    EXPECT_EQ(r.body.substr(header), s.bytes) << type;
  }
}

TEST_F(HttpE2e, ClientInfersEveryDatatypeInBinaryAndInJson) {
  auto client = NewClient();
  ASSERT_NE(client, nullptr);
  for (const std::string& type : AllDatatypes()) {
    for (bool json_outputs : {false, true}) {
      const Sample s = SampleOf(type);
      if (json_outputs && s.json.empty()) continue;
      InferRequest request;
      request.model_name = ModelFor(type);
      request.id = "c-" + type;
      request.inputs.push_back(
          InferInput::FromBytes("INPUT0", *DataTypeFromName(type), {3}, s.bytes));
      if (json_outputs) request.parameters["binary_data_output"] = false;
      auto response = client->Infer(std::move(request));
      ASSERT_TRUE(response.ok()) << type << ": " << response.status();
      EXPECT_EQ(response->id, "c-" + type);
      EXPECT_EQ(response->model_version, 1);
      ASSERT_EQ(response->outputs.size(), 1u);
      EXPECT_EQ(response->outputs[0].datatype, *DataTypeFromName(type));
      EXPECT_EQ(response->outputs[0].shape, Shape({3}));
      EXPECT_EQ(std::string(response->outputs[0].bytes()), s.bytes) << type;
    }
  }
}

TEST_F(HttpE2e, ClientInfersEveryDatatypeWithTheNpyAndArrowCodecs) {
  for (const std::string codec : {"npy", "arrow"}) {
    auto client = Client::Create(server().url() + "?codec=" + codec);
    ASSERT_TRUE(client.ok()) << client.status();
    for (const std::string& type : AllDatatypes()) {
      if (type == "BF16") continue;  // Neither NumPy nor Arrow has a BF16 type.
      const Sample s = SampleOf(type);
      InferRequest request;
      request.model_name = ModelFor(type);
      request.inputs.push_back(
          InferInput::FromBytes("INPUT0", *DataTypeFromName(type), {3}, s.bytes));
      request.outputs.push_back({"OUTPUT0", {}});
      auto response = (*client)->Infer(std::move(request));
      ASSERT_TRUE(response.ok()) << codec << " " << type << ": " << response.status();
      ASSERT_EQ(response->outputs.size(), 1u);
      EXPECT_EQ(response->outputs[0].name, "OUTPUT0");
      EXPECT_EQ(response->outputs[0].datatype, *DataTypeFromName(type));
      EXPECT_EQ(response->outputs[0].shape, Shape({3}));
      EXPECT_EQ(std::string(response->outputs[0].bytes()), s.bytes) << codec << " " << type;
    }
  }
  // A batched model with two inputs: Arrow rows are the batch.
  auto client = Client::Create(server().url() + "?codec=arrow");
  ASSERT_TRUE(client.ok());
  std::vector<int32_t> a(32), b(32, 1);
  for (int i = 0; i < 32; ++i) a[static_cast<size_t>(i)] = i;
  InferRequest request;
  request.model_name = "add_sub";
  request.inputs.push_back(InferInput::Copy<int32_t>("INPUT0", DataType::kInt32, {2, 16}, a));
  request.inputs.push_back(InferInput::Copy<int32_t>("INPUT1", DataType::kInt32, {2, 16}, b));
  auto response = (*client)->Infer(std::move(request));
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->outputs.size(), 2u);
  EXPECT_EQ(response->outputs[0].shape, Shape({2, 16}));
  EXPECT_EQ(response->outputs[0].As<int32_t>()[31], 32);
  EXPECT_EQ(response->outputs[1].As<int32_t>()[31], 30);
  EXPECT_THAT(std::string(Client::Create(server().url() + "?codec=xml").status().message()),
              HasSubstr("not one of binary, json, npy, arrow"));
}

std::string Sequence(int start, int step) {
  std::string out = "[";
  for (int i = 0; i < 16; ++i) out += (i ? "," : "") + std::to_string(start + i * step);
  return out + "]";
}

TEST_F(HttpE2e, AddSubJsonWithNestedDataAndRequestedOutputs) {
  const std::string body = R"({"id":"as-1","parameters":{"note":"x","n":3,"flag":true},)"
                           R"("inputs":[{"name":"INPUT0","datatype":"INT32","shape":[1,16],"data":[)" +
                           Sequence(0, 1) +
                           R"(]},{"name":"INPUT1","datatype":"INT32","shape":[1,16],"data":)" +
                           Sequence(1, 0) + R"(}],"outputs":[{"name":"OUTPUT1"}]})";
  RawResponse r = Http(port_, "POST", "/v2/models/add_sub/infer", body);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body, R"({"model_name":"add_sub","model_version":"1","id":"as-1","outputs":[)"
                    R"({"name":"OUTPUT1","datatype":"INT32","shape":[1,16],"data":)" +
                        Sequence(-1, 1) + "}]}");
  // Both outputs when none is named; integers only where the config says INT32.
  const std::string both = R"({"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[1,16],"data":)" +
                           Sequence(10, 2) +
                           R"(},{"name":"INPUT1","datatype":"INT32","shape":[1,16],"data":)" +
                           Sequence(1, 1) + "}]}";
  r = Http(port_, "POST", "/v2/models/add_sub/versions/1/infer", both);
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_THAT(r.body, HasSubstr(R"("name":"OUTPUT0","datatype":"INT32","shape":[1,16],"data":)" +
                                Sequence(11, 3)));
  EXPECT_THAT(r.body, HasSubstr(R"("name":"OUTPUT1","datatype":"INT32","shape":[1,16],"data":)" +
                                Sequence(9, 1)));
}

TEST_F(HttpE2e, AddSubBinaryMixesBinaryAndJsonOutputs) {
  std::vector<int32_t> a(16), b(16);
  for (int i = 0; i < 16; ++i) {
    a[i] = i * 3;
    b[i] = 100 - i;
  }
  std::string bytes(reinterpret_cast<const char*>(a.data()), 64);
  bytes.append(reinterpret_cast<const char*>(b.data()), 64);
  const std::string json =
      R"({"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[1,16],"parameters":{"binary_data_size":64}},)"
      R"({"name":"INPUT1","datatype":"INT32","shape":[1,16],"parameters":{"binary_data_size":64}}],)"
      R"("parameters":{"binary_data_output":true},)"
      R"("outputs":[{"name":"OUTPUT0"},{"name":"OUTPUT1","parameters":{"binary_data":false}}]})";
  RawResponse r = BinaryInfer(port_, "add_sub", MakeBinaryBody(json, bytes));
  ASSERT_EQ(r.status, 200) << r.body;
  const size_t header = std::stoul(r.Header("inference-header-content-length"));
  ASSERT_EQ(r.body.size(), header + 64);  // Only OUTPUT0 is binary.
  std::vector<int32_t> sum(16);
  std::memcpy(sum.data(), r.body.data() + header, 64);
  std::string diff = "[";
  for (int i = 0; i < 16; ++i) {
    EXPECT_EQ(sum[i], a[i] + b[i]);
    diff += (i ? "," : "") + std::to_string(a[i] - b[i]);
  }
  EXPECT_THAT(r.body.substr(0, header), HasSubstr(R"("data":)" + diff + "]"));

  auto client = NewClient();
  InferRequest request;
  request.model_name = "add_sub";
  request.inputs.push_back(InferInput::Copy<int32_t>("INPUT0", DataType::kInt32, {1, 16}, a));
  request.inputs.push_back(InferInput::Copy<int32_t>("INPUT1", DataType::kInt32, {1, 16}, b));
  auto response = client->Infer(std::move(request));
  ASSERT_TRUE(response.ok()) << response.status();
  ASSERT_EQ(response->outputs.size(), 2u);
  EXPECT_EQ(response->FindOutput("OUTPUT1")->As<int32_t>()[5], a[5] - b[5]);
  EXPECT_EQ(response->FindOutput("OUTPUT0")->As<int32_t>()[15], a[15] + b[15]);
}

// Content-Encoding gzip / deflate on requests and Accept-Encoding on responses, as Triton's
// clients use them (protocols.md section 2); bodies compressed and read with zlib itself.
TEST_F(HttpE2e, CompressedRequestsAndResponses) {
  const std::string json = R"({"inputs":[{"name":"INPUT0","datatype":"INT32","shape":[1,16],"data":)" +
                           Sequence(10, 2) +
                           R"(},{"name":"INPUT1","datatype":"INT32","shape":[1,16],"data":)" +
                           Sequence(1, 1) + "}]}";
  for (const auto& [coding, bits] : {std::pair{"gzip", 15 + 16}, std::pair{"deflate", 15}}) {
    RawResponse r = Http(port_, "POST", "/v2/models/add_sub/infer", ZlibCompress(json, bits),
                         {"Content-Type: application/json",
                          std::string("Content-Encoding: ") + coding});
    ASSERT_EQ(r.status, 200) << coding << ": " << r.body;
    EXPECT_EQ(r.Header("content-encoding"), "");  // Not asked for.
    EXPECT_THAT(r.body, HasSubstr(R"("name":"OUTPUT0","datatype":"INT32","shape":[1,16],"data":)" +
                                  Sequence(11, 3)));
  }

  // Binary extension, compressed both ways: Inference-Header-Content-Length counts the
  // uncompressed JSON, in the request and in the response.
  const std::string bytes = Raw<float>({1.5f, -2.0f, 3.25f, 4.0f});
  const std::string header =
      R"({"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[4],"parameters":{"binary_data_size":16}}],)"
      R"("parameters":{"binary_data_output":true}})";
  for (const auto& [coding, bits] : {std::pair{"gzip", 15 + 16}, std::pair{"deflate", 15}}) {
    RawResponse r = Http(port_, "POST", "/v2/models/identity/infer",
                         ZlibCompress(header + bytes, bits),
                         {"Inference-Header-Content-Length: " + std::to_string(header.size()),
                          "Content-Type: application/octet-stream",
                          std::string("Content-Encoding: ") + coding,
                          std::string("Accept-Encoding: ") + coding});
    ASSERT_EQ(r.status, 200) << coding << ": " << r.body;
    EXPECT_EQ(r.Header("content-encoding"), coding);
    auto plain = ZlibDecompress(r.body, bits);
    ASSERT_TRUE(plain.has_value()) << coding << ": the response body is not " << coding;
    const size_t json_length = std::stoul(r.Header("inference-header-content-length"));
    ASSERT_EQ(plain->size(), json_length + 16);
    EXPECT_THAT(plain->substr(0, json_length), HasSubstr(R"("binary_data_size":16)"));
    EXPECT_EQ(plain->substr(json_length), bytes);
  }

  // Accept-Encoding alone compresses other endpoints too; q=0 refuses a coding.
  RawResponse meta = Http(port_, "GET", "/v2", "", {"Accept-Encoding: gzip;q=0, deflate"});
  ASSERT_EQ(meta.status, 200);
  EXPECT_EQ(meta.Header("content-encoding"), "deflate");
  auto meta_plain = ZlibDecompress(meta.body, 15);
  ASSERT_TRUE(meta_plain.has_value());
  EXPECT_THAT(*meta_plain, HasSubstr(R"("extensions")"));
  RawResponse plain = Http(port_, "GET", "/v2", "", {"Accept-Encoding: identity"});
  EXPECT_EQ(plain.Header("content-encoding"), "");
  EXPECT_THAT(plain.body, HasSubstr(R"("extensions")"));
}

TEST_F(HttpE2e, RawBinaryRequestWithHeaderLengthZero) {
  const std::string bytes = Raw<float>({1.0f, 2.0f, 3.0f, 4.0f});
  RawResponse r = Http(port_, "POST", "/v2/models/identity/infer", bytes,
                       {"Inference-Header-Content-Length: 0"});
  ASSERT_EQ(r.status, 200) << r.body;
  const size_t header = std::stoul(r.Header("inference-header-content-length"));
  EXPECT_THAT(r.body.substr(0, header), HasSubstr(R"("shape":[4])"));
  EXPECT_EQ(r.body.substr(header), bytes);
}

TEST_F(HttpE2e, ChunkedRequestBodyIsDecoded) {
  const std::string json = R"({"inputs":[{"name":"INPUT0","datatype":"FP32","shape":[2],"data":[0.5,8.0]}]})";
  std::string chunked;
  for (size_t i = 0; i < json.size(); i += 10) {
    const std::string piece = json.substr(i, 10);
    char size[16];
    std::snprintf(size, sizeof(size), "%zx", piece.size());
    chunked += std::string(size) + "\r\n" + piece + "\r\n";
  }
  chunked += "0\r\n\r\n";
  RawConnection c(port_);
  ASSERT_TRUE(c.Send("POST /v2/models/identity/infer HTTP/1.1\r\nHost: x\r\n"
                     "Transfer-Encoding: chunked\r\n\r\n" + chunked));
  auto r = c.Read();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_THAT(r->body, HasSubstr(R"("data":[0.5,8.0])"));
}

TEST_F(HttpE2e, KeepAliveServesManyRequestsOnOneConnection) {
  RawConnection c(port_);
  ASSERT_TRUE(c.connected());
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(c.Send(RequestBytes("GET", i % 2 ? "/v2/health/ready" : "/v2")));
    auto r = c.Read();
    ASSERT_TRUE(r.has_value()) << i;
    EXPECT_EQ(r->status, 200);
  }
}

TEST_F(HttpE2e, StatisticsCountRequestsAsJsonNumbers) {
  auto client = NewClient();
  std::vector<float> values = {1, 2, 3};
  for (int i = 0; i < 3; ++i) {
    InferRequest request;
    request.model_name = "identity_fp32";
    request.inputs.push_back(InferInput::Copy<float>("INPUT0", DataType::kFp32, {3}, values));
    ASSERT_TRUE(client->Infer(std::move(request)).ok());
  }
  auto stats = client->GetModelStatistics("identity_fp32");
  ASSERT_TRUE(stats.ok()) << stats.status();
  ASSERT_EQ(stats->size(), 1u);
  const uint64_t count = (*stats)[0].inference_count;
  EXPECT_GE(count, 3u);
  for (const char* path : {"/v2/models/identity_fp32/stats",
                           "/v2/models/identity_fp32/versions/1/stats", "/v2/models/stats"}) {
    RawResponse r = Http(port_, "GET", path);
    ASSERT_EQ(r.status, 200) << path;
    EXPECT_THAT(r.body, HasSubstr(R"({"model_stats":[)"));
    EXPECT_THAT(r.body, HasSubstr(R"("name":"identity_fp32","version":"1","last_inference":)"));
    EXPECT_THAT(r.body, HasSubstr(R"("inference_count":)" + std::to_string(count) + ","));
    EXPECT_THAT(r.body, HasSubstr(R"("inference_stats":{"success":{"count":)"));
    EXPECT_THAT(r.body, HasSubstr(R"("batch_stats":[{"batch_size":1,"compute_input":{"count":)"));
  }
  auto all = client->GetModelStatistics();
  ASSERT_TRUE(all.ok());
  EXPECT_GE(all->size(), 16u);  // Every loaded model.
}

TEST_F(HttpE2e, RepositoryIndexLoadAndUnload) {
  RawResponse r = Http(port_, "POST", "/v2/repository/index", "");
  ASSERT_EQ(r.status, 200);
  EXPECT_THAT(r.body, HasSubstr(R"({"name":"add_sub","version":"1","state":"READY","reason":""})"));
  EXPECT_THAT(r.body, HasSubstr(R"("name":"spare")"));
  r = Http(port_, "POST", "/v2/repository/index", R"({"ready":true})");
  EXPECT_THAT(r.body, Not(HasSubstr(R"("name":"spare")")));

  auto client = NewClient();
  ASSERT_TRUE(client->LoadModel("spare").ok());
  EXPECT_EQ(client->IsModelReady("spare").value_or(false), true);
  auto index = client->GetRepositoryIndex(/*ready_only=*/true);
  ASSERT_TRUE(index.ok());
  EXPECT_TRUE(std::any_of(index->begin(), index->end(),
                          [](const ModelIndexEntry& e) { return e.name == "spare"; }));
  ASSERT_TRUE(client->UnloadModel("spare").ok());
  EXPECT_EQ(client->IsModelReady("spare").value_or(true), false);
  // The same over raw HTTP, with the optional parameters bodies.
  r = Http(port_, "POST", "/v2/repository/models/spare/load", R"({"parameters":{}})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Http(port_, "GET", "/v2/models/spare/ready").status, 200);
  r = Http(port_, "POST", "/v2/repository/models/spare/unload",
           R"({"parameters":{"unload_dependents":false}})");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Http(port_, "GET", "/v2/models/spare/ready").status, 400);
}

TEST_F(HttpE2e, ManyAsyncRequestsInFlightWithFuturesAndCallbacks) {
  auto client = NewClient();
  constexpr int kRequests = 64;
  std::vector<std::vector<float>> inputs(kRequests);
  std::vector<std::future<absl::StatusOr<InferResponse>>> futures;
  std::atomic<int> callbacks_ok{0};
  std::promise<void> all_callbacks;
  std::atomic<int> callbacks_left{kRequests};
  for (int i = 0; i < kRequests; ++i) {
    inputs[i] = {static_cast<float>(i), static_cast<float>(-i)};
    InferRequest request;
    request.model_name = "identity";
    request.id = std::to_string(i);
    InferInput in;
    in.name = "INPUT0";
    in.datatype = DataType::kFp32;
    in.shape = {2};
    in.data = reinterpret_cast<const std::byte*>(inputs[i].data());  // A view, no copy.
    in.byte_size = 8;
    request.inputs.push_back(in);
    InferRequest copy = request;
    futures.push_back(client->InferAsync(std::move(request)));
    client->InferAsync(std::move(copy), [&, i](absl::StatusOr<InferResponse> r) {
      if (r.ok() && r->id == std::to_string(i) && r->outputs[0].As<float>()[0] == i) {
        ++callbacks_ok;
      }
      if (--callbacks_left == 0) all_callbacks.set_value();
    });
  }
  for (int i = 0; i < kRequests; ++i) {
    auto r = futures[i].get();
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->id, std::to_string(i));
    EXPECT_EQ(r->outputs[0].As<float>()[1], -i);
  }
  all_callbacks.get_future().wait();
  EXPECT_EQ(callbacks_ok.load(), kRequests);
}

// Blocking calls run on the caller's thread over connections that asynchronous calls also use
// (each connection moves between the two as needed); the results must never mix up.
// A blocking call to a server that has gone away fails at once with UNAVAILABLE naming the
// address (and connects once, not a second time through the asynchronous path).
TEST(HttpClientServerGone, BlockingCallsFailWithUnavailable) {
  const std::string repo = ::testing::TempDir() + "/inferd_http_gone_" + std::to_string(getpid());
  std::filesystem::create_directories(repo);
  auto server = std::make_unique<testing::ServerProcess>(
      testing::InferdBinary(),
      std::vector<std::string>{"--model-repository=" + repo, "--http-port=0",
                               "--http-address=127.0.0.1", "--allow-grpc=false",
                               "--allow-metrics=false"});
  ASSERT_TRUE(server->WaitForOutput("inferd ready", std::chrono::seconds(60))) << server->output();
  const int port = ListeningPort(server->output());
  ASSERT_GT(port, 0) << server->output();
  auto client = Client::Create("http://127.0.0.1:" + std::to_string(port));
  ASSERT_TRUE(client.ok()) << client.status();
  ASSERT_TRUE((*client)->IsServerLive().value_or(false));
  server.reset();  // SIGKILL
  for (int i = 0; i < 2; ++i) {  // The idle connection, then a fresh one.
    auto live = (*client)->IsServerLive();
    ASSERT_FALSE(live.ok());
    EXPECT_EQ(live.status().code(), absl::StatusCode::kUnavailable) << live.status();
    EXPECT_THAT(std::string(live.status().message()),
                HasSubstr("cannot connect to http://127.0.0.1:" + std::to_string(port)));
  }
  std::filesystem::remove_all(repo);
}

TEST_F(HttpE2e, BlockingAndAsyncCallsShareOneClientFromManyThreads) {
  auto client = NewClient();
  auto request_of = [](float value, std::vector<float>& storage) {
    storage = {value, -value};
    InferRequest request;
    request.model_name = "identity";
    request.inputs.push_back(InferInput::Copy<float>("INPUT0", DataType::kFp32, {2},
                                                     std::span<const float>(storage)));
    return request;
  };
  constexpr int kThreads = 4;
  constexpr int kRounds = 40;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::vector<float> storage;
      for (int i = 0; i < kRounds; ++i) {
        const float value = static_cast<float>(t * 1000 + i);
        // A burst of asynchronous calls, then a blocking one while they are in flight.
        std::vector<std::future<absl::StatusOr<InferResponse>>> futures;
        std::vector<std::vector<float>> burst(3);
        for (int k = 0; k < 3; ++k) {
          futures.push_back(client->InferAsync(request_of(value + 0.25f * (k + 1), burst[k])));
        }
        auto r = client->Infer(request_of(value, storage));
        if (!r.ok() || r->outputs[0].As<float>()[0] != value ||
            r->outputs[0].As<float>()[1] != -value) {
          ++wrong;
        }
        for (int k = 0; k < 3; ++k) {
          auto a = futures[k].get();
          if (!a.ok() || a->outputs[0].As<float>()[0] != value + 0.25f * (k + 1)) ++wrong;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(wrong.load(), 0);
  // Control calls are blocking calls too.
  auto live = client->IsServerLive();
  ASSERT_TRUE(live.ok()) << live.status();
  EXPECT_TRUE(*live);
}

TEST_F(HttpE2e, ClientReportsServerErrorsAsStatuses) {
  auto client = NewClient();
  InferRequest request;
  request.model_name = "no_such_model";
  request.inputs.push_back(InferInput::Copy<float>("INPUT0", DataType::kFp32, {1},
                                                   std::vector<float>{1.0f}));
  auto r = client->Infer(std::move(request));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(r.status().message()), HasSubstr("unknown model: 'no_such_model'"));
  EXPECT_EQ(client->GetModelMetadata("no_such_model").status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(Client::Create("http://127.0.0.1:1").status().code(), absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace inferd
