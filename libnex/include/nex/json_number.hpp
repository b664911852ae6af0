#pragma once
// JSON numbers from untrusted text (events.ndjson, the multipart journal) read
// as whole numbers, checked. nlohmann's get<int64_t>() of 1e300 is an
// unchecked cast, undefined behaviour (found by fuzz_events and fuzz_journal).
#include <cstdint>
#include <optional>

#include "nex/output.hpp"

namespace nex {

// nullopt when the value is not a number, has a fraction, or does not fit.
std::optional<int64_t> json_int64(const ojson& v);
std::optional<uint64_t> json_uint64(const ojson& v);

}  // namespace nex
