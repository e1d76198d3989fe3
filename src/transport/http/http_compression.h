// SPDX-License-Identifier: Apache-2.0
// HTTP content codings for request and response bodies (Content-Encoding / Accept-Encoding):
// gzip and deflate (the zlib format, as HTTP defines "deflate") as Triton's HTTP endpoint and its
// clients use them, on zlib.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace inferd::http_detail {

enum class ContentCoding { kIdentity, kGzip, kDeflate };

std::string_view CodingName(ContentCoding coding);

// A request's Content-Encoding value. Empty and "identity" are kIdentity; an unknown coding, or a
// list of several codings, is UNIMPLEMENTED naming it and the supported ones.
absl::StatusOr<ContentCoding> ParseContentEncoding(std::string_view value);

// The coding to answer with for a request's Accept-Encoding value: gzip if acceptable, else
// deflate, else identity. Codings with q=0 are not acceptable; "*" accepts gzip.
ContentCoding ChooseResponseCoding(std::string_view accept_encoding);

// Decompresses `data` (`coding` is gzip or deflate). INVALID_ARGUMENT for data that is not valid in the coding (truncated or
// corrupt); RESOURCE_EXHAUSTED once the output would exceed `max_bytes`.
absl::StatusOr<std::string> Decompress(ContentCoding coding, std::span<const std::byte> data,
                                       size_t max_bytes);

// Compresses the concatenation of `pieces` (zlib's default level) as gzip or deflate.
std::string Compress(ContentCoding coding, const std::vector<std::span<const std::byte>>& pieces);

}  // namespace inferd::http_detail
