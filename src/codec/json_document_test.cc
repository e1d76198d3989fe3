// SPDX-License-Identifier: Apache-2.0
#include "codec/json_document.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace inferd::codec {
namespace {

using ::testing::HasSubstr;

std::string Nested(int depth, const std::string& inner = "1") {
  return std::string(depth, '[') + inner + std::string(depth, ']');
}

TEST(ParseJsonDocument, ParsesADocument) {
  rapidjson::Document doc;
  ASSERT_TRUE(ParseJsonDocument(R"({"a":[1,2,{"b":"c"}],"d":null})", "the body", doc).ok());
  ASSERT_TRUE(doc.IsObject());
  EXPECT_EQ(doc["a"].Size(), 3u);
  EXPECT_STREQ(doc["a"][2]["b"].GetString(), "c");
}

TEST(ParseJsonDocument, AcceptsNestingUpToTheLimit) {
  rapidjson::Document doc;
  EXPECT_TRUE(ParseJsonDocument(Nested(kMaxJsonDepth), "the body", doc).ok());
  EXPECT_TRUE(doc.IsArray());
}

TEST(ParseJsonDocument, RefusesDeeperNestingNamingTheLimit) {
  rapidjson::Document doc;
  absl::Status status = ParseJsonDocument(Nested(kMaxJsonDepth + 1), "the body", doc);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("failed to parse the body: arrays and objects nest deeper than 100 "
                        "levels (at byte 10"));
  EXPECT_TRUE(doc.IsNull());
}

TEST(ParseJsonDocument, AMillionOpenBracketsIsAnErrorNotAStackOverflow) {
  rapidjson::Document doc;
  for (char open : {'[', '{'}) {
    std::string deep(1'000'000, open);
    if (open == '{') {
      deep.clear();
      for (int i = 0; i < 200'000; ++i) deep += "{\"a\":";
    }
    absl::Status status = ParseJsonDocument(deep, "the request JSON", doc);
    EXPECT_THAT(std::string(status.message()), HasSubstr("nest deeper than 100 levels"));
  }
}

TEST(ParseJsonDocument, InvalidJsonSaysWhatAndWhere) {
  rapidjson::Document doc;
  absl::Status status = ParseJsonDocument(R"({"a": })", "the request JSON", doc);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("failed to parse the request JSON: Invalid value. (at byte 6)"));
  EXPECT_FALSE(ParseJsonDocument("", "x", doc).ok());
  EXPECT_FALSE(ParseJsonDocument("[1] 2", "x", doc).ok());  // Trailing content.
}

}  // namespace
}  // namespace inferd::codec
