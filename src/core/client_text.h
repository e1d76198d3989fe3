// SPDX-License-Identifier: Apache-2.0
// Echoing what a client sent back in an error message, safely.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace inferd {

// The longest client text (in bytes of the original) an error message repeats by default.
inline constexpr std::size_t kMaxEchoedClientBytes = 128;

// Returns `text` quoted ('...') and fit to put in an error message, a log line, a JSON string or
// gRPC metadata: at most `max_bytes` bytes of the original are kept (never cutting a UTF-8
// sequence), control characters, backslashes and bytes that are not valid UTF-8 are written as
// \xNN, and a cut text ends with "... (N bytes)" giving the original length.
std::string QuoteClientText(std::string_view text, std::size_t max_bytes = kMaxEchoedClientBytes);

}  // namespace inferd
