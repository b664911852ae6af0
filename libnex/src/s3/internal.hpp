#pragma once
// Shared helpers of the S3 client (not public).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "nex/s3.hpp"

namespace nex::s3::detail {

// "\"abc\"" -> "abc"; anything else unchanged.
std::string unquote(std::string_view etag);

// Strict decimal; nullopt on anything else (sign, blanks, overflow).
std::optional<std::uint64_t> parse_u64(std::string_view text);

// Which kind an HTTP status and S3 error code fall into.
ErrorKind classify(long status, std::string_view code);

std::string base64(const unsigned char* data, std::size_t size);

}  // namespace nex::s3::detail
