// SPDX-License-Identifier: Apache-2.0
// Small helpers to build prometheus::MetricFamily values for the collectors.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "prometheus/metric_family.h"

namespace inferd::metrics {

using Labels = std::vector<std::pair<std::string, std::string>>;

inline prometheus::MetricFamily Family(std::string name, std::string help,
                                       prometheus::MetricType type) {
  prometheus::MetricFamily family;
  family.name = std::move(name);
  family.help = std::move(help);
  family.type = type;
  return family;
}

inline prometheus::ClientMetric& AddMetric(prometheus::MetricFamily& family, const Labels& labels) {
  prometheus::ClientMetric& metric = family.metric.emplace_back();
  for (const auto& [name, value] : labels) metric.label.push_back({name, value});
  return metric;
}

inline void AddValue(prometheus::MetricFamily& family, const Labels& labels, double value) {
  prometheus::ClientMetric& metric = AddMetric(family, labels);
  if (family.type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
}

}  // namespace inferd::metrics
