// Synthetic dash-cam scenes and cabin sound (see synth.hpp).
//
// Road: sky with clouds, a tree line on the horizon, a three-lane road in
// perspective (solid edge lines, dashed lane lines that run toward the viewer
// at 22 m/s), reflector posts passing by, a car ahead that drifts a little,
// the camera car's hood at the bottom. Interior (rear-facing cabin camera):
// rear and side windows, seats, a driver whose head sways slowly and a car
// following behind. Night interior: the same cabin as an IR camera sees it:
// grey only (chroma 128), dim, noisy, windows dark, headlights behind.
// Sensor noise changes every frame so the encoder needs a realistic bitrate.
#include "media/synth.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numbers>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace nex::media {
namespace {

constexpr double kPi = std::numbers::pi;

uint8_t clamp8(double v) { return static_cast<uint8_t>(std::clamp(std::lround(v), 0L, 255L)); }

// Static texture: a hash of the pixel position, in [-amp, amp].
int texture(int x, int y, int amp) {
  uint32_t h = static_cast<uint32_t>(x) * 0x8DA6B343u ^ static_cast<uint32_t>(y) * 0xD8163841u;
  h ^= h >> 13;
  h *= 0x85EBCA6Bu;
  h ^= h >> 16;
  return static_cast<int>(h % static_cast<uint32_t>(2 * amp + 1)) - amp;
}

struct Yuv {
  double y, u, v;
};

// --- road geometry ---------------------------------------------------------
constexpr double kCamHeight = 1.4;   // m above the road
constexpr double kSpeed = 22.0;      // m/s
constexpr double kHorizon = 0.42;    // of the height

struct RoadGeo {
  double w, h, hy, cx, f;
  explicit RoadGeo(int width, int height)
      : w(width), h(height), hy(kHorizon * height), cx(width / 2.0), f(0.5 * width) {}
  double hood_y(double x) const {
    const double d = (x - cx) / (w / 2);
    return h * (0.915 + 0.05 * d * d);
  }
};

Yuv road_pixel(const RoadGeo& g, double x, double y, bool tex, int ix, int iy) {
  const double t = tex ? 1.0 : 0.0;
  if (y >= g.hood_y(x)) {
    const bool rim = y < g.hood_y(x) + g.h * 0.006;
    return {rim ? 78.0 : 34.0 + t * texture(ix, iy, 2), 128, 128};
  }
  if (y < g.hy) {
    // Tree line just above the horizon.
    const double fx = x / g.w;
    const double th = g.h * (0.025 + 0.012 * std::sin(fx * 41.0) + 0.008 * std::sin(fx * 113.0 + 1.0) +
                             0.006 * std::sin(fx * 271.0 + 2.0));
    if (y >= g.hy - th) return {60.0 + t * texture(ix, iy, 8), 116, 124};
    // Clouds: a few soft blobs.
    static constexpr double clouds[][4] = {{0.62, 0.10, 0.09, 0.035}, {0.80, 0.17, 0.06, 0.025},
                                           {0.35, 0.20, 0.11, 0.03}, {0.93, 0.07, 0.05, 0.02}};
    const double s = y / g.hy;
    Yuv sky{118 + 85 * s, 128 + 32 - 26 * s, 128 - 19 + 16 * s};
    for (const auto& c : clouds) {
      const double dx = (x / g.w - c[0]) / c[2], dy = (y / g.h - c[1]) / c[3];
      const double d = dx * dx + dy * dy;
      if (d < 1.0) {
        const double a = std::min(1.0, (1.0 - d) * 2.5);
        sky = {sky.y + a * (222 - sky.y), sky.u + a * (129 - sky.u), sky.v + a * (127 - sky.v)};
      }
    }
    return {sky.y + t * texture(ix, iy, 1), sky.u, sky.v};
  }
  const double u = y - g.hy + 0.5;
  const double lateral = std::abs((x - g.cx) * kCamHeight / u);  // metres from the lane centre
  const double depth = u / (g.h - g.hy);                          // 0 at horizon, 1 at bottom
  if (lateral >= 5.25 && lateral < 5.40) return {205.0 + t * texture(ix, iy, 4), 128, 128};
  if (lateral < 5.6) return {92.0 + t * texture(ix, iy, 6), 129, 127};
  if (lateral < 6.6) return {118.0 + t * texture(ix, iy, 9), 126, 130};
  return {86.0 + 26 * depth + t * texture(ix, iy, 10), 104, 117};
}

// --- interior geometry ------------------------------------------------------
bool in_round_rect(double fx, double fy, double x0, double y0, double x1, double y1, double r) {
  if (fx < x0 || fx >= x1 || fy < y0 || fy >= y1) return false;
  const double cx = std::clamp(fx, x0 + r, x1 - r), cy = std::clamp(fy, y0 + r * 1.78, y1 - r * 1.78);
  const double dx = fx - cx, dy = (fy - cy) / 1.78;
  return dx * dx + dy * dy <= r * r;
}

Yuv interior_pixel(double fx, double fy, bool night, bool tex, int ix, int iy) {
  const double t = tex ? 1.0 : 0.0;
  Yuv p{62 + 22 * (1 - fy) + t * texture(ix, iy, 3), 124, 132};  // headliner / trim
  bool window = false;
  // Rear window and the side windows.
  if (in_round_rect(fx, fy, 0.33, 0.10, 0.67, 0.34, 0.03)) {
    p = {182 - 60 * (fy - 0.10) + t * texture(ix, iy, 4), 131, 125};
    window = true;
  } else if (fy > 0.08 && fy < 0.42 && fx < 0.19 - 0.12 * (fy - 0.08) && fx > 0.01) {
    p = {168 - 40 * fy + t * texture(ix, iy, 4), 130, 126};
    window = true;
  } else if (fy > 0.08 && fy < 0.42 && fx > 0.81 + 0.12 * (fy - 0.08) && fx < 0.99) {
    p = {168 - 40 * fy + t * texture(ix, iy, 4), 130, 126};
    window = true;
  }
  // Rear bench and its headrests, then the front passenger seat (left of the
  // picture) and the driver's seat (right; mostly hidden by the driver).
  if (in_round_rect(fx, fy, 0.22, 0.29, 0.32, 0.38, 0.02) || in_round_rect(fx, fy, 0.68, 0.29, 0.78, 0.38, 0.02))
    p = {46 + t * texture(ix, iy, 3), 126, 130};
  else if (fy >= 0.36 && fy < 0.62 && fx >= 0.12 && fx < 0.88)
    p = {52 + 6 * std::sin(fx * 60) + t * texture(ix, iy, 4), 126, 130};
  if (in_round_rect(fx, fy, 0.10, 0.50, 0.40, 1.01, 0.04)) p = {40 + t * texture(ix, iy, 4), 127, 129};
  {
    const double dx = (fx - 0.25) / 0.07, dy = (fy - 0.42) / 0.075;
    if (dx * dx + dy * dy < 1) p = {44 + t * texture(ix, iy, 3), 127, 129};
  }
  if (in_round_rect(fx, fy, 0.60, 0.55, 0.90, 1.01, 0.04)) p = {40 + t * texture(ix, iy, 4), 127, 129};
  if (night) {
    // IR: no colour, dim, windows black (the illuminator reaches the cabin only).
    const double y = window ? 20 + t * texture(ix, iy, 2) : 18 + 0.62 * (p.y - 16);
    return {y, 128, 128};
  }
  return p;
}

}  // namespace

