// SPDX-License-Identifier: Apache-2.0
#include "inferd/status.h"

#include <gtest/gtest.h>

namespace inferd {
namespace {

TEST(StatusMapping, HttpFollowsTriton) {
  EXPECT_EQ(HttpStatusFromStatusCode(absl::StatusCode::kOk), 200);
  EXPECT_EQ(HttpStatusFromStatusCode(absl::StatusCode::kInvalidArgument), 400);
  EXPECT_EQ(HttpStatusFromStatusCode(absl::StatusCode::kAlreadyExists), 400);
  EXPECT_EQ(HttpStatusFromStatusCode(absl::StatusCode::kUnknown), 400);
  EXPECT_EQ(HttpStatusFromStatusCode(absl::StatusCode::kCancelled), 400);
  EXPECT_EQ(HttpStatusFromStatusCode(absl::StatusCode::kNotFound), 404);
  EXPECT_EQ(HttpStatusFromStatusCode(absl::StatusCode::kUnavailable), 503);
  EXPECT_EQ(HttpStatusFromStatusCode(absl::StatusCode::kResourceExhausted), 503);
  EXPECT_EQ(HttpStatusFromStatusCode(absl::StatusCode::kUnimplemented), 501);
  EXPECT_EQ(HttpStatusFromStatusCode(absl::StatusCode::kInternal), 500);
  EXPECT_EQ(HttpStatusFromStatusCode(absl::StatusCode::kDeadlineExceeded), 504);
}

TEST(StatusMapping, GrpcCodesUseGrpcNumbering) {
  EXPECT_EQ(GrpcCodeFromStatusCode(absl::StatusCode::kOk), 0);
  EXPECT_EQ(GrpcCodeFromStatusCode(absl::StatusCode::kInvalidArgument), 3);
  EXPECT_EQ(GrpcCodeFromStatusCode(absl::StatusCode::kNotFound), 5);
  EXPECT_EQ(GrpcCodeFromStatusCode(absl::StatusCode::kResourceExhausted), 8);
  EXPECT_EQ(GrpcCodeFromStatusCode(absl::StatusCode::kUnimplemented), 12);
  EXPECT_EQ(GrpcCodeFromStatusCode(absl::StatusCode::kInternal), 13);
  EXPECT_EQ(GrpcCodeFromStatusCode(absl::StatusCode::kUnavailable), 14);
  EXPECT_EQ(StatusCodeName(absl::StatusCode::kUnavailable), "UNAVAILABLE");
}

}  // namespace
}  // namespace inferd
