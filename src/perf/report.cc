// SPDX-License-Identifier: Apache-2.0
#include "perf/report.h"

#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace inferd::perf {
namespace {

uint64_t Us(double us) { return us <= 0 ? 0 : static_cast<uint64_t>(us); }

std::string Csvq(const std::string& s) {
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

std::string Opt(const std::optional<double>& v, double scale, const char* format) {
  return v ? fmt::format(fmt::runtime(format), *v * scale) : "";
}

absl::Status WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  if (!out) return absl::PermissionDeniedError(fmt::format("cannot write {}", path));
  out << text;
  out.close();
  if (!out) return absl::DataLossError(fmt::format("writing {} failed", path));
  return absl::OkStatus();
}

}  // namespace

std::string CsvText(const ProfileResult& result, bool verbose) {
  std::ostringstream out;
  out << (result.mode == LoadMode::kConcurrency ? "Concurrency" : "Request Rate")
      << ",Inferences/Second,Client Send,Network+Server Send/Recv,Server Queue,"
         "Server Compute Input,Server Compute Infer,Server Compute Output,Client Recv,"
         "p50 latency,p90 latency,p95 latency,p99 latency";
  if (verbose) {
    out << ",";
    if (!result.percentile) out << "Avg latency,";
    out << "request/response,response wait";
    out << ",Errors,Stable,Server Success,Server Executions,Batch Sizes,CPU Utilization,"
           "CPU Utilization Std Dev,CPU Swings,Server RSS Bytes,CPU Power W";
  }
  out << "\n";
  std::vector<const LevelResult*> rows;
  for (const auto& l : result.levels) rows.push_back(&l);
  std::stable_sort(rows.begin(), rows.end(), [](const LevelResult* a, const LevelResult* b) {
    return a->throughput < b->throughput;
  });
  for (const LevelResult* l : rows) {
    out << fmt::format("{:g}", l->value) << "," << fmt::format("{:g}", l->throughput) << ","
        << Us(l->client_send_us) << "," << Us(l->network_server_us) << ","
        << Us(l->server.queue_us) << "," << Us(l->server.compute_input_us) << ","
        << Us(l->server.compute_infer_us) << "," << Us(l->server.compute_output_us) << ","
        << Us(l->client_recv_us) << "," << Us(l->latency.p50_us) << "," << Us(l->latency.p90_us)
        << "," << Us(l->latency.p95_us) << "," << Us(l->latency.p99_us);
    if (verbose) {
      out << ",";
      if (!result.percentile) out << Us(l->latency.avg_us) << ",";
      out << Us(l->client_send_us + l->client_recv_us) << "," << Us(l->response_wait_us);
      std::string batches;
      for (const auto& [size, count] : l->server.executions_by_batch_size) {
        batches += fmt::format("{}{}:{}", batches.empty() ? "" : " ", size, count);
      }
      const HardwareSummary& h = l->hardware;
      out << "," << l->errors << "," << (l->stable ? "yes" : "no") << ","
          << l->server.success_count << "," << l->server.execution_count << "," << Csvq(batches)
          << "," << Opt(h.cpu_utilization_mean, 1, "{:.3f}") << ","
          << Opt(h.cpu_utilization_stddev, 1, "{:.3f}") << ","
          << (h.cpu_utilization_swings ? std::to_string(*h.cpu_utilization_swings) : "") << ","
          << Opt(h.resident_memory_bytes, 1, "{:.0f}") << "," << Opt(h.cpu_power_w, 1, "{:.1f}");
    }
    out << "\n";
  }
  return out.str();
}

absl::Status WriteCsv(const ProfileResult& result, const std::string& path, bool verbose) {
  return WriteFile(path, CsvText(result, verbose));
}

