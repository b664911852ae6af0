// nexcut: clips checked frame by frame with the timecode nexsim burns into
// every frame (the milliseconds since its segment began), on a 6-minute
// drive of real 60 s segments (road 1080p, interior 720p + AAC); audio
// against the source's own samples; salvage against an intact twin of the
// power-cut recording; the failure paths leave nothing behind.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libexif/exif-data.h>
}

#include "nex/card.hpp"
#include "nex/cut.hpp"
#include "nex/error.hpp"
#include "nex/footage.hpp"
#include "nex/salvage.hpp"
#include "nex/sim.hpp"
#include "nex/timeutil.hpp"

namespace fs = std::filesystem;
using nex::LocalTime;
using nex::cut::Mode;

namespace {

struct TempDir {
  fs::path path;
  explicit TempDir(const std::string& stem) {
    path = fs::temp_directory_path() / (stem + "-" + std::to_string(::getpid()));
    fs::remove_all(path);
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

TempDir& work() {
  static TempDir d("nex-cut-test");
  return d;
}

LocalTime T(const char* iso) {
  auto t = nex::parse_iso(iso);
  REQUIRE(t);
  return *t;
}

const LocalTime kDriveStart = nex::from_civil({2026, 11, 20, 8, 12, 0, 0});
constexpr int64_t kDriveMs = 6 * 60'000;

fs::path make_card(const std::string& name, int64_t duration_ms, bool power_cut) {
  const fs::path card = work().path / name;
  nex::sim::InitOptions io;
  io.card = card;
  io.model = "pro";
  io.capacity = 64ull << 30;
  io.utc_offset_min = 120;
  const nex::Context q = nex::Context::quiet();
  nex::sim::init_card(io, q);
  nex::sim::DriveOptions d;
  d.card = card;
  d.start = kDriveStart;
  d.duration_ms = duration_ms;
  d.interior = true;
  d.power_cut = power_cut;
  if (duration_ms > 2 * 60'000) d.events.push_back(nex::sim::parse_planned_event("hard-brake@2m"));
  d.cache_dir = nex::default_cache_dir();
  nex::sim::simulate_drive(d, q);
  return card;
}

const nex::CardScan& drive_scan() {
  static const nex::CardScan scan = [] {
    const fs::path card = make_card("card", kDriveMs, false);
    return nex::scan_card(card, {}, nex::Context::quiet());
  }();
  return scan;
}

// Each test case may run in its own process (ctest), so the folder is made here.
fs::path out(const std::string& name) {
  fs::create_directories(work().path / "out");
  return work().path / "out" / name;
}

// The timecodes a clip of [from, to) must show: every frame of the drive
// (30 fps, segments of 60 s from the drive's start) captured in the window.
std::vector<uint32_t> expected_timecodes(LocalTime from, LocalTime to) {
  std::vector<uint32_t> v;
  for (int64_t seg = 0; seg * 60'000 < kDriveMs; ++seg)
    for (int64_t i = 0; i < 1800; ++i) {
      const int64_t ms = i * 1000 / 30;
      const LocalTime t = kDriveStart + seg * 60'000 + ms;
      if (t >= from && t < to) v.push_back(static_cast<uint32_t>(ms));
    }
  return v;
}

// Every frame decoded, its timecode as expected, timestamps from 0 and
// strictly increasing by one frame (33 or 34 ms).
void check_frames(const fs::path& file, const std::vector<uint32_t>& want) {
  const auto stamps = nex::read_frame_stamps(file);
  REQUIRE(stamps.size() == want.size());
  REQUIRE(stamps.front().pts_ms == 0);
  for (size_t i = 0; i < stamps.size(); ++i) {
    INFO("frame " << i << " of " << file.filename().string());
    REQUIRE(stamps[i].timecode_ms);
    REQUIRE(*stamps[i].timecode_ms == want[i]);
    if (i) {
      const int64_t d = stamps[i].pts_ms - stamps[i - 1].pts_ms;
      REQUIRE((d == 33 || d == 34));
    }
  }
}

struct StreamInfo {
  double duration = 0;
  int64_t packets = 0;
  int64_t first_pts = 0;
  AVRational tb{1, 1};
  std::vector<uint8_t> extradata;
};
std::map<AVMediaType, StreamInfo> streams_of(const fs::path& file, std::map<std::string, std::string>* tags = nullptr) {
  AVFormatContext* c = nullptr;
  REQUIRE(avformat_open_input(&c, file.c_str(), nullptr, nullptr) == 0);
  REQUIRE(avformat_find_stream_info(c, nullptr) >= 0);
  std::map<AVMediaType, StreamInfo> m;
  for (unsigned i = 0; i < c->nb_streams; ++i) {
    const AVStream* st = c->streams[i];
    StreamInfo s;
    s.duration = st->duration * av_q2d(st->time_base);
    s.tb = st->time_base;
    s.first_pts = AV_NOPTS_VALUE;
    s.extradata.assign(st->codecpar->extradata, st->codecpar->extradata + st->codecpar->extradata_size);
    m[st->codecpar->codec_type] = s;
  }
  AVPacket* p = av_packet_alloc();
  while (av_read_frame(c, p) >= 0) {
    auto& s = m[c->streams[p->stream_index]->codecpar->codec_type];
    if (s.packets++ == 0) s.first_pts = p->pts;
    av_packet_unref(p);
  }
  av_packet_free(&p);
  if (tags) {
    const AVDictionaryEntry* e = nullptr;
    while ((e = av_dict_get(c->metadata, "", e, AV_DICT_IGNORE_SUFFIX))) (*tags)[e->key] = e->value;
  }
  avformat_close_input(&c);
  return m;
}

// Mono float samples as a player renders them (edit lists applied, the
// last frame cut to the stream's duration).
std::vector<float> decode_audio(const fs::path& file) {
  AVFormatContext* c = nullptr;
  REQUIRE(avformat_open_input(&c, file.c_str(), nullptr, nullptr) == 0);
  REQUIRE(avformat_find_stream_info(c, nullptr) >= 0);
  const int ai = av_find_best_stream(c, AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
  REQUIRE(ai >= 0);
  AVStream* st = c->streams[ai];
  const AVCodec* codec = avcodec_find_decoder(st->codecpar->codec_id);
  AVCodecContext* d = avcodec_alloc_context3(codec);
  avcodec_parameters_to_context(d, st->codecpar);
  d->pkt_timebase = st->time_base;
  REQUIRE(avcodec_open2(d, codec, nullptr) == 0);
  std::vector<float> v;
  AVPacket* p = av_packet_alloc();
  AVFrame* f = av_frame_alloc();
  auto drain = [&] {
    while (avcodec_receive_frame(d, f) == 0) {
      const float* s = reinterpret_cast<const float*>(f->extended_data[0]);
      v.insert(v.end(), s, s + f->nb_samples);
      av_frame_unref(f);
    }
  };
  while (av_read_frame(c, p) >= 0) {
    if (p->stream_index == ai) avcodec_send_packet(d, p);
    av_packet_unref(p);
    drain();
  }
  avcodec_send_packet(d, nullptr);
  drain();
  const auto n = static_cast<size_t>(std::llround(st->duration * av_q2d(st->time_base) * d->sample_rate));
  if (v.size() > n) v.resize(n);
  av_frame_free(&f);
  av_packet_free(&p);
  avcodec_free_context(&d);
  avformat_close_input(&c);
  return v;
}

double snr_db(const std::vector<float>& ref, const std::vector<float>& got, size_t from, size_t to) {
  double s = 0, e = 0;
  for (size_t i = from; i < to && i < ref.size() && i < got.size(); ++i) {
    s += double(ref[i]) * ref[i];
    e += (double(got[i]) - ref[i]) * (double(got[i]) - ref[i]);
  }
  return 10 * std::log10(s / std::max(e, 1e-12));
}

bool leftovers(const fs::path& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec))
    if (e.path().filename().string().find(".tmp-") != std::string::npos) return true;
  return false;
}

nex::cut::ClipResult clip(LocalTime from, LocalTime to, nex::Camera cam, Mode mode, const std::string& name) {
  fs::create_directories(out(""));
  nex::cut::ClipOptions o;
  o.overwrite = true;
  return nex::cut::make_clip(drive_scan(), from, to, cam, mode, out(name), nex::Context::quiet(), o);
}

}  // namespace

TEST_CASE("exact cut inside one segment: first and last frame to the frame", "[cut]") {
  const LocalTime from = T("2026-11-20T08:13:04.450"), to = T("2026-11-20T08:13:10");
  const auto r = clip(from, to, nex::Camera::Road, Mode::Exact, "one.mp4");
  CHECK(r.start == T("2026-11-20T08:13:04.466"));  // frame 134 of the segment
  CHECK(r.end == to);
  CHECK(r.frames == 166);
  CHECK(r.reencoded_frames == 16);  // 134..149, then the keyframe at 150 is copied
  const auto want = expected_timecodes(from, to);
  REQUIRE(want.front() == 4466);
  REQUIRE(want.back() == 9966);
  check_frames(r.file, want);
  // The re-encoded head reproduced the camera's SPS/PPS: one of each in avcC.
  const auto s = streams_of(r.file);
  const auto& x = s.at(AVMEDIA_TYPE_VIDEO).extradata;
  REQUIRE(x.size() > 6);
  CHECK((x[5] & 0x1F) == 1);
  CHECK(x == streams_of(drive_scan().recordings[1].road->path).at(AVMEDIA_TYPE_VIDEO).extradata);
}

TEST_CASE("exact cut across 2 segment boundaries, road", "[cut]") {
  const LocalTime from = T("2026-11-20T08:12:59.500"), to = T("2026-11-20T08:14:00.400");
  const auto r = clip(from, to, nex::Camera::Road, Mode::Exact, "two.mp4");
  const auto want = expected_timecodes(from, to);
  CHECK(r.frames == static_cast<int64_t>(want.size()));
  check_frames(r.file, want);
}

TEST_CASE("exact cut across 5 segment boundaries, interior with audio", "[cut]") {
  const LocalTime from = T("2026-11-20T08:12:59.900"), to = T("2026-11-20T08:17:00.100");
  const auto r = clip(from, to, nex::Camera::Interior, Mode::Exact, "five.mp4");
  const auto want = expected_timecodes(from, to);
  check_frames(r.file, want);
  REQUIRE(r.audio);
  const auto s = streams_of(r.file);
  const double v = s.at(AVMEDIA_TYPE_VIDEO).duration, a = s.at(AVMEDIA_TYPE_AUDIO).duration;
  CHECK(std::abs(v - a) <= 1024.0 / 48000);
  CHECK(s.at(AVMEDIA_TYPE_AUDIO).first_pts == -1024);  // one priming frame, for the whole clip

  // The clip's sound is the camera's, sample-aligned across every seam: the
  // source segments decoded back to back are the reference.
  std::vector<float> ref;
  for (const auto& rec : drive_scan().recordings) {
    auto seg = decode_audio(rec.interior->path);
    REQUIRE(seg.size() == 60u * 48000);
    ref.insert(ref.end(), seg.begin(), seg.end());
  }
  const size_t off = static_cast<size_t>((r.start - kDriveStart) * 48);
  std::vector<float> want_audio(ref.begin() + static_cast<ptrdiff_t>(off), ref.end());
  const auto got = decode_audio(r.file);
  CHECK(std::abs(static_cast<double>(got.size()) - v * 48000) <= 1);
  CHECK(snr_db(want_audio, got, 0, got.size()) > 12);
  for (int k = 1; k <= 4; ++k) {  // every seam: 100 ms either side
    const size_t seam = static_cast<size_t>((kDriveStart + k * 60'000 - r.start) * 48);
    INFO("seam " << k);
    CHECK(snr_db(want_audio, got, seam - 4800, seam + 4800) > 12);
  }
}

TEST_CASE("clips at the very start and end of a drive", "[cut]") {
  // A window reaching before the drive is clamped to its first frame.
  auto r = clip(T("2026-11-20T08:11:50"), T("2026-11-20T08:12:02"), nex::Camera::Road, Mode::Exact, "start.mp4");
  CHECK(r.start == kDriveStart);
  check_frames(r.file, expected_timecodes(kDriveStart, T("2026-11-20T08:12:02")));
  // ... and one reaching past the end to the last frame (an interior head re-encode too).
  r = clip(T("2026-11-20T08:17:57.777"), T("2026-11-20T08:18:30"), nex::Camera::Interior, Mode::Exact, "end.mp4");
  CHECK(r.end == kDriveStart + kDriveMs);
  const auto want = expected_timecodes(T("2026-11-20T08:17:57.777"), kDriveStart + kDriveMs);
  REQUIRE(want.back() == 59966);
  check_frames(r.file, want);
}

TEST_CASE("copy mode starts at the keyframe at or before the start", "[cut]") {
  const LocalTime from = T("2026-11-20T08:13:04.450"), to = T("2026-11-20T08:13:06");
  const auto r = clip(from, to, nex::Camera::Road, Mode::Copy, "copy.mp4");
  CHECK(r.start == T("2026-11-20T08:13:04"));  // keyframes every 30 frames: frame 120
  CHECK(r.reencoded_frames == 0);
  check_frames(r.file, expected_timecodes(T("2026-11-20T08:13:04"), to));
  // On a keyframe --copy is exact too.
  const auto k = clip(T("2026-11-20T08:14:00"), T("2026-11-20T08:14:01"), nex::Camera::Road, Mode::Copy, "k.mp4");
  CHECK(k.start == T("2026-11-20T08:14:00"));
}

TEST_CASE("the head keeps its own parameter sets when they differ from the camera's", "[cut]") {
  ::setenv("NEX_CUT_DISTINCT_PARAMETER_SETS", "1", 1);
  const LocalTime from = T("2026-11-20T08:12:59.5"), to = T("2026-11-20T08:13:01");
  nex::cut::ClipResult r;
  try {
    r = clip(from, to, nex::Camera::Road, Mode::Exact, "two-ps.mp4");
  } catch (...) {
    ::unsetenv("NEX_CUT_DISTINCT_PARAMETER_SETS");
    throw;
  }
  ::unsetenv("NEX_CUT_DISTINCT_PARAMETER_SETS");
  const auto x = streams_of(r.file).at(AVMEDIA_TYPE_VIDEO).extradata;
  REQUIRE(x.size() > 6);
  CHECK((x[5] & 0x1F) == 2);  // two SPS in one avcC
  check_frames(r.file, expected_timecodes(from, to));
}

TEST_CASE("re-encode, timelapse, layouts", "[cut]") {
  nex::cut::ClipOptions o;
  o.overwrite = true;
  o.encode.preset = "ultrafast";
  const auto& scan = drive_scan();
  const nex::Context q = nex::Context::quiet();
  SECTION("re-encode is frame-exact") {
    const LocalTime from = T("2026-11-20T08:13:59.010"), to = T("2026-11-20T08:14:00.990");
    o.mode = Mode::Reencode;
    const auto r = nex::cut::make_clip(scan, from, to, nex::Camera::Interior, Mode::Reencode, out("re.mp4"), q, o);
    CHECK(r.reencoded_frames == r.frames);
    check_frames(r.file, expected_timecodes(from, to));
  }
  SECTION("timelapse 30x keeps one keyframe a second") {
    o.timelapse = 30;
    const auto r = nex::cut::make_clip(scan, T("2026-11-20T08:12:40.2"), T("2026-11-20T08:13:20"),
                                       nex::Camera::Road, Mode::Timelapse, out("tl.mp4"), q, o);
    const auto stamps = nex::read_frame_stamps(r.file);
    REQUIRE(stamps.size() == 40);  // 08:12:40 (keyframe before the start) .. 08:13:19
    for (size_t i = 0; i < stamps.size(); ++i) {
      REQUIRE(stamps[i].timecode_ms);
      CHECK(*stamps[i].timecode_ms == ((40 + i) % 60) * 1000);
    }
  }
  SECTION("pip, side and stack") {
    for (auto [layout, w, h] : {std::tuple{nex::cut::Layout::Pip, 1920, 1080},
                                std::tuple{nex::cut::Layout::Side, 3840, 1080},
                                std::tuple{nex::cut::Layout::Stack, 1920, 2160}}) {
      const auto r = nex::cut::make_composite(scan, T("2026-11-20T08:14:00"), T("2026-11-20T08:14:00.5"), layout,
                                              out(std::string(nex::cut::to_string(layout)) + ".mp4"), q, o);
      AVFormatContext* c = nullptr;
      REQUIRE(avformat_open_input(&c, r.file.c_str(), nullptr, nullptr) == 0);
      REQUIRE(avformat_find_stream_info(c, nullptr) >= 0);
      const int vi = av_find_best_stream(c, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
      CHECK(c->streams[vi]->codecpar->width == w);
      CHECK(c->streams[vi]->codecpar->height == h);
      CHECK(av_find_best_stream(c, AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0) >= 0);
      avformat_close_input(&c);
      // The road picture (top left) keeps its timecode (its strip is sized
      // by the frame's width: unreadable in the double-width side layout).
      if (layout != nex::cut::Layout::Side) check_frames(r.file, expected_timecodes(T("2026-11-20T08:14:00"), T("2026-11-20T08:14:00.5")));
    }
  }
}

TEST_CASE("clip metadata, telemetry and stills", "[cut]") {
  const auto& scan = drive_scan();
  const auto r = clip(T("2026-11-20T08:14:10"), T("2026-11-20T08:14:20"), nex::Camera::Road, Mode::Exact, "meta.mp4");
  std::map<std::string, std::string> tags;
  streams_of(r.file, &tags);
  CHECK(tags["creation_time"] == "2026-11-20T06:14:10.000000Z");  // camera at UTC+02:00
  CHECK(tags["location"].size() >= 18);
  CHECK(tags["make"] == "Nexar");
  CHECK(tags["model"] == "Nexar Pro");
  // moov before mdat (faststart)
  {
    std::ifstream in(r.file, std::ios::binary);
    std::string head(64 << 10, '\0');
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    CHECK(head.find("moov") < head.find("mdat"));
  }

  const auto files = nex::cut::write_telemetry(scan, r.start, r.end, r.file, true);
  REQUIRE(files.size() == 2);
  std::ifstream gpx(files[0]), csv(files[1]);
  std::stringstream g, c;
  g << gpx.rdbuf();
  c << csv.rdbuf();
  const std::string gs = g.str(), cs = c.str();
  size_t pts = 0;
  for (size_t p = gs.find("<trkpt"); p != std::string::npos; p = gs.find("<trkpt", p + 1)) ++pts;
  CHECK(pts == 10);  // 1 Hz
  CHECK(std::count(cs.begin(), cs.end(), '\n') == 1 + 500);  // header + 50 Hz x 10 s
  CHECK(cs.rfind("time,ms,x,y,z\n2026-11-20T08:14:10.000,0,", 0) == 0);

  const auto s = nex::cut::make_still(scan, T("2026-11-20T08:14:00.5"), nex::Camera::Road, out("still.jpg"),
                                      nex::Context::quiet(), true);
  CHECK(s.start == T("2026-11-20T08:14:00.500"));
  const auto stamps = nex::read_frame_stamps(s.file);
  REQUIRE(stamps.size() == 1);
  CHECK(stamps[0].timecode_ms == 500u);
  ExifData* ed = exif_data_new_from_file(s.file.c_str());
  REQUIRE(ed);
  char buf[64];
  ExifEntry* e = exif_data_get_entry(ed, EXIF_TAG_DATE_TIME_ORIGINAL);
  REQUIRE(e);
  CHECK(std::string(exif_entry_get_value(e, buf, sizeof buf)) == "2026:11:20 08:14:00");
  CHECK(exif_data_get_entry(ed, static_cast<ExifTag>(EXIF_TAG_GPS_LATITUDE)));
  exif_data_unref(ed);
}

TEST_CASE("selections resolve to windows", "[cut]") {
  const auto& scan = drive_scan();
  nex::cut::Selection s;
  s.from = "08:13:00";
  s.to = "+30s";
  auto w = nex::cut::resolve_selection(scan, s);
  CHECK(w.from == T("2026-11-20T08:13:00"));
  CHECK(w.to == T("2026-11-20T08:13:30"));
  s = {};
  s.from = "+90s";  // from the drive's start
  s.to = "2026-11-20T08:14:00";
  w = nex::cut::resolve_selection(scan, s);
  CHECK(w.from == T("2026-11-20T08:13:30"));
  s = {};
  s.at = "08:15:00";
  s.before = "5s";
  s.after = "2s";
  w = nex::cut::resolve_selection(scan, s);
  CHECK(w.from == T("2026-11-20T08:14:55"));
  CHECK(w.to == T("2026-11-20T08:15:02"));
  REQUIRE(!scan.events.empty());
  s = {};
  s.event = scan.events.front().id;
  w = nex::cut::resolve_selection(scan, s);
  CHECK(w.from == scan.events.front().time - 20000);
  CHECK(w.to == scan.events.front().time + 10000);
  s = {};
  s.drive = "20261120_081200";
  w = nex::cut::resolve_selection(scan, s);
  CHECK(w.to - w.from == kDriveMs);
  w = nex::cut::window_for_item(scan, "segment", "20261120_081400");
  CHECK(w.from == T("2026-11-20T08:14:00"));
  CHECK(w.to == T("2026-11-20T08:15:00"));

  s = {};
  s.event = "20261120_081330_hard-brake";
  CHECK_THROWS_AS(nex::cut::resolve_selection(scan, s), nex::InputError);
  s = {};
  s.from = "yesterday";
  s.to = "+1s";
  CHECK_THROWS_AS(nex::cut::resolve_selection(scan, s), nex::UsageError);
  s = {};
  CHECK_THROWS_AS(nex::cut::resolve_selection(scan, s), nex::UsageError);
}

TEST_CASE("bad input: clear errors, nothing under the final name", "[cut]") {
  const auto& scan = drive_scan();
  const nex::Context q = nex::Context::quiet();
  fs::create_directories(out(""));
  const fs::path o = out("bad.mp4");
  fs::remove(o);
  CHECK_THROWS_AS(nex::cut::make_clip(scan, T("2026-11-21T08:00:00"), T("2026-11-21T08:00:10"), nex::Camera::Road,
                                      Mode::Exact, o, q),
                  nex::InputError);
  CHECK_THROWS_AS(nex::cut::make_clip(scan, T("2026-11-20T08:13:00"), T("2026-11-20T08:13:10"), nex::Camera::Road,
                                      Mode::Exact, work().path / "missing" / "x.mp4", q),
                  nex::IoError);
  CHECK(!fs::exists(o));
  CHECK(!leftovers(out("")));
  // An existing file is kept unless overwriting is asked for.
  { std::ofstream(o) << "keep"; }
  CHECK_THROWS_AS(nex::cut::make_clip(scan, T("2026-11-20T08:13:00"), T("2026-11-20T08:13:01"), nex::Camera::Road,
                                      Mode::Copy, o, q),
                  nex::IoError);
  CHECK(fs::file_size(o) == 4);
  fs::remove(o);
}

TEST_CASE("salvage recovers every complete frame of a power-cut recording", "[cut]") {
  // Two identical drives, the second one losing power in its last segment.
  const fs::path intact = make_card("twin", 2 * 60'000, false);
  const fs::path cut = make_card("cut", 2 * 60'000, true);
  for (const char* name : {"20261120_081300_1.mp4", "20261120_081300_2.mp4"}) {
    INFO(name);
    const fs::path damaged = cut / "drive" / name;
    const auto size = fs::file_size(damaged);
    // What the intact twin holds in the bytes the damaged file kept.
    std::map<AVMediaType, int64_t> want;
    {
      AVFormatContext* c = nullptr;
      REQUIRE(avformat_open_input(&c, (intact / "drive" / name).c_str(), nullptr, nullptr) == 0);
      AVPacket* p = av_packet_alloc();
      while (av_read_frame(c, p) >= 0) {
        if (p->pos >= 0 && static_cast<uint64_t>(p->pos + p->size) <= size)
          ++want[c->streams[p->stream_index]->codecpar->codec_type];
        av_packet_unref(p);
      }
      av_packet_free(&p);
      avformat_close_input(&c);
    }
    REQUIRE(want[AVMEDIA_TYPE_VIDEO] > 800);  // about half of 1800
    nex::cut::SalvageOptions so;
    so.input = damaged;
    so.output = out(std::string("salvaged_") + name);
    so.overwrite = true;
    const auto rep = nex::cut::salvage(so, nex::Context::quiet());
    CHECK(rep.reference.filename() == fs::path(std::string("20261120_081200") + (name + 15)));
    CHECK(rep.video_frames == want[AVMEDIA_TYPE_VIDEO]);
    CHECK(rep.audio_frames == want[AVMEDIA_TYPE_AUDIO]);
    CHECK(rep.skipped_bytes == 0);
    std::vector<uint32_t> tc;
    for (int64_t i = 0; i < want[AVMEDIA_TYPE_VIDEO]; ++i) tc.push_back(static_cast<uint32_t>(i * 1000 / 30));
    check_frames(so.output, tc);
    if (want[AVMEDIA_TYPE_AUDIO]) {
      // Sample for sample what the intact recording plays over the same time.
      const auto got = decode_audio(so.output);
      const auto ref = decode_audio(intact / "drive" / name);
      REQUIRE(got.size() <= ref.size());
      REQUIRE(got.size() > 20u * 48000);
      CHECK(std::memcmp(got.data(), ref.data(), got.size() * sizeof(float)) == 0);
    }
  }
  // A cut through the truncated segment is refused with the way out.
  const auto scan = nex::scan_card(cut, {}, nex::Context::quiet());
  try {
    nex::cut::make_clip(scan, T("2026-11-20T08:12:50"), T("2026-11-20T08:13:10"), nex::Camera::Road, Mode::Exact,
                        out("trunc.mp4"), nex::Context::quiet());
    FAIL("no error");
  } catch (const nex::InputError& e) {
    CHECK(std::string(e.what()).find("truncated") != std::string::npos);
    CHECK(e.hint().find("nexcut salvage") != std::string::npos);
  }
  CHECK(!fs::exists(out("trunc.mp4")));
  // A reference of another camera is refused, not trusted.
  {
    nex::cut::SalvageOptions bad;
    bad.input = cut / "drive" / "20261120_081300_1.mp4";
    bad.reference = cut / "drive" / "20261120_081200_2.mp4";
    bad.output = out("wrong-ref.mp4");
    CHECK_THROWS_AS(nex::cut::salvage(bad, nex::Context::quiet()), nex::InputError);
    CHECK(!fs::exists(bad.output));
  }
  // A healthy file has nothing to salvage.
  nex::cut::SalvageOptions so;
  so.input = intact / "drive" / "20261120_081300_1.mp4";
  so.output = out("nothing.mp4");
  CHECK_THROWS_AS(nex::cut::salvage(so, nex::Context::quiet()), nex::InputError);
  CHECK(!fs::exists(so.output));
}
