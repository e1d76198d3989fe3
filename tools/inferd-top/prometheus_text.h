// SPDX-License-Identifier: Apache-2.0
// A reader of the Prometheus text exposition format (what GET /metrics returns): samples with
// their labels, and look-ups by name and labels.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace inferd::top {

struct MetricSample {
  std::string name;  // For histograms, with its suffix: x_bucket, x_sum, x_count.
  std::map<std::string, std::string> labels;
  double value = 0;
};

class MetricSet {
 public:
  MetricSet() = default;
  explicit MetricSet(std::vector<MetricSample> samples) : samples_(std::move(samples)) {}

  // INVALID_ARGUMENT naming the line for a line that is neither a comment nor a sample.
  static absl::StatusOr<MetricSet> Parse(std::string_view text);

  // The first sample named `name` whose labels include every pair of `labels`.
  std::optional<double> Get(std::string_view name,
                            const std::map<std::string, std::string>& labels = {}) const;
  // The sum over every sample named `name` whose labels include `labels`; nullopt if none.
  std::optional<double> Sum(std::string_view name,
                            const std::map<std::string, std::string>& labels = {}) const;
  // Every sample named `name`.
  std::vector<const MetricSample*> All(std::string_view name) const;

  const std::vector<MetricSample>& samples() const { return samples_; }

 private:
  std::vector<MetricSample> samples_;
};

}  // namespace inferd::top
