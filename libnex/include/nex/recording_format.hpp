#pragma once
// How a camera records: codec, frame rate, B-frames, keyframe interval and
// container. Nexar's models all record H.264 at 30 fps without B-frames, an
// IDR every second, in MP4 (AAC audio); `nexsim init --codec/--fps/--bframes/
// --gop/--container` emulates other cameras, and camera.yaml keeps the
// choice (keys absent = the model's defaults, so existing cards are unchanged).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace nex {

enum class VideoCodec { H264, Hevc };
enum class Container { Mp4, Mov };  // mov: .MOV files, PCM (sowt) audio; mp4: AAC

struct FrameRate {
  int num = 30;
  int den = 1;
  friend bool operator==(const FrameRate&, const FrameRate&) = default;
};

// Overrides of the model's recording format; nullopt = the model default.
struct RecordingFormat {
  std::optional<VideoCodec> codec;
  std::optional<FrameRate> fps;
  std::optional<int> bframes;       // 0..4 consecutive B-frames
  std::optional<int64_t> gop_ms;    // keyframe interval
  std::optional<Container> container;

  bool is_default() const { return !codec && !fps && !bframes && !gop_ms && !container; }
  friend bool operator==(const RecordingFormat&, const RecordingFormat&) = default;
};

inline constexpr int kMaxBframes = 4;
inline constexpr int64_t kMinGopMs = 100;
inline constexpr int64_t kMaxGopMs = 10'000;

// Parsers for the CLI and camera.yaml; nullopt on anything else.
std::optional<VideoCodec> parse_video_codec(std::string_view s);   // h264 | hevc (h265 too)
std::optional<FrameRate> parse_frame_rate(std::string_view s);     // 24 25 30 50 60, 24000/1001
                                                                   // 30000/1001 60000/1001, 29.97 ...
std::optional<int> parse_bframes(std::string_view s);              // 0..4
std::optional<int64_t> parse_gop(std::string_view s);              // a duration, 100ms..10s
std::optional<Container> parse_container(std::string_view s);      // mp4 | mov

const char* to_string(VideoCodec c);   // "h264", "hevc"
const char* to_string(Container c);    // "mp4", "mov"
std::string format_frame_rate(FrameRate r);  // "30", "30000/1001"
std::string format_gop(int64_t ms);          // "1s", "500ms", "2.5s"

// Frames between keyframes for a keyframe interval at a frame rate (at least 1).
int gop_frames(int64_t gop_ms, FrameRate r);

// What is wrong with a combination (e.g. more B-frames than a GOP holds), or
// "" when it is fine.
std::string format_problem(const RecordingFormat& f);

// The hint listing the accepted values of each option.
inline constexpr const char* kCodecHint = "use h264 or hevc";
inline constexpr const char* kFpsHint = "use 24, 25, 30, 50, 60, 24000/1001, 30000/1001 or 60000/1001";
inline constexpr const char* kBframesHint = "use 0 to 4";
inline constexpr const char* kGopHint = "a duration from 100ms to 10s, e.g. 0.5s, 1s, 2s";
inline constexpr const char* kContainerHint = "use mp4 or mov";

}  // namespace nex
