// SPDX-License-Identifier: Apache-2.0
#include "metrics/steadiness.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace inferd::metrics {
namespace {

using ::testing::DoubleNear;

TEST(UtilizationWindow, SteadyUtilizationHasNoSwingsAndNoSpread) {
  UtilizationWindow window(/*capacity=*/10, /*swing_threshold=*/0.25);
  for (int i = 0; i < 10; ++i) window.Add(0.85);
  const Steadiness s = window.Compute();
  EXPECT_THAT(s.mean, DoubleNear(0.85, 1e-12));
  EXPECT_THAT(s.stddev, DoubleNear(0.0, 1e-12));
  EXPECT_EQ(s.swings, 0);
  EXPECT_EQ(s.samples, 10u);
}

TEST(UtilizationWindow, SwingsBetweenFortyAndEightyAreCounted) {
  UtilizationWindow window(10, 0.25);
  for (double u : {0.4, 0.8, 0.4, 0.8}) window.Add(u);
  const Steadiness s = window.Compute();
  EXPECT_THAT(s.mean, DoubleNear(0.6, 1e-12));
  EXPECT_THAT(s.stddev, DoubleNear(0.2, 1e-12));
  EXPECT_EQ(s.swings, 3);
}

TEST(UtilizationWindow, ChangesBelowTheThresholdAreNotSwings) {
  UtilizationWindow window(10, 0.25);
  for (double u : {0.7, 0.9, 0.75, 0.5}) window.Add(u);
  EXPECT_EQ(window.Compute().swings, 1);  // Only 0.75 -> 0.5 reaches 25 points.
}

TEST(UtilizationWindow, OldSamplesLeaveTheWindow) {
  UtilizationWindow window(3, 0.25);
  for (double u : {0.1, 0.9, 0.5, 0.5, 0.5}) window.Add(u);
  const Steadiness s = window.Compute();
  EXPECT_EQ(s.samples, 3u);
  EXPECT_THAT(s.mean, DoubleNear(0.5, 1e-12));
  EXPECT_EQ(s.swings, 0);
}

TEST(UtilizationWindow, EmptyWindowIsAllZero) {
  UtilizationWindow window(3, 0.25);
  EXPECT_TRUE(window.empty());
  EXPECT_EQ(window.Compute().samples, 0u);
}

}  // namespace
}  // namespace inferd::metrics
