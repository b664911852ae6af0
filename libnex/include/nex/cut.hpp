#pragma once
// nexcut as a library job: clips of a time range from a card's segment
// files, for the road and/or interior camera, frame-exact across segment
// boundaries. Also the building blocks other jobs use (nexsync makes event
// clips with make_clip).
//
// Modes:
//   Copy      stream copy from the keyframe at or before the start (fastest)
//   Exact     smart cut: the partial GOP at the start is re-encoded with the
//             source's own encoder settings, everything else is copied
//   Reencode  every frame decoded and encoded again (x264, preset + CRF)
//   Timelapse every Nth frame, played at the source frame rate (decodes only
//             keyframes when the kept frames are all keyframes)
// In every mode the audio (interior camera) is decoded and encoded once for
// the whole clip: one AAC priming edit list, sample-exact against the video.
#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "nex/card.hpp"
#include "nex/context.hpp"
#include "nex/naming.hpp"
#include "nex/output.hpp"
#include "nex/timeutil.hpp"

namespace nex::cut {

enum class Mode { Copy, Exact, Reencode, Timelapse };
const char* to_string(Mode m);
std::optional<Mode> parse_mode(std::string_view s);

enum class Layout { None, Pip, Side, Stack };
const char* to_string(Layout l);
std::optional<Layout> parse_layout(std::string_view s);

struct EncodeOptions {
  // Codec of what is re-encoded whole (--reencode, --timelapse, layouts):
  // "h264", "hevc", or "" for the source's (H.264 for other codecs).
  std::string codec;
  std::string preset = "veryfast";  // x264/x265 preset for --reencode, --timelapse and layouts
  int crf = 21;                     // quality (lower is better); used when bitrate == 0
  int64_t bitrate = 0;              // bits/s; > 0 selects average bitrate instead of CRF
};

// Facts burned into every frame (--overlay time,speed,g,gps,event), each at the
// frame's own capture time: the camera-local time with its UTC offset, speed
// and position interpolated between the .gps fixes, the G-force vector
// between the .acc samples, the event the frame lies in. A field whose
// sidecar is missing there says so ("no GPS"), never an older value.
// Drawing re-encodes: Mode::Exact becomes Mode::Reencode, Mode::Copy refuses.
struct Overlay {
  bool time = false, speed = false, g = false, gps = false, event = false;
  bool millis = false;  // the time to the millisecond
  bool any() const { return time || speed || g || gps || event; }
};
// "time,speed,g,gps,event" (any of them, any order). UsageError for others.
Overlay parse_overlay(std::string_view fields);

struct ClipOptions {
  Mode mode = Mode::Exact;
  Overlay overlay;
  EncodeOptions encode;
  int timelapse = 30;     // speed-up factor of Mode::Timelapse
  bool audio = true;      // keep the interior camera's audio
  bool overwrite = false; // replace an existing output file
};

// One run of a clip's video, in the clip's decode order: frames copied from
// a source segment bit for bit, or re-encoded (evidence bundles record the
// runs; `nexls verify` checks the copied ones against the source's packets).
struct ClipRun {
  std::filesystem::path source;  // the segment file the frames come from
  bool copied = false;           // stream-copied: the source's packets, byte for byte
  int64_t clip_first = 0;        // the run's first video packet in the clip (decode order, from 0)
  int64_t frames = 0;            // packets (= frames) in the run
  // Copied: the source's video packets, decode order from 0, inclusive (the
  // leading pictures of the first keyframe, shown before it, left out; an
  // HEVC copy after a re-encoded run repeats the camera's parameter sets in
  // front of its first packet). Re-encoded: the source frames, display order.
  int64_t source_first = 0, source_last = 0;
};

// What one written clip holds.
struct ClipResult {
  std::filesystem::path file;
  std::string camera;              // road, interior, pip, side, stack
  Mode mode = Mode::Exact;
  LocalTime requested_from, requested_to;
  LocalTime start, end;            // capture time of the first frame; end of the last
  int64_t frames = 0;
  int64_t reencoded_frames = 0;    // frames that went through an encoder
  bool audio = false;
  uint64_t bytes = 0;
  std::vector<std::filesystem::path> sidecars;  // telemetry written alongside
  std::vector<std::filesystem::path> sources;   // the segment files the clip was cut from
  std::vector<ClipRun> runs;  // copy, exact and reencode modes (timelapse, layouts: every frame re-encoded)
  ojson to_json() const;
};

// One clip of [from, to) (camera-local times): the frames whose capture time
// lies in the window. A window that reaches past the footage is clamped to
// it (with a warning); one outside the footage, footage with a gap, a
// truncated or missing file in the window are InputErrors. The output is
// written under a temporary name and renamed at the end.
ClipResult make_clip(const CardScan& scan, LocalTime from, LocalTime to, Camera camera, Mode mode,
                     const std::filesystem::path& out, const Context& ctx, const ClipOptions& opts = {});

// Both cameras in one picture: the interior inset over the road (Pip), side
// by side (Side) or stacked (Stack); always re-encoded; audio from the interior.
ClipResult make_composite(const CardScan& scan, LocalTime from, LocalTime to, Layout layout,
                          const std::filesystem::path& out, const Context& ctx, const ClipOptions& opts = {});

// A JPEG of the frame shown at `t`, with EXIF DateTimeOriginal (+ sub-seconds),
// GPS position (from the .gps sidecar) and Make/Model.
ClipResult make_still(const CardScan& scan, LocalTime t, Camera camera, const std::filesystem::path& out,
                      const Context& ctx, bool overwrite = false);

// The window's telemetry next to `clip`: <stem>.gpx (GPS track, GPX 1.1) and
// <stem>.csv (G-sensor: time,ms,x,y,z with ms since the clip's start).
// Returns the files written (none when the card has no sidecars there).
std::vector<std::filesystem::path> write_telemetry(const CardScan& scan, LocalTime from, LocalTime to,
                                                   const std::filesystem::path& clip, bool overwrite = false);
// The same from sidecar texts (a backup's copies of the card's .gps / .acc
// files), each with the start of its recording (camera-local), in order.
struct TelemetryText {
  LocalTime start;
  std::string gps, acc;  // "" when the recording has none
};
std::vector<std::filesystem::path> write_telemetry(const std::vector<TelemetryText>& recordings, LocalTime from,
                                                   LocalTime to, const std::filesystem::path& clip,
                                                   bool overwrite = false);

// --- the nexcut job ----------------------------------------------------------

struct Window {
  LocalTime from, to;
  std::string name;  // for file names with --items: "20261120_081400_hard-brake"
};

// How a user picks footage (DESIGN.md §4 time syntax).
struct Selection {
  std::string from, to;       // --from/--to: ISO, time of day, or relative (--to relative to --from)
  std::string at;             // --at T with before/after
  std::string before = "20s", after = "10s";
  std::string event;          // --event ID (window: before/after around it)
  std::string drive;          // --drive ID: the whole drive, or the day/reference for times
};
// Resolves a selection to a window. UsageError for malformed times,
// InputError for unknown events and drives.
Window resolve_selection(const CardScan& scan, const Selection& sel);

// One nexls NDJSON line ({"type":"drive"|"segment"|"event"|"parking","id":...}).
Window window_for_item(const CardScan& scan, const std::string& type, const std::string& id,
                       int64_t before_ms = 20000, int64_t after_ms = 10000);

enum class Cameras { Road, Interior, Both };

struct Options {
  std::filesystem::path card;
  Selection selection;
  std::optional<std::filesystem::path> items;  // NDJSON file, "-" for items_in
  std::istream* items_in = nullptr;            // stdin for "-"
  Cameras cameras = Cameras::Road;
  Layout layout = Layout::None;
  ClipOptions clip;
  bool telemetry = false;
  std::string still;  // --still T: a JPEG instead of a clip
  std::filesystem::path output;  // file; a folder with --items
};

struct Report {
  std::vector<ClipResult> clips;
  std::vector<std::string> failed;  // "<item>: <why>" for --items lines that failed
};

// The whole job. Throws on the first error, except with --items where a
// failed line is reported in `failed` and the rest go on.
Report run(const Options& o, const Context& ctx);

// --live: a camera's live view (http://HOST[:PORT], MJPEG) recorded for a
// duration into an H.264 MP4 (temporary name, renamed at the end), each
// frame at the time it arrived. InputError when the address is not a nex
// camera, has no such view, or the stream stops early (nothing written).
struct LiveOptions {
  std::string camera;            // http://HOST[:PORT]
  Camera which = Camera::Road;
  int64_t duration_ms = 0;
  std::filesystem::path output;
  bool overwrite = false;
};
ClipResult record_live(const LiveOptions& o, const Context& ctx);

// Output file of camera `cam` when two files are written: "clip.mp4" ->
// "clip_road.mp4" / "clip_interior.mp4".
std::filesystem::path camera_file(const std::filesystem::path& out, Camera cam);

}  // namespace nex::cut
