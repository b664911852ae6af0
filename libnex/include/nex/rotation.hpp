#pragma once
// Loop and sos rotation: before a recording is written, the oldest
// recordings (every file of an instant together) are deleted until the new
// one fits.
#include <cstdint>
#include <optional>
#include <span>

namespace nex {

// How many of the oldest units (sizes given oldest first) must go so that
// used − freed + incoming ≤ limit. nullopt when even deleting all of them
// would not make room.
std::optional<size_t> plan_rotation(std::span<const uint64_t> oldest_first_sizes, uint64_t used,
                                    uint64_t incoming, uint64_t limit);

}  // namespace nex
