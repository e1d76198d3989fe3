// SPDX-License-Identifier: Apache-2.0
// End-to-end at the wire level: the real inferd binary called through the stub generated from
// proto/grpc_service.proto, for what inferd's client never sends: typed contents, and every bad
// input. Each bad input asserts the gRPC code and the message's key words, then that the server
// still serves.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

#include "grpc_service.grpc.pb.h"
#include "grpc_test_server.h"
#include "grpcpp/grpcpp.h"

namespace inferd {
namespace {

using inference::GRPCInferenceService;
using inference::ModelInferRequest;
using inference::ModelInferResponse;
using ::testing::AllOf;
using ::testing::ElementsAre;
using testing::GrpcTestServer;
using ::testing::HasSubstr;

std::unique_ptr<GRPCInferenceService::Stub> NewStub(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(-1);
  args.SetMaxReceiveMessageSize(-1);
  return GRPCInferenceService::NewStub(
      grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args));
}

std::string Floats(std::initializer_list<float> values) {
  std::string out(values.size() * sizeof(float), '\0');
  std::memcpy(out.data(), std::data(values), out.size());
  return out;
}

// identity with one FP32 input of shape [n] sent raw.
ModelInferRequest Identity(std::string raw) {
  ModelInferRequest r;
  r.set_model_name("identity");
  auto* in = r.add_inputs();
  in->set_name("INPUT0");
  in->set_datatype("FP32");
  in->add_shape(static_cast<int64_t>(raw.size() / sizeof(float)));
  r.add_raw_input_contents(std::move(raw));
  return r;
}

ModelInferRequest AddSub(int64_t batch, int64_t width) {
  ModelInferRequest r;
  r.set_model_name("add_sub");
  for (const char* name : {"INPUT0", "INPUT1"}) {
    auto* in = r.add_inputs();
    in->set_name(name);
    in->set_datatype("INT32");
    in->add_shape(batch);
    in->add_shape(width);
    r.add_raw_input_contents(std::string(static_cast<size_t>(batch * width) * 4, '\1'));
  }
  return r;
}

class GrpcWire : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { server_ = new GrpcTestServer(); }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ASSERT_NE(server_->port(), 0) << server_->process().output();
    stub_ = NewStub(server_->address());
  }

  grpc::Status Infer(const ModelInferRequest& request, ModelInferResponse* response = nullptr) {
    grpc::ClientContext context;
    ModelInferResponse ignored;
    return stub_->ModelInfer(&context, request, response ? response : &ignored);
  }

  // The bad request gets `code` and a message with every word in `words`; then a good request
  // still succeeds.
  void ExpectRejected(const ModelInferRequest& request, grpc::StatusCode code,
                      std::vector<std::string> words) {
    const grpc::Status status = Infer(request);
    EXPECT_EQ(status.error_code(), code) << status.error_message();
    for (const std::string& w : words) EXPECT_THAT(status.error_message(), HasSubstr(w));
    ExpectStillServes();
  }

  void ExpectStillServes() {
    ModelInferResponse response;
    const grpc::Status status = Infer(Identity(Floats({4.f, 2.f})), &response);
    ASSERT_TRUE(status.ok()) << status.error_message();
    EXPECT_EQ(response.raw_output_contents(0), Floats({4.f, 2.f}));
  }

  static GrpcTestServer* server_;
  std::unique_ptr<GRPCInferenceService::Stub> stub_;
};
GrpcTestServer* GrpcWire::server_ = nullptr;

TEST_F(GrpcWire, TypedContentsAreAcceptedAndReturnedTyped) {
  ModelInferRequest r;
  r.set_model_name("identity_int16");
  auto* in = r.add_inputs();
  in->set_name("INPUT0");
  in->set_datatype("INT16");
  in->add_shape(3);
  for (int v : {-7, 0, 30000}) in->mutable_contents()->add_int_contents(v);
  ModelInferResponse response;
  ASSERT_TRUE(Infer(r, &response).ok());
  EXPECT_EQ(response.raw_output_contents_size(), 0);
  EXPECT_THAT(response.outputs(0).contents().int_contents(), ElementsAre(-7, 0, 30000));

  ModelInferRequest s;
  s.set_model_name("identity_bytes");
  in = s.add_inputs();
  in->set_name("INPUT0");
  in->set_datatype("BYTES");
  in->add_shape(2);
  in->mutable_contents()->add_bytes_contents("hello");
  in->mutable_contents()->add_bytes_contents("");
  ASSERT_TRUE(Infer(s, &response).ok());
  EXPECT_THAT(response.outputs(0).contents().bytes_contents(), ElementsAre("hello", ""));
}

