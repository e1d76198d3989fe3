// SPDX-License-Identifier: Apache-2.0
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "backends/builtin/builtin_models.h"
#include "fmt/format.h"

namespace inferd::builtin {
namespace {

struct BusyConfig {
  std::chrono::microseconds fixed{0};     // busy_a_us
  std::chrono::microseconds per_item{0};  // busy_b_us
  bool spin = false;                      // busy_mode: "sleep" (default) or "spin"
  std::vector<std::string> output_names;
};

// An hour: large enough for any test, small enough that a + b × batch_size cannot overflow.
constexpr int64_t kMaxBusyMicros = int64_t{3'600'000'000};

// A duration parameter in microseconds, `fallback` when absent.
absl::StatusOr<int64_t> MicrosParameter(const ModelSpec& spec, std::string_view key,
                                        int64_t fallback) {
  auto it = spec.parameters.find(key);
  if (it == spec.parameters.end()) return fallback;
  int64_t value = 0;
  if (!absl::SimpleAtoi(it->second, &value) || value < 0 || value > kMaxBusyMicros) {
    return absl::InvalidArgumentError(fmt::format(
        "model '{}': parameter {} must be an integer number of microseconds from 0 to {}, got '{}'",
        spec.name, key, kMaxBusyMicros, it->second));
  }
  return value;
}

class BusyInstance final : public ModelInstance {
 public:
  explicit BusyInstance(std::shared_ptr<const BusyConfig> config) : config_(std::move(config)) {}

  absl::Status Execute(ExecutionBatch& batch) override {
    const auto start = std::chrono::steady_clock::now();
    const auto until = start + config_->fixed + config_->per_item * batch.batch_size();
    if (config_->spin) {
      while (std::chrono::steady_clock::now() < until) {
      }
    } else {
      std::this_thread::sleep_until(until);
    }
    return CopyInputsToOutputs(batch, config_->output_names);
  }

 private:
  std::shared_ptr<const BusyConfig> config_;
};

class BusyModel final : public BackendModel {
 public:
  explicit BusyModel(std::shared_ptr<const BusyConfig> config) : config_(std::move(config)) {}

  absl::StatusOr<std::unique_ptr<ModelInstance>> CreateInstance(int /*index*/) override {
    return std::make_unique<BusyInstance>(config_);
  }

 private:
  std::shared_ptr<const BusyConfig> config_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<BackendModel>> LoadBusyModel(const ModelSpec& spec) {
  absl::StatusOr<int64_t> a = MicrosParameter(spec, "busy_a_us", 0);
  if (!a.ok()) return a.status();
  absl::StatusOr<int64_t> b = MicrosParameter(spec, "busy_b_us", 0);
  if (!b.ok()) return b.status();
  auto config = std::make_shared<BusyConfig>();
  config->fixed = std::chrono::microseconds(*a);
  config->per_item = std::chrono::microseconds(*b);
  if (auto it = spec.parameters.find("busy_mode"); it != spec.parameters.end()) {
    if (it->second == "spin") {
      config->spin = true;
    } else if (it->second != "sleep") {
      return absl::InvalidArgumentError(
          fmt::format("model '{}': parameter busy_mode must be sleep or spin, got '{}'", spec.name,
                      it->second));
    }
  }
  if (absl::Status s = CheckInputsPairWithOutputs(spec, "busy"); !s.ok()) return s;
  for (const TensorSpec& out : spec.outputs) config->output_names.push_back(out.name);
  return std::make_unique<BusyModel>(std::move(config));
}

}  // namespace inferd::builtin
