// nex::timecode: the burnt-in strip must read back exactly, survive noise and
// downscaling, and never read from a frame that does not carry it.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <vector>

extern "C" {
#include <libswscale/swscale.h>
}

#include "nex/timecode.hpp"

namespace {

struct Plane {
  int width, height, linesize;
  std::vector<uint8_t> px;
  Plane(int w, int h, int pad = 0) : width(w), height(h), linesize(w + pad), px(static_cast<size_t>(w + pad) * h) {}
  uint8_t* data() { return px.data(); }
  const uint8_t* data() const { return px.data(); }
  uint8_t& at(int x, int y) { return px[static_cast<size_t>(y) * linesize + x]; }
};

// A busy background (gradient + texture), as a real picture would be.
Plane scene(int w, int h, int pad = 0, uint32_t seed = 1) {
  Plane p(w, h, pad);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> tex(-20, 20);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) p.at(x, y) = static_cast<uint8_t>(std::clamp(60 + 120 * x / w + tex(rng), 0, 255));
  return p;
}

std::optional<uint32_t> read(const Plane& p) { return nex::timecode::read(p.data(), p.linesize, p.width, p.height); }

Plane scale(const Plane& src, int w, int h, int flags) {
  Plane dst(w, h);
  SwsContext* sws = sws_getContext(src.width, src.height, AV_PIX_FMT_GRAY8, w, h, AV_PIX_FMT_GRAY8, flags, nullptr,
                                   nullptr, nullptr);
  REQUIRE(sws != nullptr);
  const uint8_t* in[4] = {src.data(), nullptr, nullptr, nullptr};
  const int in_ls[4] = {src.linesize, 0, 0, 0};
  uint8_t* out[4] = {dst.data(), nullptr, nullptr, nullptr};
  const int out_ls[4] = {dst.linesize, 0, 0, 0};
  sws_scale(sws, in, in_ls, 0, src.height, out, out_ls);
  sws_freeContext(sws);
  return dst;
}

const uint32_t kValues[] = {0u, 1u, 33u, 999u, 59'966u, 60'000u, 3'599'999u, 0x80000001u, 0xFFFFFFFFu, 0x5A5AA5A5u};

}  // namespace

TEST_CASE("timecode round-trips on clean planes of every camera size", "[timecode]") {
  const int sizes[][2] = {{1920, 1080}, {1280, 720}, {640, 360}, {320, 180}, {1000, 600}};
  for (const auto& s : sizes) {
    for (uint32_t v : kValues) {
      Plane p = scene(s[0], s[1], /*pad=*/32);
      nex::timecode::draw(p.data(), p.linesize, p.width, p.height, v);
      INFO(s[0] << "x" << s[1] << " value " << v);
      const auto got = read(p);
      REQUIRE(got.has_value());
      CHECK(*got == v);
    }
  }
}

TEST_CASE("timecode only touches the top-left strip", "[timecode]") {
  Plane before = scene(1920, 1080);
  Plane p = before;
  nex::timecode::draw(p.data(), p.linesize, p.width, p.height, 12345);
  int changed_outside = 0;
  for (int y = 0; y < p.height; ++y)
    for (int x = 0; x < p.width; ++x)
      if (p.at(x, y) != before.at(x, y) && (x >= 1920 / 2 || y >= 1080 / 8)) ++changed_outside;
  CHECK(changed_outside == 0);
}

TEST_CASE("frames without a strip read as nullopt", "[timecode]") {
  for (uint8_t v : {uint8_t{0}, uint8_t{16}, uint8_t{128}, uint8_t{235}, uint8_t{255}}) {
    Plane p(1280, 720);
    std::fill(p.px.begin(), p.px.end(), v);
    CHECK_FALSE(read(p).has_value());
  }
  CHECK_FALSE(read(scene(1920, 1080)).has_value());
  // Pure noise: 200 different random frames, none may pass the check bits.
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> any(0, 255);
  int false_reads = 0;
  for (int i = 0; i < 200; ++i) {
    Plane p(320, 180);
    for (auto& b : p.px) b = static_cast<uint8_t>(any(rng));
    if (read(p)) ++false_reads;
  }
  CHECK(false_reads == 0);
}

TEST_CASE("a damaged strip fails its check bits", "[timecode]") {
  Plane p = scene(1920, 1080);
  nex::timecode::draw(p.data(), p.linesize, p.width, p.height, 4242);
  REQUIRE(read(p) == std::optional<uint32_t>(4242));
  // Copy one data block of the second row over its partner in the first
  // (block size 24 px at 1920): that column is no longer complementary.
  const int b = 24, col = 10;
  for (int y = b; y < 2 * b; ++y)
    for (int x = (col + 1) * b; x < (col + 2) * b; ++x) p.at(x, y) = p.at(x, y + b);
  CHECK_FALSE(read(p).has_value());
}

TEST_CASE("frames too small for the strip are left alone", "[timecode]") {
  Plane p = scene(120, 90);
  const Plane before = p;
  nex::timecode::draw(p.data(), p.linesize, p.width, p.height, 77);
  CHECK(p.px == before.px);
  CHECK_FALSE(read(p).has_value());
}

TEST_CASE("timecode survives heavy noise", "[timecode]") {
  std::mt19937 rng(99);
  std::uniform_int_distribution<int> noise(-50, 50);
  for (uint32_t v : kValues) {
    for (const auto& s : {std::pair{1920, 1080}, std::pair{320, 180}}) {
      Plane p = scene(s.first, s.second, 0, v);
      nex::timecode::draw(p.data(), p.linesize, p.width, p.height, v);
      for (auto& b : p.px) b = static_cast<uint8_t>(std::clamp(b + noise(rng), 0, 255));
      INFO(s.first << "x" << s.second << " value " << v);
      CHECK(read(p) == std::optional<uint32_t>(v));
    }
  }
}

TEST_CASE("timecode survives downscaling with swscale", "[timecode]") {
  const int flags[] = {SWS_BILINEAR, SWS_BICUBIC, SWS_AREA, SWS_FAST_BILINEAR, SWS_LANCZOS};
  const int sources[][2] = {{1920, 1080}, {1280, 720}};
  const int targets[][2] = {{960, 540}, {640, 360}, {480, 270}, {320, 180}};
  for (const auto& s : sources) {
    for (uint32_t v : {uint32_t{0}, uint32_t{33'366}, uint32_t{59'966}, 0xDEADBEEFu}) {
      Plane p = scene(s[0], s[1]);
      nex::timecode::draw(p.data(), p.linesize, p.width, p.height, v);
      for (const auto& t : targets) {
        for (int f : flags) {
          const Plane small = scale(p, t[0], t[1], f);
          INFO(s[0] << "x" << s[1] << " -> " << t[0] << "x" << t[1] << " flags " << f << " value " << v);
          CHECK(read(small) == std::optional<uint32_t>(v));
        }
      }
    }
  }
}
