// SPDX-License-Identifier: Apache-2.0
// End-to-end: what Triton's own clients (tritonclient HTTP and gRPC) send and expect, against the
// real inferd binary (issue 15). Requests are written as tritonclient writes them: raw HTTP on a
// socket, and the stub generated from proto/grpc_service.proto. Each bad input asserts the code
// and the message's key words, then that the server still serves.
//
// - The classification extension (an output's `classification` parameter), batched and unbatched,
//   with and without a label file, over HTTP (binary and JSON outputs) and gRPC (raw and typed).
// - ModelStreamInfer responses carry `triton_final_response`.
// - gRPC ModelReady of an unknown model or version: OK, ready false.
// - Unregistering a region that is not registered: a success, on HTTP and gRPC.
// - The extensions of the server metadata, the same on HTTP and gRPC.
// - The model configuration as Triton serves it (auto-completed fields).
// - A config.pbtxt with a bad value: the error names the field and its position.
// - Repository load with an unsupported parameter: 501 / UNIMPLEMENTED.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>

#include "grpc_service.grpc.pb.h"
#include "grpcpp/grpcpp.h"
#include "http_test_util.h"
#include "rapidjson/document.h"
#include "test_util/server_process.h"

namespace inferd {
namespace {

using inference::GRPCInferenceService;
using inference::ModelInferRequest;
using inference::ModelInferResponse;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::Not;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

// Labels of the classification models: index i is "class<i>", except index 2, left empty.
constexpr char kLabels[] = "class0\nclass1\n\nclass3\nclass4\n";

std::string IdentityConfig(const std::string& type, int max_batch_size,
                           const std::string& output_extra = "", const std::string& extra = "") {
  return "backend: \"builtin\"\nmax_batch_size: " + std::to_string(max_batch_size) +
         "\nparameters { key: \"builtin_model\" value { string_value: \"identity\" } }\n"
         "input [ { name: \"INPUT0\" data_type: " +
         type +
         " dims: [ -1 ] } ]\n"
         "output [ { name: \"OUTPUT0\" data_type: " +
         type + " dims: [ -1 ] " + output_extra + " } ]\n" + extra;
}

// The real inferd, HTTP and gRPC on free ports, over a generated repository.
class ConformanceServer {
 public:
  explicit ConformanceServer(bool allow_client_shm) {
    static int counter = 0;
    repo_ = fs::temp_directory_path() /
            ("inferd_conform_" + std::to_string(getpid()) + "_" + std::to_string(counter++));
    fs::remove_all(repo_);
    const std::string labels = "label_filename: \"labels.txt\"";
    Write("classify", IdentityConfig("TYPE_FP32", 0, labels), /*labels=*/true);
    Write("classify_nolabels", IdentityConfig("TYPE_FP32", 0));
    Write("classify_batched", IdentityConfig("TYPE_FP32", 8, labels), true);
    Write("classify_batched_nolabels",
          IdentityConfig("TYPE_FP32", 8, "", "instance_group [ { count: 2 kind: KIND_CPU } ]\n"));
    for (const char* type : {"INT32", "UINT8", "FP16", "FP64", "BOOL", "STRING"}) {
      std::string lower = type;
      for (char& c : lower) c = static_cast<char>(std::tolower(c));
      Write("identity_" + lower, IdentityConfig(std::string("TYPE_") + type, 0));
    }
    Write("dynamic", IdentityConfig("TYPE_FP32", 4, "",
                                    "dynamic_batching { max_queue_delay_microseconds: 100 }\n"));
    // Loaded by the tests, which expect the loads to fail.
    Write("label_outside", IdentityConfig("TYPE_FP32", 0, "label_filename: \"../secret.txt\""));
    Write("label_missing", IdentityConfig("TYPE_FP32", 0, "label_filename: \"nope.txt\""));
    Write("bad_value",
          "name: \"bad_value\"\nbackend: \"builtin\"\n"
          "max_batch_size: \"not a number\"\n");
    std::ofstream(repo_ / "secret.txt") << "secret\n";
    std::vector<std::string> args = {
        "--model-repository=" + repo_.string(),
        "--model-control-mode=explicit",
        "--http-port=0",
        "--http-address=127.0.0.1",
        "--grpc-port=0",
        "--grpc-address=127.0.0.1",
        "--allow-metrics=false",
        allow_client_shm ? "--allow-client-shm=true" : "--allow-client-shm=false"};
    for (const char* model :
         {"classify", "classify_nolabels", "classify_batched", "classify_batched_nolabels",
          "identity_int32", "identity_uint8", "identity_fp16", "identity_fp64", "identity_bool",
          "identity_string", "dynamic"}) {
      args.push_back(std::string("--load-model=") + model);
    }
    process_ = std::make_unique<testing::ServerProcess>(testing::InferdBinary(), args);
    if (!process_->WaitForOutput("inferd ready", 60s)) return;
    http_port_ = PortAfter("HTTP server listening on ");
    grpc_port_ = PortAfter("GRPC server listening on ");
    grpc::ChannelArguments channel_args;
    channel_args.SetMaxReceiveMessageSize(-1);
    stub_ = GRPCInferenceService::NewStub(
        grpc::CreateCustomChannel("127.0.0.1:" + std::to_string(grpc_port_),
                                  grpc::InsecureChannelCredentials(), channel_args));
  }
  ~ConformanceServer() {
    process_.reset();
    fs::remove_all(repo_);
  }
  bool ready() const { return http_port_ > 0 && grpc_port_ > 0; }
  int http_port() const { return http_port_; }
  GRPCInferenceService::Stub& stub() { return *stub_; }
  const std::string& output() const { return process_->output(); }

