#pragma once
// Sizes as people type them: "32G", "500M", "1.5GiB", "123456" (bytes).
// G/M/K are binary (as card vendors' tools and df -h show them).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nex {

std::optional<uint64_t> parse_size(std::string_view s);
std::string format_size(uint64_t bytes);  // "1.5G", "820M", "12K", "512B"

}  // namespace nex
