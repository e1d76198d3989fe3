// SPDX-License-Identifier: Apache-2.0
// KServe v2 tensor datatypes and their byte sizes, names and config.pbtxt enum values.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace inferd {

// Values follow Triton's config.pbtxt DataType enum (TYPE_BOOL = 1 ... TYPE_BF16 = 14), so a
// parsed config converts by value.
enum class DataType : int {
  kInvalid = 0,
  kBool = 1,
  kUint8 = 2,
  kUint16 = 3,
  kUint32 = 4,
  kUint64 = 5,
  kInt8 = 6,
  kInt16 = 7,
  kInt32 = 8,
  kInt64 = 9,
  kFp16 = 10,
  kFp32 = 11,
  kFp64 = 12,
  kBytes = 13,  // TYPE_STRING in config.pbtxt, "BYTES" on the wire.
  kBf16 = 14,
};

// Bytes per element; 0 for BYTES (variable length) and for kInvalid.
size_t DataTypeByteSize(DataType type);

// The protocol string ("FP32", "BYTES"); "INVALID" for kInvalid.
std::string_view DataTypeName(DataType type);

// Parses a protocol string ("FP32"). nullopt for anything else, including "INVALID".
std::optional<DataType> DataTypeFromName(std::string_view name);

// The config.pbtxt enum name ("TYPE_FP32", "TYPE_STRING").
std::string_view DataTypeConfigName(DataType type);

// Converts a config.pbtxt enum value; nullopt if out of range or TYPE_INVALID.
std::optional<DataType> DataTypeFromConfigValue(int value);

}  // namespace inferd
