#include "nex/rotation.hpp"

namespace nex {

std::optional<size_t> plan_rotation(std::span<const uint64_t> sizes, uint64_t used, uint64_t incoming,
                                    uint64_t limit) {
  size_t n = 0;
  while (used + incoming > limit) {
    if (n == sizes.size()) return std::nullopt;
    used -= std::min(used, sizes[n]);
    ++n;
  }
  return n;
}

}  // namespace nex
