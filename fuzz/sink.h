// SPDX-License-Identifier: Apache-2.0
// Keeps the compiler from dropping reads whose only purpose is to let AddressSanitizer check
// that every byte of a buffer is readable.
#pragma once

#include <cstdint>

namespace inferd::fuzz {

inline volatile uint8_t sink_byte = 0;

inline void Sink(uint8_t value) { sink_byte = value; }

}  // namespace inferd::fuzz