// --- Canvas -----------------------------------------------------------------

void Canvas::fill_rect(int x0, int y0, int x1, int y1, uint8_t y, uint8_t u, uint8_t v) {
  x0 = std::max(x0, 0), y0 = std::max(y0, 0);
  x1 = std::min(x1, width), y1 = std::min(y1, height);
  if (x0 >= x1 || y0 >= y1) return;
  for (int r = y0; r < y1; ++r) std::memset(data[0] + static_cast<ptrdiff_t>(r) * linesize[0] + x0, y, x1 - x0);
  const int cx0 = x0 / 2, cx1 = (x1 + 1) / 2, cy0 = y0 / 2, cy1 = (y1 + 1) / 2;
  for (int r = cy0; r < cy1; ++r) {
    std::memset(data[1] + static_cast<ptrdiff_t>(r) * linesize[1] + cx0, u, cx1 - cx0);
    std::memset(data[2] + static_cast<ptrdiff_t>(r) * linesize[2] + cx0, v, cx1 - cx0);
  }
}

void Canvas::span(int row, int x0, int x1, uint8_t y, uint8_t u, uint8_t v) {
  x0 = std::max(x0, 0), x1 = std::min(x1, width);
  if (row < 0 || row >= height || x0 >= x1) return;
  std::memset(data[0] + static_cast<ptrdiff_t>(row) * linesize[0] + x0, y, x1 - x0);
  if (row % 2 == 0) {
    const int cx0 = x0 / 2, cx1 = (x1 + 1) / 2, cr = row / 2;
    std::memset(data[1] + static_cast<ptrdiff_t>(cr) * linesize[1] + cx0, u, cx1 - cx0);
    std::memset(data[2] + static_cast<ptrdiff_t>(cr) * linesize[2] + cx0, v, cx1 - cx0);
  }
}

