// Fuzz target: the per-frame timecode reader (timecode.hpp) over an arbitrary
// luma plane. The first 5 bytes choose the geometry (bounded: width < 2048,
// height < 256, linesize = width + padding < 64); the rest of the input fills
// the plane (zero padded). Never throws.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "nex/timecode.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 5) return 0;
  const int width = ((data[0] << 8) | data[1]) & 0x7FF;
  const int height = data[2];
  const int linesize = width + (data[3] & 0x3F);
  const bool redraw = data[4] & 1;  // also draw a timecode, then read it back
  data += 5;
  size -= 5;
  std::vector<uint8_t> plane(static_cast<size_t>(linesize) * static_cast<size_t>(height));
  if (!plane.empty()) std::memcpy(plane.data(), data, std::min(size, plane.size()));
  const uint8_t* luma = plane.empty() ? nullptr : plane.data();
  (void)nex::timecode::read(luma, linesize, width, height);
  if (redraw && luma) {
    uint32_t ms = 0;
    std::memcpy(&ms, data, std::min<size_t>(size, sizeof ms));
    nex::timecode::draw(plane.data(), linesize, width, height, ms);
    const auto back = nex::timecode::read(plane.data(), linesize, width, height);
    if (back && *back != ms) std::abort();  // a drawn strip reads back as itself, or not at all
  }
  return 0;
}
