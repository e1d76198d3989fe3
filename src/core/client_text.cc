// SPDX-License-Identifier: Apache-2.0
#include "core/client_text.h"

#include <algorithm>
#include <cstdint>

#include <fmt/format.h>

namespace inferd {
namespace {

// Length of the valid UTF-8 sequence starting at text[i] (1..4), or 0 when it is not valid
// (overlong forms, surrogates and code points above U+10FFFF are invalid).
std::size_t Utf8SequenceLength(std::string_view text, std::size_t i) {
  const auto byte = [&](std::size_t k) { return static_cast<std::uint8_t>(text[k]); };
  const std::uint8_t b0 = byte(i);
  std::size_t length = 0;
  std::uint32_t min_code_point = 0;
  std::uint32_t code_point = 0;
  if (b0 < 0x80) return 1;
  if ((b0 & 0xE0) == 0xC0) {
    length = 2, min_code_point = 0x80, code_point = b0 & 0x1F;
  } else if ((b0 & 0xF0) == 0xE0) {
    length = 3, min_code_point = 0x800, code_point = b0 & 0x0F;
  } else if ((b0 & 0xF8) == 0xF0) {
    length = 4, min_code_point = 0x10000, code_point = b0 & 0x07;
  } else {
    return 0;
  }
  if (i + length > text.size()) return 0;
  for (std::size_t k = 1; k < length; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) return 0;
    code_point = (code_point << 6) | (byte(i + k) & 0x3F);
  }
  if (code_point < min_code_point || code_point > 0x10FFFF) return 0;
  if (code_point >= 0xD800 && code_point <= 0xDFFF) return 0;
  return length;
}

}  // namespace

std::string QuoteClientText(std::string_view text, std::size_t max_bytes) {
  std::string out;
  out.reserve(std::min(text.size(), max_bytes) + 16);
  out.push_back('\'');
  std::size_t i = 0;
  while (i < text.size()) {
    const std::size_t length = Utf8SequenceLength(text, i);
    const std::size_t taken = length == 0 ? 1 : length;
    if (i + taken > max_bytes) break;
    const auto b = static_cast<unsigned char>(text[i]);
    if (length == 0 || (length == 1 && (b < 0x20 || b == 0x7F || b == '\\' || b == '\''))) {
      out += fmt::format("\\x{:02X}", b);
    } else {
      out.append(text.substr(i, length));
    }
    i += taken;
  }
  out.push_back('\'');
  if (i < text.size()) out += fmt::format("... ({} bytes)", text.size());
  return out;
}

std::string SafeErrorMessage(std::string_view message, std::size_t max_bytes) {
  std::string out;
  out.reserve(std::min(message.size(), max_bytes) + 24);
  std::size_t i = 0;
  while (i < message.size()) {
    const std::size_t length = Utf8SequenceLength(message, i);
    const std::size_t taken = length == 0 ? 1 : length;
    if (i + taken > max_bytes) break;
    if (length == 0) {
      out += fmt::format("\\x{:02X}", static_cast<unsigned char>(message[i]));
    } else {
      out.append(message.substr(i, length));
    }
    i += taken;
  }
  if (i < message.size()) out += fmt::format("... ({} bytes)", message.size());
  return out;
}

}  // namespace inferd
