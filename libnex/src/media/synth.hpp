#pragma once
// Internal: the synthetic camera picture and cabin sound that templates and
// thumbnails are made of. Every output is a pure function of its inputs
// (frame index, sample position): nothing depends on call order, clocks or
// libc rand().
#include <cstdint>
#include <vector>

#include "nex/naming.hpp"

namespace nex::media {

// splitmix64: small, fast, good enough for noise, and fully deterministic.
class Rng {
 public:
  explicit Rng(uint64_t seed) : s_(seed) {}
  uint64_t next() {
    uint64_t z = (s_ += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  // uniform in [0, 1)
  double uniform() { return static_cast<double>(next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t s_;
};

// Three planes of a YUV 4:2:0 picture (8 bit, limited range).
struct Canvas {
  uint8_t* data[3] = {nullptr, nullptr, nullptr};
  int linesize[3] = {0, 0, 0};
  int width = 0;
  int height = 0;

  void fill_rect(int x0, int y0, int x1, int y1, uint8_t y, uint8_t u, uint8_t v);
  void fill_ellipse(double cx, double cy, double rx, double ry, uint8_t y, uint8_t u, uint8_t v);
  // Horizontal span on one luma row, [x0, x1), chroma on the matching chroma row
  // only for even rows (so a run of rows paints chroma once per pair).
  void span(int row, int x0, int x1, uint8_t y, uint8_t u, uint8_t v);
};

// Renders the scene of one camera variant at any size (templates at the
// profile's size, thumbnails at 320x180).
class VideoSynth {
 public:
  VideoSynth(Camera camera, bool night, int width, int height);
  // Frame `index` at `fps` into `out` (same size as constructed). Does not
  // draw the timecode; the caller does.
  void render(int64_t index, int fps, const Canvas& out) const { render(index, fps, 1, out); }
  // The same at a rational rate fps / fps_den (frame `index` at index*fps_den/fps s).
  void render(int64_t index, int fps, int fps_den, const Canvas& out) const;

 private:
  void build_road_background();
  void build_interior_background();
  void draw_road_motion(double t, const Canvas& c) const;
  void draw_interior_motion(double t, const Canvas& c) const;
  void add_noise(int64_t index, const Canvas& c) const;

  Camera camera_;
  bool night_;
  int w_, h_;
  std::vector<uint8_t> bg_[3];
  std::vector<uint8_t> noise_pos_, noise_neg_;  // luma sensor noise, split by sign
  size_t noise_span_ = 0;                        // extra length for per-frame offsets
};

// Cabin sound: engine hum with a slowly wandering rpm plus low-passed road
// noise. Mono float samples in [-1, 1].
class AudioSynth {
 public:
  explicit AudioSynth(int sample_rate, uint64_t seed = 0x6E65782D63616221ULL);
  void render(float* out, int n);

 private:
  int rate_;
  Rng rng_;
  int64_t pos_ = 0;
  double phase_ = 0, lp1_ = 0, lp2_ = 0;
};

}  // namespace nex::media