 private:
  void Write(const std::string& model, const std::string& config, bool labels = false) {
    fs::create_directories(repo_ / model / "1");
    std::ofstream(repo_ / model / "config.pbtxt") << config;
    if (labels) std::ofstream(repo_ / model / "labels.txt") << kLabels;
  }
  int PortAfter(const std::string& prefix) {
    const std::string& out = process_->output();
    const size_t at = out.find(prefix);
    if (at == std::string::npos) return 0;
    const std::string line = out.substr(at, out.find('\n', at) - at);
    return std::stoi(line.substr(line.rfind(':') + 1));
  }
  fs::path repo_;
  std::unique_ptr<testing::ServerProcess> process_;
  int http_port_ = 0;
  int grpc_port_ = 0;
  std::unique_ptr<GRPCInferenceService::Stub> stub_;
};

std::string FloatBytes(const std::vector<float>& values) {
  return std::string(reinterpret_cast<const char*>(values.data()), values.size() * sizeof(float));
}

// Splits a binary BYTES tensor (4-byte little-endian length, then the bytes, per element).
std::vector<std::string> BytesElements(std::string_view raw) {
  std::vector<std::string> out;
  while (raw.size() >= 4) {
    uint32_t n;
    std::memcpy(&n, raw.data(), 4);
    raw.remove_prefix(4);
    if (raw.size() < n) break;
    out.emplace_back(raw.substr(0, n));
    raw.remove_prefix(n);
  }
  return out;
}

rapidjson::Document Json(const std::string& text) {
  rapidjson::Document doc;
  doc.Parse(text.data(), text.size());
  return doc;
}

std::vector<int64_t> JsonShape(const rapidjson::Value& tensor) {
  std::vector<int64_t> shape;
  for (const auto& d : tensor["shape"].GetArray()) shape.push_back(d.GetInt64());
  return shape;
}

class Conformance : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    server_ = new ConformanceServer(/*allow_client_shm=*/true);
    no_shm_ = new ConformanceServer(/*allow_client_shm=*/false);
  }
  static void TearDownTestSuite() {
    delete server_;
    delete no_shm_;
  }
  void SetUp() override {
    ASSERT_TRUE(server_->ready()) << server_->output();
    ASSERT_TRUE(no_shm_->ready()) << no_shm_->output();
  }