TEST_F(GrpcWire, RawResponseForRawRequest) {
  ModelInferResponse response;
  ModelInferRequest r = Identity(Floats({1.f, 2.f, 3.f}));
  r.set_id("req-7");
  ASSERT_TRUE(Infer(r, &response).ok());
  EXPECT_EQ(response.model_name(), "identity");
  EXPECT_EQ(response.model_version(), "1");
  EXPECT_EQ(response.id(), "req-7");
  EXPECT_EQ(response.outputs(0).datatype(), "FP32");
  EXPECT_THAT(response.outputs(0).shape(), ElementsAre(3));
  EXPECT_EQ(response.raw_output_contents(0), Floats({1.f, 2.f, 3.f}));
}

TEST_F(GrpcWire, UnknownModel) {
  ModelInferRequest r = Identity(Floats({1.f}));
  r.set_model_name("no_such_model");
  ExpectRejected(r, grpc::StatusCode::NOT_FOUND, {"no_such_model"});
}

TEST_F(GrpcWire, UnknownVersion) {
  ModelInferRequest r = Identity(Floats({1.f}));
  r.set_model_version("7");
  ExpectRejected(r, grpc::StatusCode::NOT_FOUND, {"identity", "7"});
}

TEST_F(GrpcWire, VersionThatIsNotANumber) {
  ModelInferRequest r = Identity(Floats({1.f}));
  r.set_model_version("latest");
  ExpectRejected(r, grpc::StatusCode::INVALID_ARGUMENT, {"model_version", "'latest'"});
}

TEST_F(GrpcWire, EmptyModelName) {
  ModelInferRequest r = Identity(Floats({1.f}));
  r.clear_model_name();
  ExpectRejected(r, grpc::StatusCode::INVALID_ARGUMENT, {"model_name is empty"});
}

TEST_F(GrpcWire, MissingInput) {
  ModelInferRequest r = AddSub(1, 16);
  r.mutable_inputs()->RemoveLast();
  r.mutable_raw_input_contents()->RemoveLast();
  ExpectRejected(r, grpc::StatusCode::INVALID_ARGUMENT, {"missing input 'INPUT1'", "add_sub"});
}

TEST_F(GrpcWire, UnknownInput) {
  ModelInferRequest r = Identity(Floats({1.f}));
  r.mutable_inputs(0)->set_name("BOGUS");
  ExpectRejected(r, grpc::StatusCode::INVALID_ARGUMENT,
                 {"unexpected inference input 'BOGUS'", "identity"});
}

TEST_F(GrpcWire, WrongDatatype) {
  ModelInferRequest r = Identity(Floats({1.f}));
  r.mutable_inputs(0)->set_datatype("INT32");
  ExpectRejected(r, grpc::StatusCode::INVALID_ARGUMENT, {"'INPUT0'", "'INT32'", "expects 'FP32'"});
}

TEST_F(GrpcWire, UnknownDatatypeName) {
  ModelInferRequest r = Identity(Floats({1.f}));
  r.mutable_inputs(0)->set_datatype("FLOAT");
  ExpectRejected(r, grpc::StatusCode::INVALID_ARGUMENT, {"'INPUT0'", "unknown datatype 'FLOAT'"});
}

TEST_F(GrpcWire, ShapeMismatch) {
  ExpectRejected(AddSub(1, 15), grpc::StatusCode::INVALID_ARGUMENT,
                 {"unexpected shape for input 'INPUT0'", "Expected [-1,16]", "got [1,15]"});
}