void Canvas::fill_ellipse(double cx, double cy, double rx, double ry, uint8_t y, uint8_t u, uint8_t v) {
  if (rx <= 0 || ry <= 0) return;
  const int r0 = std::max(0, static_cast<int>(std::floor(cy - ry)));
  const int r1 = std::min(height, static_cast<int>(std::ceil(cy + ry)) + 1);
  for (int r = r0; r < r1; ++r) {
    const double dy = (r + 0.5 - cy) / ry;
    if (dy * dy >= 1) continue;
    const double half = rx * std::sqrt(1 - dy * dy);
    const int x0 = std::max(0, static_cast<int>(std::lround(cx - half)));
    const int x1 = std::min(width, static_cast<int>(std::lround(cx + half)));
    if (x0 < x1) std::memset(data[0] + static_cast<ptrdiff_t>(r) * linesize[0] + x0, y, x1 - x0);
  }
  const int cw = (width + 1) / 2, chh = (height + 1) / 2;
  const int c0 = std::max(0, static_cast<int>(std::floor((cy - ry) / 2)));
  const int c1 = std::min(chh, static_cast<int>(std::ceil((cy + ry) / 2)) + 1);
  for (int r = c0; r < c1; ++r) {
    const double dy = (2 * r + 1 - cy) / ry;
    if (dy * dy >= 1) continue;
    const double half = rx * std::sqrt(1 - dy * dy) / 2;
    const int x0 = std::max(0, static_cast<int>(std::lround(cx / 2 - half)));
    const int x1 = std::min(cw, static_cast<int>(std::lround(cx / 2 + half)));
    if (x0 < x1) {
      std::memset(data[1] + static_cast<ptrdiff_t>(r) * linesize[1] + x0, u, x1 - x0);
      std::memset(data[2] + static_cast<ptrdiff_t>(r) * linesize[2] + x0, v, x1 - x0);
    }
  }
}

// --- VideoSynth -------------------------------------------------------------

VideoSynth::VideoSynth(Camera camera, bool night, int width, int height)
    : camera_(camera), night_(night), w_(width), h_(height) {
  const size_t cw = (w_ + 1) / 2, ch = (h_ + 1) / 2;
  bg_[0].resize(static_cast<size_t>(w_) * h_);
  bg_[1].resize(cw * ch);
  bg_[2].resize(cw * ch);
  if (camera_ == Camera::Road)
    build_road_background();
  else
    build_interior_background();

  // Sensor noise: a triangular distribution in [-amp, amp] (luma only); each
  // frame reads it at a different offset.
  const int amp = camera_ == Camera::Road ? 5 : (night_ ? 10 : 4);
  noise_span_ = static_cast<size_t>(w_) * 61 + 17;
  const size_t n = static_cast<size_t>(w_) * h_ + noise_span_;
  noise_pos_.resize(n);
  noise_neg_.resize(n);
  Rng rng(0x6E6F697365ULL + static_cast<uint64_t>(amp));
  for (size_t i = 0; i < n; ++i) {
    const double tri = rng.uniform() + rng.uniform() - 1.0;  // (-1, 1), triangular
    const long val = std::lround(tri * amp);
    noise_pos_[i] = static_cast<uint8_t>(val > 0 ? val : 0);
    noise_neg_[i] = static_cast<uint8_t>(val < 0 ? -val : 0);
  }
}

