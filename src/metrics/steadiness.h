// SPDX-License-Identifier: Apache-2.0
// How steady a utilization is: over the last N samples, the mean, the standard deviation and the
// number of large swings between consecutive samples. Steady at 80-90% is a well-fed device;
// swings such as 40% -> 80% point to a stage that starves it. Not thread-safe.
#pragma once

#include <cstddef>
#include <deque>

namespace inferd::metrics {

struct Steadiness {
  double mean = 0;
  double stddev = 0;  // Population standard deviation of the samples in the window.
  int swings = 0;     // Consecutive pairs in the window that differ by >= the swing threshold.
  size_t samples = 0;
};

class UtilizationWindow {
 public:
  // `capacity` >= 1 samples; `swing_threshold` in utilization units (0.25 = 25 points).
  UtilizationWindow(size_t capacity, double swing_threshold)
      : capacity_(capacity < 1 ? 1 : capacity), swing_threshold_(swing_threshold) {}

  void Add(double utilization);
  Steadiness Compute() const;
  bool empty() const { return samples_.empty(); }

 private:
  size_t capacity_;
  double swing_threshold_;
  std::deque<double> samples_;
};

}  // namespace inferd::metrics