TEST_F(GrpcWire, BatchLargerThanTheModelAllows) {
  ExpectRejected(AddSub(9, 16), grpc::StatusCode::INVALID_ARGUMENT, {"batch-size must be <= 8"});
}

TEST_F(GrpcWire, RawInputContentsCountDiffersFromInputs) {
  ModelInferRequest r = AddSub(1, 16);
  r.mutable_raw_input_contents()->RemoveLast();
  ExpectRejected(r, grpc::StatusCode::INVALID_ARGUMENT, {"expected 2 raw_input_contents", "got 1"});
}

TEST_F(GrpcWire, RawByteSizeDiffersFromShapeTimesDatatype) {
  ModelInferRequest r = Identity(Floats({1.f, 2.f, 3.f}));
  r.mutable_inputs(0)->set_shape(0, 4);
  ExpectRejected(r, grpc::StatusCode::INVALID_ARGUMENT,
                 {"byte size mismatch for input 'INPUT0'", "Expected 16, got 12"});
}

TEST_F(GrpcWire, MalformedBytesTensor) {
  ModelInferRequest r;
  r.set_model_name("identity_bytes");
  auto* in = r.add_inputs();
  in->set_name("INPUT0");
  in->set_datatype("BYTES");
  in->add_shape(1);
  r.add_raw_input_contents(std::string("\x09\0\0\0ab", 6));  // Length 9, 2 bytes follow.
  ExpectRejected(r, grpc::StatusCode::INVALID_ARGUMENT, {"'INPUT0'", "identity_bytes"});
}

TEST_F(GrpcWire, BothRawAndTypedContentsForOneInput) {
  ModelInferRequest r = Identity(Floats({1.f}));
  r.mutable_inputs(0)->mutable_contents()->add_fp32_contents(1.f);
  ExpectRejected(r, grpc::StatusCode::INVALID_ARGUMENT,
                 {"'INPUT0'", "both raw_input_contents and typed contents"});
}

TEST_F(GrpcWire, TypedValuesCountDiffersFromShape) {
  ModelInferRequest r;
  r.set_model_name("identity");
  auto* in = r.add_inputs();
  in->set_name("INPUT0");
  in->set_datatype("FP32");
  in->add_shape(4);
  for (float v : {1.f, 2.f, 3.f}) in->mutable_contents()->add_fp32_contents(v);
  ExpectRejected(r, grpc::StatusCode::INVALID_ARGUMENT,
                 {"'INPUT0'", "4 elements", "contents.fp32_contents has 3 values"});
}

TEST_F(GrpcWire, TypedValuesInTheWrongField) {
  ModelInferRequest r;
  r.set_model_name("identity");
  auto* in = r.add_inputs();
  in->set_name("INPUT0");
  in->set_datatype("FP32");
  in->add_shape(1);
  in->mutable_contents()->add_int_contents(1);
  ExpectRejected(r, grpc::StatusCode::INVALID_ARGUMENT,
                 {"contents.fp32_contents", "contents.int_contents is set"});
}

TEST_F(GrpcWire, TypedContentsForFp16) {
  ModelInferRequest r;
  r.set_model_name("identity_fp16");
  auto* in = r.add_inputs();
  in->set_name("INPUT0");
  in->set_datatype("FP16");
  in->add_shape(1);
  in->mutable_contents()->add_fp32_contents(1.f);
  ExpectRejected(r, grpc::StatusCode::INVALID_ARGUMENT,
                 {"FP16", "no typed contents", "raw_input_contents"});
}

TEST_F(GrpcWire, InputWithoutData) {
  ModelInferRequest r = Identity(Floats({1.f}));
  r.clear_raw_input_contents();
  ExpectRejected(r, grpc::StatusCode::INVALID_ARGUMENT, {"'INPUT0'", "has no data"});
}

TEST_F(GrpcWire, UnknownRequestedOutput) {
  ModelInferRequest r = Identity(Floats({1.f}));
  r.add_outputs()->set_name("NOPE");
  ExpectRejected(r, grpc::StatusCode::INVALID_ARGUMENT, {"unexpected inference output 'NOPE'"});
}

