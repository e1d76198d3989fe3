// SPDX-License-Identifier: Apache-2.0
#include "metrics/steadiness.h"

#include <cmath>

namespace inferd::metrics {

void UtilizationWindow::Add(double utilization) {
  samples_.push_back(utilization);
  while (samples_.size() > capacity_) samples_.pop_front();
}

Steadiness UtilizationWindow::Compute() const {
  Steadiness s;
  s.samples = samples_.size();
  if (samples_.empty()) return s;
  double sum = 0;
  for (double u : samples_) sum += u;
  s.mean = sum / static_cast<double>(samples_.size());
  double squares = 0;
  for (double u : samples_) squares += (u - s.mean) * (u - s.mean);
  s.stddev = std::sqrt(squares / static_cast<double>(samples_.size()));
  // A small epsilon so that a swing of exactly the threshold counts despite rounding.
  for (size_t i = 1; i < samples_.size(); ++i) {
    if (std::fabs(samples_[i] - samples_[i - 1]) >= swing_threshold_ - 1e-9) ++s.swings;
  }
  return s;
}

}  // namespace inferd::metrics
