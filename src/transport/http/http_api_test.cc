// SPDX-License-Identifier: Apache-2.0
// HttpApi over plain structs, with a real InferenceServer and the builtin plugin (no sockets).
#include "transport/http/http_api.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <future>

namespace inferd {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class HttpApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.model_repository = INFERD_EXAMPLE_REPOSITORY;
    options.backend_directory = INFERD_TEST_BACKEND_DIR;
    auto server = InferenceServer::Create(options);
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *std::move(server);
    api_ = std::make_unique<HttpApi>(server_.get());
  }

  HttpResponse Call(std::string method, std::string target, std::string body = "",
                    std::optional<std::string> header_length = std::nullopt) {
    auto storage = std::make_shared<std::string>(std::move(body));
    HttpRequest r;
    r.method = std::move(method);
    r.target = std::move(target);
    r.body = reinterpret_cast<const std::byte*>(storage->data());
    r.body_size = storage->size();
    r.body_owner = storage;
    r.inference_header_length = std::move(header_length);
    std::promise<HttpResponse> done;
    api_->Handle(std::move(r), [&](HttpResponse response) { done.set_value(std::move(response)); });
    return done.get_future().get();
  }

  std::unique_ptr<InferenceServer> server_;
  std::unique_ptr<HttpApi> api_;
};

TEST_F(HttpApiTest, UnknownPathIs404AndWrongMethodIs405) {
  HttpResponse r = Call("GET", "/v2/nothing");
  EXPECT_EQ(r.status, 404);
  EXPECT_THAT(r.json, HasSubstr("no endpoint at '/v2/nothing'"));
  r = Call("GET", "/v2/models/identity/infer");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.allow, "POST");
  EXPECT_THAT(r.json, HasSubstr("method GET is not allowed"));
}

TEST_F(HttpApiTest, ConfigIsJsonWithSnakeCaseNamesAndNumericDims) {
  HttpResponse r = Call("GET", "/v2/models/add_sub/config");
  ASSERT_EQ(r.status, 200) << r.json;
  EXPECT_THAT(r.json, HasSubstr(R"("max_batch_size":8)"));
  EXPECT_THAT(r.json, HasSubstr(R"("dims":[16])"));
  EXPECT_THAT(r.json, HasSubstr(R"("data_type":"TYPE_INT32")"));
}

TEST_F(HttpApiTest, JsonInferEchoesIdAndReturnsOnlyRequestedOutputs) {
  HttpResponse r = Call("POST", "/v2/models/add_sub/infer", R"({
    "id": "req-7",
    "inputs": [
      {"name": "INPUT0", "datatype": "INT32", "shape": [1, 16],
       "data": [[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16]]},
      {"name": "INPUT1", "datatype": "INT32", "shape": [1, 16],
       "data": [1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]}],
    "outputs": [{"name": "OUTPUT1"}]})");
  ASSERT_EQ(r.status, 200) << r.json;
  EXPECT_THAT(r.json, HasSubstr(R"("id":"req-7")"));
  EXPECT_THAT(r.json, HasSubstr(R"("data":[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15])"));
  EXPECT_THAT(r.json, Not(HasSubstr("OUTPUT0")));
}

TEST_F(HttpApiTest, RepositoryLoadInModeNoneSaysHowToEnableIt) {
  HttpResponse r = Call("POST", "/v2/repository/models/identity/load");
  EXPECT_EQ(r.status, 400);
  EXPECT_THAT(r.json, HasSubstr("--model-control-mode=explicit"));
}

}  // namespace
}  // namespace inferd
