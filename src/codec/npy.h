// SPDX-License-Identifier: Apache-2.0
// NumPy's .npy format (format versions 1.0, 2.0 and 3.0) for one tensor: the body of an HTTP
// infer request or response with Content-Type application/x-npy (docs/protocols.md, ".npy").
//
// A .npy file is the magic "\x93NUMPY", a major and minor version byte, the header's length
// (uint16 little-endian in 1.0, uint32 in 2.0 and 3.0), the header (a Python dict literal with
// 'descr', 'fortran_order' and 'shape', padded with spaces and a newline; UTF-8 in 3.0, latin-1
// before) and then the array's bytes. NumPy pads the header so that the data starts at a multiple
// of 64 bytes (16 in NumPy before 1.??; any offset is accepted here).
//
// dtypes and KServe datatypes: '|b1' BOOL, 'i1'/'i2'/'i4'/'i8' INT8..INT64, 'u1'..'u8'
// UINT8..UINT64, 'f2'/'f4'/'f8' FP16/FP32/FP64, both byte orders ('<', '>', '|', and '=' read as
// little-endian, this server's order); 'S<n>' (fixed-width bytes) is BYTES, each element its n
// bytes with trailing NULs removed (as NumPy reads them). Everything else (object 'O', unicode
// 'U', complex, datetime, void, structured dtypes) is refused naming the dtype. BF16 has no NumPy
// dtype: a BF16 output cannot be encoded.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "inferd/infer.h"

namespace inferd::codec {

inline constexpr std::string_view kNpyMediaType = "application/x-npy";

// Header bytes (the dict text) accepted at most, and dimensions at most (NumPy's own limit).
inline constexpr size_t kMaxNpyHeaderBytes = 65536;
inline constexpr size_t kMaxNpyDimensions = 64;

// Decodes one .npy array into an input (name left empty). The input's bytes are a view into
// `body` (kept alive by `owner`) when the array is little-endian (or 1-byte elements), in C order
// (or at most one dimension with more than one element), and its data is aligned to the element
// size in memory; otherwise they are converted into a buffer the input owns: byte-swapped,
// Fortran order transposed to C order, 'S' elements rewritten in the BYTES layout.
// INVALID_ARGUMENT naming the problem for a malformed header, an unsupported dtype or a data
// size that disagrees with the header.
absl::StatusOr<InferInput> DecodeNpy(std::span<const std::byte> body,
                                     std::shared_ptr<const void> owner);

// One tensor as .npy (format 1.0, or 2.0 when the header needs it): the header (magic to the
// padding, a multiple of 64 bytes) and the data to send after it: a view into `tensor` for fixed
// -size types (little-endian, C order: the server's layout), or for BYTES an 'S<n>' array (n the
// longest element, at least 1) held by `storage`.
struct EncodedNpy {
  std::string header;
  std::span<const std::byte> data;
  std::shared_ptr<const void> storage;
};
absl::StatusOr<EncodedNpy> EncodeNpy(const TensorView& tensor);

// The NumPy dtype string of a datatype ("<f4"), empty for BYTES and BF16 (no fixed dtype).
std::string_view NpyDescrOf(DataType type);

}  // namespace inferd::codec