TEST_F(GrpcWire, NonIntegerPriorityParameter) {
  ModelInferRequest r = Identity(Floats({1.f}));
  (*r.mutable_parameters())["priority"].set_string_param("high");
  ExpectRejected(r, grpc::StatusCode::INVALID_ARGUMENT, {"'priority'", "integer"});
}

TEST_F(GrpcWire, ModelMetadataOfAnUnknownModel) {
  grpc::ClientContext context;
  inference::ModelMetadataRequest request;
  request.set_name("no_such_model");
  inference::ModelMetadataResponse response;
  const grpc::Status status = stub_->ModelMetadata(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_THAT(status.error_message(), HasSubstr("no_such_model"));
  ExpectStillServes();
}

TEST_F(GrpcWire, RepositoryNameIsRefused) {
  grpc::ClientContext context;
  inference::RepositoryIndexRequest request;
  request.set_repository_name("other");
  inference::RepositoryIndexResponse response;
  const grpc::Status status = stub_->RepositoryIndex(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(),
              AllOf(HasSubstr("repository_name 'other'"), HasSubstr("one repository")));
  ExpectStillServes();
}

TEST_F(GrpcWire, LoadParametersAreRefused) {
  grpc::ClientContext context;
  inference::RepositoryModelLoadRequest request;
  request.set_model_name("identity");
  (*request.mutable_parameters())["config"].set_string_param("{}");
  inference::RepositoryModelLoadResponse response;
  const grpc::Status status = stub_->RepositoryModelLoad(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);  // As HTTP's 501.
  EXPECT_THAT(status.error_message(), HasSubstr("load parameter 'config'"));
  ExpectStillServes();
}

TEST_F(GrpcWire, CudaSharedMemoryIsUnimplemented) {
  grpc::ClientContext context;
  inference::CudaSharedMemoryStatusRequest request;
  inference::CudaSharedMemoryStatusResponse response;
  const grpc::Status status = stub_->CudaSharedMemoryStatus(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::UNIMPLEMENTED);
  EXPECT_THAT(status.error_message(), HasSubstr("without GPU support"));
  ExpectStillServes();
}

TEST_F(GrpcWire, StreamErrorCarriesTheRequestIdAndTheStreamGoesOn) {
  grpc::ClientContext context;
  auto stream = stub_->ModelStreamInfer(&context);
  ModelInferRequest bad = Identity(Floats({1.f}));
  bad.set_id("bad");
  bad.mutable_inputs(0)->set_datatype("INT8");
  ModelInferRequest good = Identity(Floats({5.f}));
  good.set_id("good");
  ASSERT_TRUE(stream->Write(bad));
  inference::ModelStreamInferResponse response;
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.infer_response().id(), "bad");
  EXPECT_THAT(response.error_message(), HasSubstr("data-type is 'INT8'"));
  ASSERT_TRUE(stream->Write(good));
  ASSERT_TRUE(stream->Read(&response));
  EXPECT_EQ(response.error_message(), "");
  EXPECT_EQ(response.infer_response().id(), "good");
  EXPECT_EQ(response.infer_response().raw_output_contents(0), Floats({5.f}));
  stream->WritesDone();
  EXPECT_TRUE(stream->Finish().ok());
}

TEST(GrpcMessageLimit, MessageOverTheSizeLimitIsRefusedAndTheServerGoesOn) {
  GrpcTestServer server({"--grpc-max-message-size=1048576"});
  ASSERT_NE(server.port(), 0) << server.process().output();
  auto stub = NewStub(server.address());
  {
    grpc::ClientContext context;
    ModelInferResponse response;
    const grpc::Status status =
        stub->ModelInfer(&context, Identity(std::string(2 << 20, '\0')), &response);
    EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
    EXPECT_THAT(status.error_message(), HasSubstr("larger than max"));
  }
  grpc::ClientContext context;
  ModelInferResponse response;
  const grpc::Status status =
      stub->ModelInfer(&context, Identity(std::string(512 << 10, '\0')), &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  EXPECT_EQ(response.raw_output_contents(0).size(), 512u << 10);
}

}  // namespace
}  // namespace inferd
