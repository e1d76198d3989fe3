// SPDX-License-Identifier: Apache-2.0
// Render() of top_view.h: the screen as plain text.
#include <algorithm>
#include <cmath>

#include "fmt/format.h"
#include "top_view.h"

namespace inferd::top {
namespace {

std::string Opt(const std::optional<double>& v, const char* format, const char* none = "-") {
  return v ? fmt::format(fmt::runtime(format), *v) : std::string(none);
}

std::string Bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  int unit = 0;
  while (bytes >= 1024 && unit < 4) {
    bytes /= 1024;
    ++unit;
  }
  if (unit == 0) return fmt::format("{:.0f} {}", bytes, units[unit]);
  return fmt::format("{:.1f} {}", bytes, units[unit]);
}

std::string Sparkline(const std::deque<double>& samples) {
  static const char* kBars[] = {"▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"};
  std::string out;
  for (double u : samples) {
    const int level = std::clamp(static_cast<int>(std::lround(u * 7)), 0, 7);
    out += kBars[level];
  }
  return out;
}

// Wraps `text` at `width` columns, continuation lines indented by `indent`.
void Wrap(std::string& out, const std::string& text, size_t width, const std::string& first,
          const std::string& indent) {
  std::string line = first;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find(' ', start);
    if (end == std::string::npos) end = text.size();
    const std::string word = text.substr(start, end - start);
    if (line.size() + word.size() + 1 > width && line.size() > indent.size()) {
      out += line + "\n";
      line = indent;
    }
    if (line.size() > indent.size() && line != first) line += ' ';
    line += word;
    start = end + 1;
  }
  out += line + "\n";
}

std::string BatchSizes(const ModelRow& m) {
  if (m.batch_sizes.empty()) return "-";
  std::string out;
  for (const auto& [size, runs] : m.batch_sizes) {
    if (!out.empty()) out += ' ';
    out += fmt::format("{}{}x{}", m.exact_batch_sizes ? "" : "<=", size, runs);
  }
  return out;
}

void DeviceLine(std::string& out, const DeviceRow& d, const UtilizationHistory& history) {
  std::string name = d.name;
  if (name.size() > 14) name = name.substr(0, 13) + "~";
  auto it = history.find(d.name);
  const std::string spark = it != history.end() ? Sparkline(it->second) : "";
  out += fmt::format(
      "{:<14} util {:>4}  {}\n", name,
      Opt(d.utilization ? std::optional<double>(*d.utilization * 100) : std::nullopt, "{:.0f}%"),
      spark);
  out += fmt::format("{:<14} steadiness: mean {} std dev {} swings {}\n", "",
                     d.mean ? fmt::format("{:.0f}%", *d.mean * 100) : "-",
                     d.stddev ? fmt::format("{:.0f}%", *d.stddev * 100) : "-",
                     Opt(d.swings, "{:.0f}"));
  std::string memory = "-";
  if (d.memory_used_bytes && d.memory_total_bytes) {
    memory = fmt::format("{} / {}", Bytes(*d.memory_used_bytes), Bytes(*d.memory_total_bytes));
  }
  std::string power = d.power_w ? fmt::format("{:.1f} W", *d.power_w) : "n/a";
  if (d.power_limit_w) power += fmt::format(" of {:.0f} W", *d.power_limit_w);
  out += fmt::format("{:<14} memory {}  power {}\n", "", memory, power);
}

}  // namespace

std::string Render(const TopView& view, const UtilizationHistory& history,
                   const std::string& target, int width) {
  const size_t w = static_cast<size_t>(std::max(width, 60));
  std::string out = fmt::format("inferd-top  {}  interval {:.1f} s\n\n", target, view.interval_s);
  out += fmt::format("{:<18} {:>3} {:>8} {:>7} {:>9} {:>9} {:>6} {:>5}  {}\n", "MODEL", "VER",
                     "REQ/S", "FAIL/S", "P50 ms", "P99 ms", "QUEUE", "PEND", "BATCH SIZES RUN");
  if (view.models.empty()) out += "(no model loaded)\n";
  for (const ModelRow& m : view.models) {
    std::string name = m.name.size() > 18 ? m.name.substr(0, 17) + "~" : m.name;
    auto ms = [](const std::optional<double>& us) {
      return us ? fmt::format("{:.3f}", *us / 1000) : std::string("-");
    };
    std::string line =
        fmt::format("{:<18} {:>3} {:>8.1f} {:>7.1f} {:>9} {:>9} {:>6} {:>5.0f}  {}{}", name,
                    m.version, m.request_rate, m.failure_rate, ms(m.p50_us), ms(m.p99_us),
                    m.queue_share ? fmt::format("{:.0f}%", *m.queue_share * 100) : "-", m.pending,
                    BatchSizes(m),
                    m.since_start && (m.p50_us || !m.batch_sizes.empty()) ? " (since start)" : "");
    out += line + "\n";
  }
  out += "\n";
  DeviceLine(out, view.cpu, history);
  if (view.resident_bytes) {
    out += fmt::format("{:<14} inferd resident memory {}\n", "", Bytes(*view.resident_bytes));
  }
  if (view.gpus.empty()) out += "GPU            none reported (no NVML or no GPU)\n";
  for (const DeviceRow& gpu : view.gpus) DeviceLine(out, gpu, history);
  out += "\nHints:\n";
  for (const std::string& hint : view.hints) Wrap(out, hint, w, " * ", "   ");
  return out;
}

}  // namespace inferd::top
