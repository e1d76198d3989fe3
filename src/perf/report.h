// SPDX-License-Identifier: Apache-2.0
// The forms a ProfileResult is written in: the human table, perf_analyzer's CSV and our JSON.
#pragma once

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "perf/profile_result.h"

namespace inferd::perf {

// perf_analyzer's CSV: its header and column order ("Concurrency" or "Request Rate",
// "Inferences/Second", "Client Send", "Network+Server Send/Recv", "Server Queue", "Server Compute
// Input", "Server Compute Infer", "Server Compute Output", "Client Recv", "p50 latency" ...
// "p99 latency"), microseconds as integers, rows sorted by throughput as perf_analyzer sorts
// them. `verbose` appends perf_analyzer's --verbose-csv columns ("Avg latency" unless a
// percentile was asked, "request/response", "response wait"), then ours.
std::string CsvText(const ProfileResult& result, bool verbose);
absl::Status WriteCsv(const ProfileResult& result, const std::string& path, bool verbose);

std::string JsonText(const ProfileResult& result);
absl::Status WriteJson(const ProfileResult& result, const std::string& path);

// The human report: settings, one block per level, a summary table, hardware and hints.
void PrintReport(const ProfileResult& result, std::ostream& out);

}  // namespace inferd::perf