void VideoSynth::build_road_background() {
  const RoadGeo g(w_, h_);
  const int cw = (w_ + 1) / 2, ch = (h_ + 1) / 2;
  for (int y = 0; y < h_; ++y)
    for (int x = 0; x < w_; ++x)
      bg_[0][static_cast<size_t>(y) * w_ + x] = clamp8(road_pixel(g, x + 0.5, y + 0.5, true, x, y).y);
  for (int y = 0; y < ch; ++y)
    for (int x = 0; x < cw; ++x) {
      const Yuv p = road_pixel(g, 2 * x + 1.0, 2 * y + 1.0, false, x, y);
      bg_[1][static_cast<size_t>(y) * cw + x] = clamp8(p.u);
      bg_[2][static_cast<size_t>(y) * cw + x] = clamp8(p.v);
    }
}

void VideoSynth::build_interior_background() {
  const int cw = (w_ + 1) / 2, ch = (h_ + 1) / 2;
  for (int y = 0; y < h_; ++y)
    for (int x = 0; x < w_; ++x)
      bg_[0][static_cast<size_t>(y) * w_ + x] =
          clamp8(interior_pixel((x + 0.5) / w_, (y + 0.5) / h_, night_, true, x, y).y);
  for (int y = 0; y < ch; ++y)
    for (int x = 0; x < cw; ++x) {
      const Yuv p = interior_pixel((2 * x + 1.0) / w_, (2 * y + 1.0) / h_, night_, false, x, y);
      bg_[1][static_cast<size_t>(y) * cw + x] = clamp8(p.u);
      bg_[2][static_cast<size_t>(y) * cw + x] = clamp8(p.v);
    }
}

void VideoSynth::render(int64_t index, int fps, int fps_den, const Canvas& out) const {
  const int cw = (w_ + 1) / 2, ch = (h_ + 1) / 2;
  for (int y = 0; y < h_; ++y)
    std::memcpy(out.data[0] + static_cast<ptrdiff_t>(y) * out.linesize[0], bg_[0].data() + static_cast<size_t>(y) * w_, w_);
  for (int p = 1; p < 3; ++p)
    for (int y = 0; y < ch; ++y)
      std::memcpy(out.data[p] + static_cast<ptrdiff_t>(y) * out.linesize[p], bg_[p].data() + static_cast<size_t>(y) * cw, cw);
  const double t = static_cast<double>(index * std::max(1, fps_den)) / std::max(1, fps);
  if (camera_ == Camera::Road)
    draw_road_motion(t, out);
  else
    draw_interior_motion(t, out);
  add_noise(index, out);
}