  // POST v2/models/<model>/infer as tritonclient.http sends it: the JSON header, then each input's
  // bytes (binary_data_size). Returns the response.
  http_test::RawResponse HttpInfer(const std::string& model, const std::string& input_type,
                                   const std::vector<int64_t>& shape, const std::string& bytes,
                                   const std::string& outputs_json) {
    std::string shape_json;
    for (int64_t d : shape) shape_json += (shape_json.empty() ? "" : ",") + std::to_string(d);
    const std::string json =
        R"({"inputs":[{"name":"INPUT0","shape":[)" + shape_json + R"(],"datatype":")" + input_type +
        R"(","parameters":{"binary_data_size":)" + std::to_string(bytes.size()) +
        R"(}}],"outputs":)" + outputs_json + "}";
    return http_test::BinaryInfer(server_->http_port(), model,
                                  http_test::MakeBinaryBody(json, bytes));
  }

  // The one output of an HTTP infer response: its JSON, and its binary bytes when it has any.
  struct HttpOutput {
    rapidjson::Document doc;
    std::string binary;
  };
  static HttpOutput ParseHttpOutput(const http_test::RawResponse& r) {
    HttpOutput out;
    size_t header = r.body.size();
    if (!r.Header("inference-header-content-length").empty()) {
      header = std::stoul(r.Header("inference-header-content-length"));
    }
    out.doc = Json(r.body.substr(0, header));
    out.binary = r.body.substr(header);
    return out;
  }

  // gRPC ModelInfer of identity-like `model` with one raw input, asking for OUTPUT0 with
  // `classification` (as tritonclient.grpc's InferRequestedOutput(name, class_count=N) does).
  grpc::Status GrpcClassify(const std::string& model, const std::string& type,
                            const std::vector<int64_t>& shape, const std::string& raw,
                            int64_t classes, ModelInferResponse* response) {
    ModelInferRequest request;
    request.set_model_name(model);
    auto* in = request.add_inputs();
    in->set_name("INPUT0");
    in->set_datatype(type);
    for (int64_t d : shape) in->add_shape(d);
    request.add_raw_input_contents(raw);
    auto* out = request.add_outputs();
    out->set_name("OUTPUT0");
    (*out->mutable_parameters())["classification"].set_int64_param(classes);
    grpc::ClientContext context;
    return server_->stub().ModelInfer(&context, request, response);
  }

  void ExpectStillServes() {
    const auto r = HttpInfer("classify_nolabels", "FP32", {2}, FloatBytes({1, 2}),
                             R"([{"name":"OUTPUT0","parameters":{"binary_data":true}}])");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(ParseHttpOutput(r).binary, FloatBytes({1, 2}));
    ModelInferResponse response;
    ASSERT_TRUE(
        GrpcClassify("classify_nolabels", "FP32", {2}, FloatBytes({1, 2}), 1, &response).ok());
  }

  static ConformanceServer* server_;
  static ConformanceServer* no_shm_;
};
ConformanceServer* Conformance::server_ = nullptr;
ConformanceServer* Conformance::no_shm_ = nullptr;

// --- 1. Classification ---------------------------------------------------------------------

TEST_F(Conformance, HttpClassificationUnbatchedWithLabelsBinary) {
  const auto r =
      HttpInfer("classify", "FP32", {5}, FloatBytes({0.1f, 0.7f, 0.05f, 0.9f, 0.2f}),
                R"([{"name":"OUTPUT0","parameters":{"classification":3,"binary_data":true}}])");
  ASSERT_EQ(r.status, 200) << r.body;
  const HttpOutput out = ParseHttpOutput(r);
  const auto& tensor = out.doc["outputs"][0];
  EXPECT_STREQ(tensor["name"].GetString(), "OUTPUT0");
  EXPECT_STREQ(tensor["datatype"].GetString(), "BYTES");
  EXPECT_THAT(JsonShape(tensor), ElementsAre(3));
  EXPECT_EQ(tensor["parameters"]["binary_data_size"].GetUint64(), out.binary.size());
  EXPECT_THAT(BytesElements(out.binary),
              ElementsAre("0.900000:3:class3", "0.700000:1:class1", "0.200000:4:class4"));
}

TEST_F(Conformance, HttpClassificationUnbatchedWithoutLabelsAsJson) {
  // The protocol document's example: [1.1, 3.3, 0.5, 2.4], top 2; JSON output data.
  const auto r = HttpInfer("classify_nolabels", "FP32", {4}, FloatBytes({1.1f, 3.3f, 0.5f, 2.4f}),
                           R"([{"name":"OUTPUT0","parameters":{"classification":2}}])");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("content-type"), "application/json");
  const auto doc = Json(r.body);
  const auto& tensor = doc["outputs"][0];
  EXPECT_STREQ(tensor["datatype"].GetString(), "BYTES");
  EXPECT_THAT(JsonShape(tensor), ElementsAre(2));
  ASSERT_EQ(tensor["data"].Size(), 2u);
  EXPECT_STREQ(tensor["data"][0].GetString(), "3.300000:1");
  EXPECT_STREQ(tensor["data"][1].GetString(), "2.400000:3");
}

