// The burnt-in timecode strip.
//
// Layout (block size b = width / 80, fractional so it scales with the frame):
// a black quiet zone of (kCols + 2) x (kRows + 2) blocks in the top-left corner
// holds two rows of kCols blocks, starting one block in from each edge.
//   row 0: 1 0 | 32 data bits, most significant first | 0 1
//   row 1: the complement of row 0, block for block
// White (235) is 1, black (16) is 0. A reader samples a small window at each
// block centre, thresholds at mid grey and accepts only when every column is
// complementary and the four marker blocks are right: a frame without a strip
// (or a damaged one) fails with probability ~1 - 2^-36.
#include "nex/timecode.hpp"

#include <algorithm>
#include <cmath>

namespace nex::timecode {
namespace {

constexpr int kCols = 36;
constexpr int kRows = 2;
constexpr double kBlocksPerWidth = 80.0;
constexpr uint8_t kBlack = 16;
constexpr uint8_t kWhite = 235;
constexpr int kThreshold = 128;

// Row 0 bit of column c.
bool row0_bit(uint32_t ms, int c) {
  if (c == 0) return true;
  if (c == 1) return false;
  if (c == kCols - 2) return false;
  if (c == kCols - 1) return true;
  return (ms >> (31 - (c - 2))) & 1u;
}

struct Geometry {
  double b = 0;
  bool ok = false;
};

Geometry geometry(int width, int height) {
  Geometry g;
  g.b = width / kBlocksPerWidth;
  g.ok = width > 0 && height > 0 && g.b >= 2.0 &&
         std::lround((kCols + 2) * g.b) <= width && std::lround((kRows + 2) * g.b) <= height;
  return g;
}

int edge(double blocks, double b) { return static_cast<int>(std::lround(blocks * b)); }

void fill(uint8_t* luma, int linesize, int x0, int y0, int x1, int y1, uint8_t v) {
  for (int y = y0; y < y1; ++y) std::fill(luma + static_cast<ptrdiff_t>(y) * linesize + x0,
                                          luma + static_cast<ptrdiff_t>(y) * linesize + x1, v);
}

}  // namespace

void draw(uint8_t* luma, int linesize, int width, int height, uint32_t ms) {
  const Geometry g = geometry(width, height);
  if (!g.ok || !luma) return;
  fill(luma, linesize, 0, 0, edge(kCols + 2, g.b), edge(kRows + 2, g.b), kBlack);
  for (int r = 0; r < kRows; ++r) {
    for (int c = 0; c < kCols; ++c) {
      const bool bit = row0_bit(ms, c) != (r == 1);
      if (!bit) continue;  // black already
      fill(luma, linesize, edge(c + 1, g.b), edge(r + 1, g.b), edge(c + 2, g.b), edge(r + 2, g.b),
           kWhite);
    }
  }
}

std::optional<uint32_t> read(const uint8_t* luma, int linesize, int width, int height) {
  const Geometry g = geometry(width, height);
  if (!g.ok || !luma) return std::nullopt;
  const int half = std::max(0, static_cast<int>(g.b / 4));
  auto sample = [&](int r, int c) {
    const int cx = static_cast<int>(std::floor((c + 1.5) * g.b));
    const int cy = static_cast<int>(std::floor((r + 1.5) * g.b));
    int sum = 0, n = 0;
    for (int y = std::max(0, cy - half); y <= std::min(height - 1, cy + half); ++y) {
      const uint8_t* row = luma + static_cast<ptrdiff_t>(y) * linesize;
      for (int x = std::max(0, cx - half); x <= std::min(width - 1, cx + half); ++x) {
        sum += row[x];
        ++n;
      }
    }
    return n ? sum / n >= kThreshold : false;
  };
  uint32_t ms = 0;
  for (int c = 0; c < kCols; ++c) {
    const bool top = sample(0, c);
    const bool bottom = sample(1, c);
    if (top == bottom) return std::nullopt;  // check bits: rows must be complementary
    if (c < 2 || c >= kCols - 2) {
      if (top != row0_bit(0, c)) return std::nullopt;  // start/stop markers
    } else {
      ms = (ms << 1) | (top ? 1u : 0u);
    }
  }
  return ms;
}

}  // namespace nex::timecode
