// SPDX-License-Identifier: Apache-2.0
// The moving average inferd keeps of recent durations (execution times, waits).
#pragma once

#include <cstdint>

namespace inferd {

// The average after `sample`, weighting it 1/8: it follows a change (another model, another
// payload size) within a few dozen samples. `average` < 0 means no sample yet.
constexpr int64_t MovingAverageStep(int64_t average, int64_t sample) {
  return average < 0 ? sample : average + (sample - average) / 8;
}

}  // namespace inferd