void VideoSynth::draw_road_motion(double t, const Canvas& c0) const {
  Canvas c = c0;
  const RoadGeo g(w_, h_);
  const double s = kSpeed * t;

  // Dashed lane lines at +-1.8 m: 3 m dash every 12 m.
  for (int y = static_cast<int>(std::ceil(g.hy)) + 1; y < h_; ++y) {
    const double u = y + 0.5 - g.hy;
    const double z = kCamHeight * g.f / u;
    if (std::fmod(z + s, 12.0) >= 3.0) continue;
    const double ppm = u / kCamHeight;  // pixels per metre at this depth
    for (double lane : {-1.8, 1.8}) {
      double x0 = g.cx + (lane - 0.075) * ppm, x1 = g.cx + (lane + 0.075) * ppm;
      if (x1 - x0 < 1) x1 = x0 + 1;
      if (y >= g.hood_y((x0 + x1) / 2)) continue;
      c.span(y, static_cast<int>(std::lround(x0)), static_cast<int>(std::lround(x1)), 214, 128, 128);
    }
  }

  // Reflector posts every 40 m on both sides.
  for (int k = 0; k < 6; ++k) {
    const double z = 40.0 * k + 40.0 - std::fmod(s, 40.0);
    if (z < 3.0) continue;
    const double ppm = g.f / z;
    const double yb = g.hy + kCamHeight * ppm, yt = yb - 1.1 * ppm;
    const double hw = std::max(0.5, 0.08 * ppm);
    for (double side : {-7.0, 7.0}) {
      const double x = g.cx + side * ppm;
      c.fill_rect(static_cast<int>(x - hw), static_cast<int>(yt), static_cast<int>(x + hw) + 1,
                  static_cast<int>(yb), 226, 128, 128);
      c.fill_rect(static_cast<int>(x - hw), static_cast<int>(yt + 0.1 * ppm), static_cast<int>(x + hw) + 1,
                  static_cast<int>(yt + 0.3 * ppm), 40, 128, 128);
    }
  }

  // The car ahead, drifting in its lane.
  {
    const double z = 28.0 + 4.0 * std::sin(2 * kPi * t / 23.0);
    const double lat = 0.25 * std::sin(2 * kPi * t / 11.0);
    const double ppm = g.f / z;
    const double yb = g.hy + kCamHeight * ppm, yt = yb - 1.45 * ppm;
    const double xl = g.cx + (lat - 0.9) * ppm, xr = g.cx + (lat + 0.9) * ppm;
    auto R = [](double v) { return static_cast<int>(std::lround(v)); };
    c.fill_rect(R(xl - 0.05 * ppm), R(yb - 0.05 * ppm), R(xr + 0.05 * ppm), R(yb + 0.12 * ppm), 28, 128, 128);
    c.fill_rect(R(xl), R(yt), R(xr), R(yb), 62, 112, 168);                                        // body
    c.fill_rect(R(xl + 0.18 * ppm), R(yt + 0.08 * ppm), R(xr - 0.18 * ppm), R(yt + 0.5 * ppm), 34, 128, 128);  // rear window
    c.fill_rect(R(xl + 0.05 * ppm), R(yt + 0.72 * ppm), R(xl + 0.35 * ppm), R(yt + 0.9 * ppm), 96, 96, 214);    // tail lights
    c.fill_rect(R(xr - 0.35 * ppm), R(yt + 0.72 * ppm), R(xr - 0.05 * ppm), R(yt + 0.9 * ppm), 96, 96, 214);
    c.fill_rect(R(xl), R(yb - 0.22 * ppm), R(xr), R(yb), 40, 128, 128);                              // bumper
    const double xm = g.cx + lat * ppm;
    c.fill_rect(R(xm - 0.26 * ppm), R(yt + 0.95 * ppm), R(xm + 0.26 * ppm), R(yt + 1.08 * ppm), 200, 128, 128);  // plate
  }
}

