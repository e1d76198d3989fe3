// SPDX-License-Identifier: Apache-2.0
// The one way inferd parses JSON it did not write: RapidJSON's DOM with a nesting limit, so a
// body of a million '[' is an error message rather than a stack overflow.
#pragma once

#include <string_view>

#include "absl/status/status.h"
#include "rapidjson/document.h"

namespace inferd::codec {

// The deepest nesting of arrays and objects accepted. KServe v2 documents nest at most a few
// levels (a tensor's "data" may be nested per dimension, and no tensor has 100 dimensions).
inline constexpr int kMaxJsonDepth = 100;

// Parses `json` into `doc`. INVALID_ARGUMENT "failed to parse <what>: <reason> (at byte N)" when
// it is not valid JSON or nests deeper than `max_depth`. Does not recurse: the parse is bounded
// by the input's size, not by the stack.
absl::Status ParseJsonDocument(std::string_view json, std::string_view what,
                               rapidjson::Document& doc, int max_depth = kMaxJsonDepth);

}  // namespace inferd::codec
