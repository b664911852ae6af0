#include "nex/recording_format.hpp"

#include <charconv>
#include <cmath>

#include "nex/timeutil.hpp"

namespace nex {
namespace {

std::string lower(std::string_view s) {
  std::string r(s);
  for (char& c : r) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  return r;
}

// The frame rates cameras record at, with the usual decimal spellings of the
// NTSC ones.
struct NamedRate {
  const char* name;
  const char* alias;
  FrameRate rate;
};
constexpr NamedRate kRates[] = {
    {"24", nullptr, {24, 1}},           {"25", nullptr, {25, 1}},
    {"30", nullptr, {30, 1}},           {"50", nullptr, {50, 1}},
    {"60", nullptr, {60, 1}},           {"24000/1001", "23.976", {24000, 1001}},
    {"30000/1001", "29.97", {30000, 1001}}, {"60000/1001", "59.94", {60000, 1001}},
};

}  // namespace

std::optional<VideoCodec> parse_video_codec(std::string_view s) {
  const std::string l = lower(s);
  if (l == "h264" || l == "avc") return VideoCodec::H264;
  if (l == "hevc" || l == "h265") return VideoCodec::Hevc;
  return std::nullopt;
}

std::optional<FrameRate> parse_frame_rate(std::string_view s) {
  for (const auto& r : kRates) {
    if (s == r.name || (r.alias && s == r.alias)) return r.rate;
    // "30/1" for the integer ones
    if (r.rate.den == 1 && s == std::string(r.name) + "/1") return r.rate;
  }
  return std::nullopt;
}

std::optional<int> parse_bframes(std::string_view s) {
  int v = -1;
  const auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v < 0 || v > kMaxBframes) return std::nullopt;
  return v;
}

std::optional<int64_t> parse_gop(std::string_view s) {
  if (!s.empty() && s[0] == '+') return std::nullopt;
  const auto d = parse_duration(s);
  if (!d || *d < kMinGopMs || *d > kMaxGopMs) return std::nullopt;
  return *d;
}

std::optional<Container> parse_container(std::string_view s) {
  const std::string l = lower(s);
  if (l == "mp4") return Container::Mp4;
  if (l == "mov") return Container::Mov;
  return std::nullopt;
}

const char* to_string(VideoCodec c) { return c == VideoCodec::Hevc ? "hevc" : "h264"; }
const char* to_string(Container c) { return c == Container::Mov ? "mov" : "mp4"; }

std::string format_frame_rate(FrameRate r) {
  if (r.den == 1) return std::to_string(r.num);
  return std::to_string(r.num) + "/" + std::to_string(r.den);
}

std::string format_gop(int64_t ms) {
  if (ms % 1000 == 0) return std::to_string(ms / 1000) + "s";
  if (ms % 100 == 0) return std::to_string(ms / 1000) + "." + std::to_string(ms / 100 % 10) + "s";
  return std::to_string(ms) + "ms";
}

int gop_frames(int64_t gop_ms, FrameRate r) {
  const double frames = static_cast<double>(gop_ms) * r.num / (1000.0 * r.den);
  return static_cast<int>(std::max(1L, std::lround(frames)));
}

std::string format_problem(const RecordingFormat& f) {
  const FrameRate fps = f.fps.value_or(FrameRate{});
  const int64_t gop = f.gop_ms.value_or(1000);
  const int bframes = f.bframes.value_or(0);
  const int frames = gop_frames(gop, fps);
  if (bframes >= frames)
    return "a " + format_gop(gop) + " GOP at " + format_frame_rate(fps) + " fps holds " + std::to_string(frames) +
           " frames, too few for " + std::to_string(bframes) + " B-frames between keyframes";
  return {};
}

}  // namespace nex
