// SPDX-License-Identifier: Apache-2.0
// Injectable time source, so schedulers and timeouts are testable on a fake clock.
#pragma once

#include <cstdint>

namespace inferd {

class Clock {
 public:
  virtual ~Clock() = default;
  // Monotonic nanoseconds.
  virtual int64_t NowNanos() const = 0;
  // The process-wide monotonic clock (steady_clock). Never null, never deleted.
  static const Clock* Real();
};

// Wall-clock milliseconds since the Unix epoch (statistics' last_inference).
int64_t WallMillisNow();

}  // namespace inferd
