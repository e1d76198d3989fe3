// SPDX-License-Identifier: Apache-2.0
#include "prometheus_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

namespace inferd::top {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

constexpr char kText[] =
    R"(# HELP nv_inference_request_success Number of successful inference requests
# TYPE nv_inference_request_success counter
nv_inference_request_success{model="identity",version="1"} 7
nv_inference_request_success{model="busy",version="1"} 2
nv_inference_request_failure{model="identity",version="1",reason="REJECTED"} 1
nv_inference_request_failure{model="identity",version="1",reason="OTHER"} 3
nv_inference_request_latency_us_bucket{model="identity",version="1",le="+Inf"} 7
nv_cpu_utilization 0.25
odd{path="a\"b\\c"} 1e3 1700000000000
)";

TEST(MetricSet, ParsesSamplesWithLabelsAndLooksThemUp) {
  auto set = MetricSet::Parse(kText);
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->samples().size(), 7u);
  EXPECT_EQ(set->Get("nv_inference_request_success", {{"model", "busy"}}), 2);
  EXPECT_EQ(set->Get("nv_cpu_utilization"), 0.25);
  EXPECT_EQ(set->Sum("nv_inference_request_failure", {{"model", "identity"}}), 4);
  EXPECT_EQ(set->Get("nv_inference_request_failure", {{"reason", "OTHER"}}), 3);
  EXPECT_FALSE(set->Get("nv_gpu_utilization").has_value());
  EXPECT_FALSE(set->Sum("nv_inference_request_failure", {{"model", "none"}}).has_value());
  EXPECT_EQ(set->Get("nv_inference_request_latency_us_bucket", {{"le", "+Inf"}}), 7);
  auto inf = MetricSet::Parse("x_bucket{le=\"+Inf\"} +Inf\n");
  ASSERT_TRUE(inf.ok());
  EXPECT_TRUE(std::isinf(*inf->Get("x_bucket")));
  EXPECT_EQ(set->Get("odd", {{"path", "a\"b\\c"}}), 1000);  // Escapes; timestamp dropped.
}

TEST(MetricSet, MalformedLineIsInvalidArgumentNamingTheLine) {
  auto set = MetricSet::Parse("# ok\nnv_x{model=\"a\"} 1\nnv_y{model=\"a\" 2\n");
  EXPECT_EQ(set.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(set.status().message()), AllOf(HasSubstr("line 3"), HasSubstr("nv_y")));
  set = MetricSet::Parse("nv_x twelve\n");
  EXPECT_EQ(set.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(set.status().message()), HasSubstr("not a number"));
}

}  // namespace
}  // namespace inferd::top