TEST_F(Conformance, HttpClassificationBatchedWithAndWithoutLabels) {
  // Batch of 2, 3 classes each; top 2 per batch item. Index 2 has an empty label: none added.
  const std::string bytes = FloatBytes({0.1f, 0.7f, 0.2f, 0.05f, 0.05f, 0.9f});
  const auto labelled =
      HttpInfer("classify_batched", "FP32", {2, 3}, bytes,
                R"([{"name":"OUTPUT0","parameters":{"classification":2,"binary_data":true}}])");
  ASSERT_EQ(labelled.status, 200) << labelled.body;
  const HttpOutput a = ParseHttpOutput(labelled);
  EXPECT_THAT(JsonShape(a.doc["outputs"][0]), ElementsAre(2, 2));
  EXPECT_THAT(BytesElements(a.binary),
              ElementsAre("0.700000:1:class1", "0.200000:2", "0.900000:2", "0.050000:0:class0"));
  const auto plain =
      HttpInfer("classify_batched_nolabels", "FP32", {2, 3}, bytes,
                R"([{"name":"OUTPUT0","parameters":{"classification":2,"binary_data":true}}])");
  ASSERT_EQ(plain.status, 200) << plain.body;
  const HttpOutput b = ParseHttpOutput(plain);
  EXPECT_THAT(JsonShape(b.doc["outputs"][0]), ElementsAre(2, 2));
  EXPECT_THAT(BytesElements(b.binary),
              ElementsAre("0.700000:1", "0.200000:2", "0.900000:2", "0.050000:0"));
}

TEST_F(Conformance, HttpClassificationCountLargerThanTheClassesIsClamped) {
  const auto r =
      HttpInfer("classify_batched", "FP32", {1, 3}, FloatBytes({3, 1, 2}),
                R"([{"name":"OUTPUT0","parameters":{"classification":10,"binary_data":true}}])");
  ASSERT_EQ(r.status, 200) << r.body;
  const HttpOutput out = ParseHttpOutput(r);
  EXPECT_THAT(JsonShape(out.doc["outputs"][0]), ElementsAre(1, 3));
  EXPECT_THAT(BytesElements(out.binary),
              ElementsAre("3.000000:0:class0", "2.000000:2", "1.000000:1:class1"));
}

TEST_F(Conformance, HttpClassificationZeroReturnsTheRawTensor) {
  const auto r =
      HttpInfer("classify", "FP32", {2}, FloatBytes({5, 6}),
                R"([{"name":"OUTPUT0","parameters":{"classification":0,"binary_data":true}}])");
  ASSERT_EQ(r.status, 200) << r.body;
  const HttpOutput out = ParseHttpOutput(r);
  EXPECT_STREQ(out.doc["outputs"][0]["datatype"].GetString(), "FP32");
  EXPECT_EQ(out.binary, FloatBytes({5, 6}));
}

TEST_F(Conformance, GrpcClassificationRawAndTypedContents) {
  ModelInferResponse response;
  ASSERT_TRUE(GrpcClassify("classify", "FP32", {5}, FloatBytes({0.1f, 0.7f, 0.05f, 0.9f, 0.2f}), 2,
                           &response)
                  .ok());
  ASSERT_EQ(response.outputs_size(), 1);
  EXPECT_EQ(response.outputs(0).name(), "OUTPUT0");
  EXPECT_EQ(response.outputs(0).datatype(), "BYTES");
  EXPECT_THAT(response.outputs(0).shape(), ElementsAre(2));
  ASSERT_EQ(response.raw_output_contents_size(), 1);
  EXPECT_THAT(BytesElements(response.raw_output_contents(0)),
              ElementsAre("0.900000:3:class3", "0.700000:1:class1"));

  // Batched, no labels; the input sent as typed contents, so the output comes back typed.
  ModelInferRequest request;
  request.set_model_name("classify_batched_nolabels");
  auto* in = request.add_inputs();
  in->set_name("INPUT0");
  in->set_datatype("FP32");
  in->add_shape(2);
  in->add_shape(2);
  for (float v : {1.f, 2.f, 4.f, 3.f}) in->mutable_contents()->add_fp32_contents(v);
  auto* out = request.add_outputs();
  out->set_name("OUTPUT0");
  (*out->mutable_parameters())["classification"].set_int64_param(1);
  grpc::ClientContext context;
  ModelInferResponse typed;
  ASSERT_TRUE(server_->stub().ModelInfer(&context, request, &typed).ok());
  EXPECT_THAT(typed.outputs(0).shape(), ElementsAre(2, 1));
  EXPECT_THAT(typed.outputs(0).contents().bytes_contents(),
              ElementsAre("2.000000:1", "4.000000:0"));
}

