// SPDX-License-Identifier: Apache-2.0
// config.pbtxt from raw text: ParseModelConfig (protobuf text format against Triton's schema,
// unknown and unsupported fields, validation), then for a config that parses what a load does
// with it: CompleteModelConfig (Triton's defaults), validation again, the backend-facing spec.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "repository/config_autocomplete.h"
#include "repository/model_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  auto parsed = inferd::ParseModelConfig(text, "fuzz");
  if (!parsed.ok()) return 0;
  inference::ModelConfig config = parsed->config;
  inferd::CompleteModelConfig(config);
  // Defaults filled into a valid config must leave it valid.
  if (absl::Status s = inferd::ValidateModelConfig(config); !s.ok()) {
    __builtin_trap();
  }
  inferd::ModelSpec spec = inferd::ModelSpecFromConfig(config);
  (void)spec;
  (void)inferd::InstanceCount(config);
  return 0;
}
