// SPDX-License-Identifier: Apache-2.0
#include "prometheus_text.h"

#include <cmath>
#include <cstdlib>
#include <limits>

#include "fmt/format.h"

namespace inferd::top {
namespace {

bool Includes(const std::map<std::string, std::string>& have,
              const std::map<std::string, std::string>& want) {
  for (const auto& [key, value] : want) {
    auto it = have.find(key);
    if (it == have.end() || it->second != value) return false;
  }
  return true;
}

std::optional<double> ParseValue(std::string_view text) {
  if (text == "+Inf" || text == "Inf") return std::numeric_limits<double>::infinity();
  if (text == "-Inf") return -std::numeric_limits<double>::infinity();
  if (text == "NaN" || text == "Nan") return std::numeric_limits<double>::quiet_NaN();
  std::string copy(text);
  char* end = nullptr;
  const double value = std::strtod(copy.c_str(), &end);
  if (end == copy.c_str() || *end != '\0') return std::nullopt;
  return value;
}

}  // namespace

absl::StatusOr<MetricSet> MetricSet::Parse(std::string_view text) {
  std::vector<MetricSample> samples;
  int line_number = 0;
  while (!text.empty()) {
    const size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line.front() == '#') continue;
    auto bad = [&](std::string_view why) {
      return absl::InvalidArgumentError(
          fmt::format("metrics line {}: {}: '{}'", line_number, why, line));
    };
    MetricSample sample;
    size_t pos = 0;
    while (pos < line.size() && line[pos] != '{' && line[pos] != ' ') ++pos;
    sample.name = std::string(line.substr(0, pos));
    if (sample.name.empty()) return bad("no metric name");
    if (pos < line.size() && line[pos] == '{') {
      ++pos;
      while (pos < line.size() && line[pos] != '}') {
        const size_t eq = line.find('=', pos);
        if (eq == std::string_view::npos || eq + 1 >= line.size() || line[eq + 1] != '"') {
          return bad("malformed label");
        }
        std::string key(line.substr(pos, eq - pos));
        std::string value;
        size_t i = eq + 2;
        for (; i < line.size() && line[i] != '"'; ++i) {
          if (line[i] == '\\' && i + 1 < line.size()) {
            ++i;
            value.push_back(line[i] == 'n' ? '\n' : line[i]);
          } else {
            value.push_back(line[i]);
          }
        }
        if (i >= line.size()) return bad("unterminated label value");
        sample.labels[std::move(key)] = std::move(value);
        pos = i + 1;
        if (pos < line.size() && line[pos] == ',') ++pos;
      }
      if (pos >= line.size()) return bad("unterminated labels");
      ++pos;
    }
    while (pos < line.size() && line[pos] == ' ') ++pos;
    std::string_view value_text = line.substr(pos);
    value_text = value_text.substr(0, value_text.find(' '));  // Drop an optional timestamp.
    auto value = ParseValue(value_text);
    if (!value) return bad("not a number");
    sample.value = *value;
    samples.push_back(std::move(sample));
  }
  return MetricSet(std::move(samples));
}

std::optional<double> MetricSet::Get(std::string_view name,
                                     const std::map<std::string, std::string>& labels) const {
  for (const MetricSample& s : samples_) {
    if (s.name == name && Includes(s.labels, labels)) return s.value;
  }
  return std::nullopt;
}

std::optional<double> MetricSet::Sum(std::string_view name,
                                     const std::map<std::string, std::string>& labels) const {
  std::optional<double> sum;
  for (const MetricSample& s : samples_) {
    if (s.name == name && Includes(s.labels, labels)) sum = sum.value_or(0) + s.value;
  }
  return sum;
}

std::vector<const MetricSample*> MetricSet::All(std::string_view name) const {
  std::vector<const MetricSample*> out;
  for (const MetricSample& s : samples_) {
    if (s.name == name) out.push_back(&s);
  }
  return out;
}

}  // namespace inferd::top
