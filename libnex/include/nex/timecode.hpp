#pragma once
// A machine-readable timecode burnt into every synthesized frame: the
// milliseconds since its segment began, as a strip of black/white blocks in
// the top-left corner of the luma plane, sized relative to the frame so it
// survives H.264 compression and scaling.
#include <cstdint>
#include <optional>

namespace nex::timecode {

// Draw `ms` into an 8-bit luma plane.
void draw(uint8_t* luma, int linesize, int width, int height, uint32_t ms);
// Read it back; nullopt when the strip is absent or fails its check bits.
std::optional<uint32_t> read(const uint8_t* luma, int linesize, int width, int height);

}  // namespace nex::timecode
