// SPDX-License-Identifier: Apache-2.0
// The Prometheus text a collector exposes, for exact comparisons in tests.
#pragma once

#include <sstream>
#include <string>

#include "prometheus/collectable.h"
#include "prometheus/text_serializer.h"

namespace inferd::metrics::testing {

inline std::string ExpositionText(const prometheus::Collectable& collectable) {
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, collectable.Collect());
  return out.str();
}

}  // namespace inferd::metrics::testing