TEST_F(Conformance, ClassificationOfIntegerFp16AndFp64Outputs) {
  ModelInferResponse response;
  const int32_t ints[4] = {-3, 40, 7, 40};
  ASSERT_TRUE(GrpcClassify("identity_int32", "INT32", {4},
                           std::string(reinterpret_cast<const char*>(ints), sizeof(ints)), 3,
                           &response)
                  .ok());
  EXPECT_THAT(BytesElements(response.raw_output_contents(0)), ElementsAre("40:1", "40:3", "7:2"));
  const uint8_t bytes[3] = {9, 200, 17};
  ASSERT_TRUE(GrpcClassify("identity_uint8", "UINT8", {3},
                           std::string(reinterpret_cast<const char*>(bytes), 3), 1, &response)
                  .ok());
  EXPECT_THAT(BytesElements(response.raw_output_contents(0)), ElementsAre("200:1"));
  const uint16_t halves[3] = {0x3C00, 0x4200, 0xC000};  // 1.0, 3.0, -2.0
  ASSERT_TRUE(GrpcClassify("identity_fp16", "FP16", {3},
                           std::string(reinterpret_cast<const char*>(halves), 6), 3, &response)
                  .ok());
  EXPECT_THAT(BytesElements(response.raw_output_contents(0)),
              ElementsAre("3.000000:1", "1.000000:0", "-2.000000:2"));
  const double doubles[2] = {0.25, -1e3};
  const auto r = HttpInfer("identity_fp64", "FP64", {2},
                           std::string(reinterpret_cast<const char*>(doubles), 16),
                           R"([{"name":"OUTPUT0","parameters":{"classification":2}}])");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto doc = Json(r.body);
  EXPECT_STREQ(doc["outputs"][0]["data"][1].GetString(), "-1000.000000:1");
}