std::string JsonText(const ProfileResult& r) {
  rapidjson::StringBuffer buffer;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buffer);
  w.SetIndent(' ', 2);
  auto key = [&](const char* k) { w.Key(k); };
  auto str = [&](const char* k, const std::string& v) {
    key(k);
    w.String(v.c_str(), static_cast<rapidjson::SizeType>(v.size()));
  };
  auto num = [&](const char* k, double v) {
    key(k);
    w.Double(v);
  };
  auto opt = [&](const char* k, const std::optional<double>& v) {
    key(k);
    if (v) {
      w.Double(*v);
    } else {
      w.Null();
    }
  };
  w.StartObject();
  str("tool", "inferd-perf profile");
  str("model", r.model);
  key("version");
  w.Int64(r.version);
  str("url", r.url);
  str("protocol", r.protocol);
  str("codec", r.codec);
  key("batch_size");
  w.Int64(r.batch_size);
  str("mode", LoadModeName(r.mode));
  str("call_mode", r.call_mode);
  if (!r.distribution.empty()) str("request_distribution", r.distribution);
  str("input_data", r.input_data);
  str("shared_memory", r.shared_memory);
  key("percentile");
  if (r.percentile) {
    w.Int(*r.percentile);
  } else {
    w.Null();
  }
  num("measurement_interval_ms", r.measurement_interval_ms);
  key("measurement_request_count");
  w.Uint64(r.measurement_request_count);
  key("max_trials");
  w.Int(r.max_trials);
  str("measurement_mode", r.measurement_mode);
  num("stability_percentage", r.stability_percentage);
  key("levels");
  w.StartArray();
  for (const LevelResult& l : r.levels) {
    w.StartObject();
    str("mode", LoadModeName(l.mode));
    num(l.mode == LoadMode::kConcurrency ? "concurrency" : "request_rate", l.value);
    key("batch_size");
    w.Int64(l.batch_size);
    num("duration_s", l.duration_s);
    num("throughput_infer_per_s", l.throughput);
    num("requests_per_s", l.request_rate);
    key("successes");
    w.Uint64(l.successes);
    key("errors");
    w.Uint64(l.errors);
    key("errors_by_message");
    w.StartObject();
    for (const auto& [message, count] : l.errors_by_message) {
      key(message.c_str());
      w.Uint64(count);
    }
    w.EndObject();
    key("stable");
    w.Bool(l.stable);
    key("latency_us");
    w.StartObject();
    key("count");
    w.Uint64(l.latency.count);
    num("avg", l.latency.avg_us);
    num("min", l.latency.min_us);
    num("max", l.latency.max_us);
    num("p50", l.latency.p50_us);
    num("p90", l.latency.p90_us);
    num("p95", l.latency.p95_us);
    num("p99", l.latency.p99_us);
    if (r.percentile) opt(fmt::format("p{}", *r.percentile).c_str(), l.latency.custom_percentile_us);
    w.EndObject();
    key("client_us");
    w.StartObject();
    num("send", l.client_send_us);
    num("recv", l.client_recv_us);
    num("network_server_send_recv", l.network_server_us);
    num("response_wait", l.response_wait_us);
    w.EndObject();
    key("server");
    w.StartObject();
    key("available");
    w.Bool(l.server.available);
    key("success_count");
    w.Uint64(l.server.success_count);
    key("fail_count");
    w.Uint64(l.server.fail_count);
    key("inference_count");
    w.Uint64(l.server.inference_count);
    key("execution_count");
    w.Uint64(l.server.execution_count);
    num("queue_us", l.server.queue_us);
    num("compute_input_us", l.server.compute_input_us);
    num("compute_infer_us", l.server.compute_infer_us);
    num("compute_output_us", l.server.compute_output_us);
    key("executions_by_batch_size");
    w.StartObject();
    for (const auto& [size, count] : l.server.executions_by_batch_size) {
      key(std::to_string(size).c_str());
      w.Uint64(count);
    }
    w.EndObject();
    w.EndObject();
    key("hardware");
    w.StartObject();
    key("samples");
    w.Int(l.hardware.samples);
    opt("cpu_utilization_mean", l.hardware.cpu_utilization_mean);
    opt("cpu_utilization_stddev", l.hardware.cpu_utilization_stddev);
    key("cpu_utilization_swings");
    if (l.hardware.cpu_utilization_swings) {
      w.Int(*l.hardware.cpu_utilization_swings);
    } else {
      w.Null();
    }
    opt("resident_memory_bytes", l.hardware.resident_memory_bytes);
    opt("cpu_power_w", l.hardware.cpu_power_w);
    key("gpus");
    w.StartArray();
    for (const GpuSummary& g : l.hardware.gpus) {
      w.StartObject();
      str("uuid", g.uuid);
      opt("utilization_mean", g.utilization_mean);
      opt("utilization_stddev", g.utilization_stddev);
      opt("memory_used_bytes", g.memory_used_bytes);
      opt("power_w", g.power_w);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
    key("windows");
    w.StartArray();
    for (const WindowResult& win : l.windows) {
      w.StartObject();
      num("duration_s", win.duration_s);
      key("successes");
      w.Uint64(win.successes);
      key("errors");
      w.Uint64(win.errors);
      num("throughput_infer_per_s", win.throughput);
      num("avg_latency_us", win.avg_latency_us);
      num("p50_latency_us", win.p50_latency_us);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  key("hardware_absent");
  w.StartArray();
  for (const auto& a : r.hardware_absent) w.String(a.c_str());
  w.EndArray();
  key("hints");
  w.StartArray();
  for (const auto& h : r.hints) w.String(h.c_str());
  w.EndArray();
  str("stop_reason", r.stop_reason);
  key("error");
  if (r.error.ok()) {
    w.Null();
  } else {
    const std::string e = r.error.ToString();
    w.String(e.c_str());
  }
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize()) + "\n";
}

absl::Status WriteJson(const ProfileResult& result, const std::string& path) {
  return WriteFile(path, JsonText(result));
}

void PrintReport(const ProfileResult& r, std::ostream& out) {
  out << "*** Measurement Settings ***\n"
      << fmt::format("  Model: {}{}  Protocol: {} ({}), codec {}\n", r.model,
                     r.version > 0 ? fmt::format(" v{}", r.version) : "", r.protocol, r.url,
                     r.codec)
      << fmt::format("  Batch size: {}\n", r.batch_size)
      << fmt::format("  Using \"{}\" mode for stabilization: windows of {}, the last three "
                     "within {}%, at most {} windows\n",
                     r.measurement_mode,
                     r.measurement_mode == "count_windows"
                         ? fmt::format("{} requests", r.measurement_request_count)
                         : fmt::format("{} ms", r.measurement_interval_ms),
                     r.stability_percentage, r.max_trials)
      << fmt::format("  Load: {}{}, {} calls\n",
                     r.mode == LoadMode::kConcurrency ? "closed loop (concurrency)"
                                                      : "open loop (request rate)",
                     r.distribution.empty() ? "" : ", " + r.distribution + " schedule",
                     r.call_mode)
      << fmt::format("  Stabilizing using {}\n",
                     r.percentile ? fmt::format("p{} latency", *r.percentile) : "average latency")
      << "\n";
  const char* what = r.mode == LoadMode::kConcurrency ? "Request concurrency" : "Request rate";
  for (const LevelResult& l : r.levels) {
    out << fmt::format("{}: {:g}{}{}\n", what, l.value, l.stable ? "" : "  (not stable)",
                       l.errors > 0 ? fmt::format("  ERR: {} failed", l.errors) : "");
    out << fmt::format("  Client: {} requests over {:.2f} s\n", l.successes, l.duration_s)
        << fmt::format("    Throughput: {:.2f} infer/sec\n", l.throughput)
        << fmt::format("    Avg latency: {:.0f} usec (p50 {:.0f}, p90 {:.0f}, p95 {:.0f}, p99 {:.0f})\n",
                       l.latency.avg_us, l.latency.p50_us, l.latency.p90_us, l.latency.p95_us,
                       l.latency.p99_us)
        << fmt::format("    Client send {:.0f} usec, network+server send/recv {:.0f} usec, client "
                       "recv {:.0f} usec\n",
                       l.client_send_us, l.network_server_us, l.client_recv_us);
    if (l.server.available) {
      std::string batches;
      for (const auto& [size, count] : l.server.executions_by_batch_size) {
        batches += fmt::format("{}{}x{}", batches.empty() ? "" : ", ", count, size);
      }
      out << fmt::format("  Server: {} requests, {} executions (batch sizes: {})\n",
                         l.server.success_count, l.server.execution_count,
                         batches.empty() ? "none" : batches)
          << fmt::format("    Queue {:.0f} usec, compute input {:.0f} usec, infer {:.0f} usec, "
                         "output {:.0f} usec\n",
                         l.server.queue_us, l.server.compute_input_us, l.server.compute_infer_us,
                         l.server.compute_output_us);
    }
    const HardwareSummary& h = l.hardware;
    if (h.samples > 0) {
      std::string line = fmt::format("  Hardware ({} samples):", h.samples);
      if (h.cpu_utilization_mean) {
        line += fmt::format(" CPU {:.0f}% (std dev {:.0f}, {} swings)", *h.cpu_utilization_mean * 100,
                            h.cpu_utilization_stddev.value_or(0) * 100,
                            h.cpu_utilization_swings.value_or(0));
      }
      if (h.resident_memory_bytes) line += fmt::format(", RSS {:.0f} MiB", *h.resident_memory_bytes / 1048576);
      if (h.cpu_power_w) line += fmt::format(", CPU power {:.1f} W", *h.cpu_power_w);
      for (const auto& g : h.gpus) {
        line += fmt::format(", GPU {} {}% mem {} MiB {} W", g.uuid,
                            Opt(g.utilization_mean, 100, "{:.0f}"),
                            Opt(g.memory_used_bytes, 1.0 / 1048576, "{:.0f}"),
                            Opt(g.power_w, 1, "{:.0f}"));
      }
      out << line << "\n";
    }
    for (const auto& [message, count] : l.errors_by_message) {
      out << fmt::format("  Errors: {} x {}\n", count, message);
    }
    out << "\n";
  }
  if (!r.levels.empty()) {
    out << fmt::format("{:>12} {:>12} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10} {:>8}\n",
                       r.mode == LoadMode::kConcurrency ? "concurrency" : "rate", "infer/s",
                       "p50 us", "p99 us", "avg us", "queue us", "compute us", "net us", "CPU %");
    for (const LevelResult& l : r.levels) {
      const double compute =
          l.server.compute_input_us + l.server.compute_infer_us + l.server.compute_output_us;
      out << fmt::format("{:>12g} {:>12.1f} {:>10.0f} {:>10.0f} {:>10.0f} {:>10.0f} {:>10.0f} "
                         "{:>10.0f} {:>8}{}\n",
                         l.value, l.throughput, l.latency.p50_us, l.latency.p99_us,
                         l.latency.avg_us, l.server.queue_us, compute, l.network_server_us,
                         Opt(l.hardware.cpu_utilization_mean, 100, "{:.0f}"),
                         l.errors > 0 ? "  ERR" : "");
    }
  }
  for (const auto& a : r.hardware_absent) out << "Hardware: " << a << "\n";
  if (!r.stop_reason.empty()) out << r.stop_reason << "\n";
  for (const auto& h : r.hints) out << "Hint: " << h << "\n";
}

}  // namespace inferd::perf
