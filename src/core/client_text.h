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

// The longest error message a transport sends (an HTTP error body, a gRPC status message, which
// travels in metadata whose limit is 8 KiB by default).
inline constexpr std::size_t kMaxErrorMessageBytes = 4096;

// The last line of defence where an error message leaves the server: `message` with bytes that
// are not valid UTF-8 written as \xNN and cut (never inside a UTF-8 sequence) to `max_bytes`,
// ending then with "... (N bytes)". Messages built with QuoteClientText pass unchanged.
std::string SafeErrorMessage(std::string_view message,
                             std::size_t max_bytes = kMaxErrorMessageBytes);

}  // namespace inferd