TEST_F(Conformance, ClassificationBadRequestsAreRefused) {
  // HTTP: a count that is not a non-negative integer; a BOOL or BYTES output; shared memory too.
  for (const std::string value : {"-1", "1.5", "\"2\"", "true"}) {
    const auto r =
        HttpInfer("classify", "FP32", {2}, FloatBytes({1, 2}),
                  R"([{"name":"OUTPUT0","parameters":{"classification":)" + value + "}}]");
    EXPECT_EQ(r.status, 400) << value;
    EXPECT_THAT(r.body, AllOf(HasSubstr("classification"), HasSubstr("OUTPUT0"))) << value;
    ExpectStillServes();
  }
  const auto boolean = HttpInfer("identity_bool", "BOOL", {2}, std::string("\1\0", 2),
                                 R"([{"name":"OUTPUT0","parameters":{"classification":1}}])");
  EXPECT_EQ(boolean.status, 400);
  EXPECT_THAT(boolean.body, AllOf(HasSubstr("unsupported type"), HasSubstr("BOOL")));
  const auto shm =
      HttpInfer("classify", "FP32", {2}, FloatBytes({1, 2}),
                R"([{"name":"OUTPUT0","parameters":{"classification":1,"shared_memory_region":"r",)"
                R"("shared_memory_byte_size":64}}])");
  EXPECT_EQ(shm.status, 400);
  EXPECT_THAT(shm.body, AllOf(HasSubstr("shared_memory_region"), HasSubstr("classification")));
  ExpectStillServes();

  // gRPC: a BYTES output; a count that is not an integer.
  ModelInferResponse response;
  const grpc::Status bytes =
      GrpcClassify("identity_string", "BYTES", {1}, std::string("\1\0\0\0x", 5), 1, &response);
  EXPECT_EQ(bytes.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(bytes.error_message(), AllOf(HasSubstr("unsupported type"), HasSubstr("BYTES")));
  ModelInferRequest request;
  request.set_model_name("classify");
  auto* in = request.add_inputs();
  in->set_name("INPUT0");
  in->set_datatype("FP32");
  in->add_shape(1);
  request.add_raw_input_contents(FloatBytes({1}));
  auto* out = request.add_outputs();
  out->set_name("OUTPUT0");
  (*out->mutable_parameters())["classification"].set_string_param("two");
  grpc::ClientContext context;
  const grpc::Status text = server_->stub().ModelInfer(&context, request, &response);
  EXPECT_EQ(text.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(text.error_message(), HasSubstr("'classification' must be a non-negative integer"));
  ExpectStillServes();
}

TEST_F(Conformance, LabelFilesOutsideTheModelDirectoryOrMissingFailTheLoad) {
  const auto outside =
      http_test::Http(server_->http_port(), "POST", "/v2/repository/models/label_outside/load");
  EXPECT_EQ(outside.status, 400) << outside.body;
  EXPECT_THAT(outside.body, AllOf(HasSubstr("label_filename"), HasSubstr("outside the model "
                                                                         "directory")));
  inference::RepositoryModelLoadRequest load;
  load.set_model_name("label_missing");
  inference::RepositoryModelLoadResponse loaded;
  grpc::ClientContext context;
  const grpc::Status missing = server_->stub().RepositoryModelLoad(&context, load, &loaded);
  EXPECT_EQ(missing.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(missing.error_message(), HasSubstr("nope.txt"));
  ExpectStillServes();
}

// --- 2. Stream responses carry triton_final_response ---------------------------------------

TEST_F(Conformance, EveryStreamResponseCarriesTheFinalFlag) {
  grpc::ClientContext context;
  auto stream = server_->stub().ModelStreamInfer(&context);
  constexpr int kRequests = 12;
  for (int i = 0; i < kRequests; ++i) {
    ModelInferRequest request;
    request.set_model_name(i % 4 == 3 ? "no_such_model" : "classify_nolabels");
    request.set_id(std::to_string(i));
    // tritonclient's async_stream_infer(..., enable_empty_final_response=True) sends this.
    (*request.mutable_parameters())["triton_enable_empty_final_response"].set_bool_param(i % 2);
    auto* in = request.add_inputs();
    in->set_name("INPUT0");
    in->set_datatype("FP32");
    in->add_shape(1);
    request.add_raw_input_contents(FloatBytes({static_cast<float>(i)}));
    ASSERT_TRUE(stream->Write(request));
  }
  stream->WritesDone();
  inference::ModelStreamInferResponse response;
  std::map<std::string, int> responses;
  while (stream->Read(&response)) {
    const auto& r = response.infer_response();
    ++responses[r.id()];
    auto flag = r.parameters().find("triton_final_response");
    ASSERT_NE(flag, r.parameters().end()) << "response " << r.id() << " has no final flag";
    EXPECT_TRUE(flag->second.has_bool_param());
    EXPECT_TRUE(flag->second.bool_param()) << "response " << r.id();
    const int i = std::stoi(r.id());
    if (i % 4 == 3) {
      EXPECT_THAT(response.error_message(), HasSubstr("no_such_model"));
    } else {
      EXPECT_EQ(response.error_message(), "");
      EXPECT_EQ(r.raw_output_contents(0), FloatBytes({static_cast<float>(i)}));
    }
  }
  EXPECT_TRUE(stream->Finish().ok());
  // One response per request, final: a non-decoupled model sends no extra empty response.
  ASSERT_EQ(responses.size(), static_cast<size_t>(kRequests));
  for (const auto& [id, count] : responses) EXPECT_EQ(count, 1) << id;
}

// --- 3. gRPC ModelReady of an unknown model or version --------------------------------------

TEST_F(Conformance, GrpcModelReadyOfUnknownModelOrVersionIsFalseNotAnError) {
  auto ready = [&](const std::string& name, const std::string& version) {
    inference::ModelReadyRequest request;
    request.set_name(name);
    request.set_version(version);
    inference::ModelReadyResponse response;
    grpc::ClientContext context;
    const grpc::Status status = server_->stub().ModelReady(&context, request, &response);
    EXPECT_TRUE(status.ok()) << name << " " << version << ": " << status.error_message();
    return status.ok() && response.ready();
  };
  EXPECT_TRUE(ready("classify", ""));
  EXPECT_TRUE(ready("classify", "1"));
  EXPECT_FALSE(ready("no_such_model", ""));
  EXPECT_FALSE(ready("classify", "7"));
  EXPECT_FALSE(ready("label_outside", ""));  // In the repository, not loaded.
  // A version that is not a number is still a malformed request.
  inference::ModelReadyRequest bad;
  bad.set_name("classify");
  bad.set_version("one");
  inference::ModelReadyResponse response;
  grpc::ClientContext context;
  EXPECT_EQ(server_->stub().ModelReady(&context, bad, &response).error_code(),
            grpc::StatusCode::INVALID_ARGUMENT);
}

// --- 4. Unregistering a region that is not registered ---------------------------------------

TEST_F(Conformance, UnregisteringAnUnknownRegionSucceedsOnHttpAndGrpc) {
  const auto http = http_test::Http(server_->http_port(), "POST",
                                    "/v2/systemsharedmemory/region/never_registered/unregister");
  EXPECT_EQ(http.status, 200) << http.body;
  inference::SystemSharedMemoryUnregisterRequest request;
  request.set_name("never_registered");
  inference::SystemSharedMemoryUnregisterResponse response;
  grpc::ClientContext context;
  const grpc::Status grpc_status =
      server_->stub().SystemSharedMemoryUnregister(&context, request, &response);
  EXPECT_TRUE(grpc_status.ok()) << grpc_status.error_message();
  // The region list is unchanged (empty), and the status of an unknown region is still an error.
  const auto status = http_test::Http(server_->http_port(), "GET",
                                      "/v2/systemsharedmemory/region/never_registered/status");
  EXPECT_EQ(status.status, 404);
  EXPECT_EQ(http_test::Http(server_->http_port(), "GET", "/v2/systemsharedmemory/status").body,
            "[]");
}

// --- 5. Extensions ---------------------------------------------------------------------------

std::vector<std::string> HttpExtensions(int port) {
  const auto r = http_test::Http(port, "GET", "/v2");
  std::vector<std::string> out;
  const auto doc = Json(r.body);
  for (const auto& e : doc["extensions"].GetArray()) out.emplace_back(e.GetString());
  return out;
}

std::vector<std::string> GrpcExtensions(GRPCInferenceService::Stub& stub) {
  inference::ServerMetadataResponse response;
  grpc::ClientContext context;
  EXPECT_TRUE(stub.ServerMetadata(&context, {}, &response).ok());
  return {response.extensions().begin(), response.extensions().end()};
}

TEST_F(Conformance, ServerMetadataListsTheSameExtensionsOnHttpAndGrpc) {
  const auto http = HttpExtensions(server_->http_port());
  EXPECT_THAT(
      http, ElementsAre("classification", "model_repository", "model_repository(unload_dependents)",
                        "schedule_policy", "model_configuration", "system_shared_memory",
                        "binary_tensor_data", "parameters", "statistics"));
  EXPECT_THAT(GrpcExtensions(server_->stub()), ElementsAreArray(http));
  // Without --allow-client-shm=true the extension is not listed.
  const auto no_shm = HttpExtensions(no_shm_->http_port());
  EXPECT_THAT(no_shm, Not(::testing::Contains("system_shared_memory")));
  EXPECT_THAT(no_shm, ::testing::Contains("classification"));
  EXPECT_THAT(GrpcExtensions(no_shm_->stub()), ElementsAreArray(no_shm));
}

// --- 6. The model configuration as Triton serves it ------------------------------------------

TEST_F(Conformance, ServedConfigHasTritonsAutoCompletedFields) {
  const auto r = http_test::Http(server_->http_port(), "GET", "/v2/models/classify/config");
  ASSERT_EQ(r.status, 200) << r.body;
  const auto doc = Json(r.body);
  EXPECT_STREQ(doc["name"].GetString(), "classify");
  EXPECT_STREQ(doc["backend"].GetString(), "builtin");
  EXPECT_EQ(doc["version_policy"]["latest"]["num_versions"].GetInt(), 1);
  ASSERT_EQ(doc["instance_group"].Size(), 1u);
  const auto& group = doc["instance_group"][0];
  EXPECT_STREQ(group["name"].GetString(), "classify");  // The default group: the model's name.
  EXPECT_STREQ(group["kind"].GetString(), "KIND_CPU");
  EXPECT_EQ(group["count"].GetInt(), 1);
  EXPECT_TRUE(group["gpus"].IsArray());
  EXPECT_STREQ(doc["optimization"]["priority"].GetString(), "PRIORITY_DEFAULT");
  EXPECT_TRUE(doc["optimization"]["input_pinned_memory"]["enable"].GetBool());
  EXPECT_TRUE(doc["optimization"]["output_pinned_memory"]["enable"].GetBool());
  EXPECT_STREQ(doc["output"][0]["label_filename"].GetString(), "labels.txt");
  EXPECT_TRUE(doc.HasMember("default_model_filename"));

  // A group without a name is "<model>_<index>"; dynamic batching gets its preferred size.
  inference::ModelConfigRequest request;
  request.set_name("classify_batched_nolabels");
  inference::ModelConfigResponse response;
  grpc::ClientContext context;
  ASSERT_TRUE(server_->stub().ModelConfig(&context, request, &response).ok());
  ASSERT_EQ(response.config().instance_group_size(), 1);
  EXPECT_EQ(response.config().instance_group(0).name(), "classify_batched_nolabels_0");
  EXPECT_EQ(response.config().instance_group(0).count(), 2);
  EXPECT_EQ(response.config().instance_group(0).kind(), inference::ModelInstanceGroup::KIND_CPU);
  request.set_name("dynamic");
  grpc::ClientContext context2;
  ASSERT_TRUE(server_->stub().ModelConfig(&context2, request, &response).ok());
  EXPECT_THAT(response.config().dynamic_batching().preferred_batch_size(), ElementsAre(4));
  EXPECT_EQ(response.config().dynamic_batching().max_queue_delay_microseconds(), 100u);
}

// --- 7. A bad value in config.pbtxt names the field ------------------------------------------

TEST_F(Conformance, ConfigErrorNamesTheModelPositionAndField) {
  const auto http =
      http_test::Http(server_->http_port(), "POST", "/v2/repository/models/bad_value/load");
  EXPECT_EQ(http.status, 400);
  EXPECT_THAT(http.body, AllOf(HasSubstr("bad_value"), HasSubstr("config.pbtxt:3:17"),
                               HasSubstr("max_batch_size"), HasSubstr("Expected integer")));
  inference::RepositoryModelLoadRequest load;
  load.set_model_name("bad_value");
  inference::RepositoryModelLoadResponse loaded;
  grpc::ClientContext context;
  const grpc::Status status = server_->stub().RepositoryModelLoad(&context, load, &loaded);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              AllOf(HasSubstr("config.pbtxt:3:17"), HasSubstr("field 'max_batch_size'")));
  const auto index = http_test::Http(server_->http_port(), "POST", "/v2/repository/index");
  EXPECT_THAT(index.body, HasSubstr("max_batch_size"));  // The reason the index gives.
  ExpectStillServes();
}

// --- 8. Repository load with a parameter inferd does not support -----------------------------

TEST_F(Conformance, UnsupportedLoadParameterIsUnimplementedOnBothProtocols) {
  const auto http =
      http_test::Http(server_->http_port(), "POST", "/v2/repository/models/classify/load",
                      R"({"parameters":{"file:1/model.onnx":"AAAA"}})");
  EXPECT_EQ(http.status, 501);
  EXPECT_THAT(http.body, HasSubstr("file:1/model.onnx"));
  inference::RepositoryModelLoadRequest load;
  load.set_model_name("classify");
  (*load.mutable_parameters())["file:1/model.onnx"].set_bytes_param("AAAA");
  inference::RepositoryModelLoadResponse loaded;
  grpc::ClientContext context;
  const grpc::Status status = server_->stub().RepositoryModelLoad(&context, load, &loaded);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_THAT(status.error_message(), HasSubstr("file:1/model.onnx"));
  ExpectStillServes();
}

}  // namespace
}  // namespace inferd