void VideoSynth::draw_interior_motion(double t, const Canvas& c0) const {
  Canvas c = c0;
  const double W = w_, H = h_;
  const bool n = night_;
  // A car following behind, seen through the rear window.
  {
    const double x = W * (0.5 + 0.06 * std::sin(2 * kPi * t / 17.0));
    const double y = H * 0.30;
    if (n) {
      c.fill_ellipse(x - W * 0.04, y, W * 0.012, H * 0.012, 235, 128, 128);
      c.fill_ellipse(x + W * 0.04, y, W * 0.012, H * 0.012, 235, 128, 128);
    } else {
      c.fill_rect(static_cast<int>(x - W * 0.06), static_cast<int>(y - H * 0.05), static_cast<int>(x + W * 0.06),
                  static_cast<int>(H * 0.335), 72, 120, 140);
      c.fill_rect(static_cast<int>(x - W * 0.045), static_cast<int>(y - H * 0.045), static_cast<int>(x + W * 0.045),
                  static_cast<int>(y - H * 0.01), 120, 132, 124);
    }
  }
  // The driver (right of the picture: the camera looks back into the cabin).
  const double sway = W * (0.018 * std::sin(2 * kPi * t / 6.5) + 0.006 * std::sin(2 * kPi * t / 1.9));
  const double bob = H * 0.006 * std::sin(2 * kPi * t / 3.1);
  const double hx = W * 0.75 + sway, hy = H * 0.43 + bob;
  c.fill_ellipse(W * 0.75 + sway * 0.5, H * 1.08, W * 0.17, H * 0.46, n ? 84 : 92, n ? 128 : 146, n ? 128 : 112);
  c.fill_rect(static_cast<int>(hx - W * 0.022), static_cast<int>(hy + H * 0.08), static_cast<int>(hx + W * 0.022),
              static_cast<int>(H * 0.66), n ? 130 : 132, n ? 128 : 114, n ? 128 : 146);
  c.fill_ellipse(hx, hy - H * 0.012, W * 0.057, H * 0.125, n ? 46 : 34, 128, n ? 128 : 130);  // hair
  c.fill_ellipse(hx, hy + H * 0.018, W * 0.051, H * 0.108, n ? 150 : 148, n ? 128 : 112, n ? 128 : 148);
  const double ex = W * 0.017, ey = hy + H * 0.0;
  c.fill_ellipse(hx - ex, ey, W * 0.007, H * 0.008, n ? 210 : 40, 128, 128);  // eyes (IR glint at night)
  c.fill_ellipse(hx + ex, ey, W * 0.007, H * 0.008, n ? 210 : 40, 128, 128);
}

void VideoSynth::add_noise(int64_t index, const Canvas& c) const {
  Rng rng(0x4E45584EULL ^ (static_cast<uint64_t>(index) * 0x9E3779B97F4A7C15ULL));
  const size_t off = static_cast<size_t>(rng.next() % noise_span_);
  for (int y = 0; y < h_; ++y) {
    uint8_t* row = c.data[0] + static_cast<ptrdiff_t>(y) * c.linesize[0];
    const uint8_t* pos = noise_pos_.data() + off + static_cast<size_t>(y) * w_;
    const uint8_t* neg = noise_neg_.data() + off + static_cast<size_t>(y) * w_;
    int x = 0;
#if defined(__SSE2__)
    for (; x + 16 <= w_; x += 16) {
      __m128i p = _mm_loadu_si128(reinterpret_cast<const __m128i*>(row + x));
      p = _mm_adds_epu8(p, _mm_loadu_si128(reinterpret_cast<const __m128i*>(pos + x)));
      p = _mm_subs_epu8(p, _mm_loadu_si128(reinterpret_cast<const __m128i*>(neg + x)));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(row + x), p);
    }
#endif
    for (; x < w_; ++x) row[x] = static_cast<uint8_t>(std::clamp(row[x] + pos[x] - neg[x], 0, 255));
  }
}

// --- AudioSynth -------------------------------------------------------------

AudioSynth::AudioSynth(int sample_rate, uint64_t seed) : rate_(sample_rate), rng_(seed) {}

void AudioSynth::render(float* out, int n) {
  const double r = rate_;
  for (int i = 0; i < n; ++i, ++pos_) {
    const double t = pos_ / r;
    // Engine: ~38 Hz firing frequency wandering with the rpm, four harmonics.
    const double f0 = 38.0 + 6.0 * std::sin(2 * kPi * t / 7.3) + 2.0 * std::sin(2 * kPi * t / 2.1);
    phase_ += f0 / r;
    if (phase_ >= 1.0) phase_ -= 1.0;
    const double p = 2 * kPi * phase_;
    double s = 0.10 * std::sin(p) + 0.06 * std::sin(2 * p + 0.5) + 0.035 * std::sin(3 * p + 1.2) +
               0.02 * std::sin(4 * p + 2.0);
    // Road/wind noise: white noise through two one-pole low-passes, plus hiss.
    const double white = 2.0 * rng_.uniform() - 1.0;
    lp1_ += 0.03 * (white - lp1_);
    lp2_ += 0.03 * (lp1_ - lp2_);
    s += 1.6 * lp2_ + 0.004 * white;
    out[i] = static_cast<float>(std::clamp(s, -1.0, 1.0));
  }
}

}  // namespace nex::media
