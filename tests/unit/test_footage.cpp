// nex footage synthesis: templates, segments, power cuts, thumbnails and the
// frame-stamp reader, checked on real media with libavformat/libavcodec and
// libexif. Templates here are 3 s long (length_ms = 3000) in a private temp
// cache so the suite stays fast.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libexif/exif-data.h>
#include <libexif/exif-utils.h>
#include <libswscale/swscale.h>
}

#include "nex/error.hpp"
#include "nex/footage.hpp"
#include "nex/timeutil.hpp"

namespace fs = std::filesystem;

namespace {

// ---------------------------------------------------------------- fixtures

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
  static TempDir d("nex-footage-test");
  return d;
}
fs::path cache_dir() { return work().path / "cache"; }

nex::StreamProfile short_profile(nex::StreamProfile p) {
  p.length_ms = 3000;
  return p;
}

const fs::path& road_template() {
  static const fs::path p = nex::ensure_template(short_profile(nex::road_profile()), cache_dir());
  return p;
}
const fs::path& interior_template(bool night) {
  static const fs::path day = nex::ensure_template(short_profile(nex::interior_profile(false)), cache_dir());
  static const fs::path dark = nex::ensure_template(short_profile(nex::interior_profile(true)), cache_dir());
  return night ? dark : day;
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  REQUIRE(in.good());
  return std::string(std::istreambuf_iterator<char>(in), {});
}

nex::SegmentMeta sample_meta() {
  nex::SegmentMeta m;
  m.start = nex::from_civil({2026, 11, 20, 8, 12, 0, 0});
  m.utc_offset_min = 60;  // camera at UTC+01:00
  m.lat = 52.52;
  m.lon = 13.405;
  m.make = "Nexar";
  m.model = "Nexar Pro";
  return m;
}

// ---------------------------------------------------------------- probing

struct StreamProbe {
  AVMediaType type = AVMEDIA_TYPE_UNKNOWN;
  std::string codec, profile;
  int width = 0, height = 0, sample_rate = 0, channels = 0;
  double duration = 0;  // s
  int64_t frames = 0;
};

struct Probe {
  double duration = 0;  // s
  std::map<std::string, std::string> tags;
  std::vector<StreamProbe> streams;
  std::string tag(const std::string& k) const {
    const auto it = tags.find(k);
    return it == tags.end() ? std::string() : it->second;
  }
  const StreamProbe* find(AVMediaType t) const {
    for (const auto& s : streams)
      if (s.type == t) return &s;
    return nullptr;
  }
};

// nullopt + the FFmpeg error when libavformat refuses the file.
std::optional<Probe> probe(const fs::path& file, int* error = nullptr) {
  AVFormatContext* ctx = nullptr;
  int ret = avformat_open_input(&ctx, file.c_str(), nullptr, nullptr);
  if (ret >= 0) {
    ret = avformat_find_stream_info(ctx, nullptr);
    if (ret < 0) avformat_close_input(&ctx);
  }
  if (ret < 0) {
    if (error) *error = ret;
    return std::nullopt;
  }
  Probe p;
  p.duration = ctx->duration == AV_NOPTS_VALUE ? -1 : ctx->duration / static_cast<double>(AV_TIME_BASE);
  const AVDictionaryEntry* e = nullptr;
  while ((e = av_dict_get(ctx->metadata, "", e, AV_DICT_IGNORE_SUFFIX))) p.tags[e->key] = e->value;
  for (unsigned i = 0; i < ctx->nb_streams; ++i) {
    const AVStream* st = ctx->streams[i];
    StreamProbe s;
    s.type = st->codecpar->codec_type;
    s.codec = avcodec_get_name(st->codecpar->codec_id);
    if (const char* prof = avcodec_profile_name(st->codecpar->codec_id, st->codecpar->profile)) s.profile = prof;
    s.width = st->codecpar->width;
    s.height = st->codecpar->height;
    s.sample_rate = st->codecpar->sample_rate;
    s.channels = st->codecpar->ch_layout.nb_channels;
    s.duration = st->duration == AV_NOPTS_VALUE ? -1 : st->duration * av_q2d(st->time_base);
    s.frames = st->nb_frames;
    p.streams.push_back(s);
  }
  avformat_close_input(&ctx);
  return p;
}

// Top-level MP4 boxes.
struct Box {
  std::string type;
  uint64_t offset = 0, size = 0, header = 0;
};
std::vector<Box> top_level_boxes(const std::string& data) {
  std::vector<Box> boxes;
  uint64_t off = 0;
  auto rb32 = [&](uint64_t o) {
    const auto* p = reinterpret_cast<const uint8_t*>(data.data() + o);
    return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3];
  };
  while (off + 8 <= data.size()) {
    Box b;
    b.offset = off;
    b.type = data.substr(off + 4, 4);
    b.size = rb32(off);
    b.header = 8;
    if (b.size == 1) {
      b.size = uint64_t(rb32(off + 8)) << 32 | rb32(off + 12);
      b.header = 16;
    } else if (b.size == 0) {
      b.size = data.size() - off;
    }
    boxes.push_back(b);
    if (b.size < b.header) break;
    off += b.size;
  }
  return boxes;
}

// Re-encode a file's video to w x h H.264 in Matroska (another container, a
// millisecond time base, a low bitrate): what a later cut/timelapse produces.
void transcode(const fs::path& in, const fs::path& out, int w, int h) {
  AVFormatContext* ictx = nullptr;
  REQUIRE(avformat_open_input(&ictx, in.c_str(), nullptr, nullptr) >= 0);
  REQUIRE(avformat_find_stream_info(ictx, nullptr) >= 0);
  const int vi = av_find_best_stream(ictx, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  REQUIRE(vi >= 0);
  AVStream* ist = ictx->streams[vi];
  const AVCodec* dc = avcodec_find_decoder(ist->codecpar->codec_id);
  AVCodecContext* dec = avcodec_alloc_context3(dc);
  avcodec_parameters_to_context(dec, ist->codecpar);
  REQUIRE(avcodec_open2(dec, dc, nullptr) >= 0);

  AVFormatContext* octx = nullptr;
  REQUIRE(avformat_alloc_output_context2(&octx, nullptr, "matroska", out.c_str()) >= 0);
  const AVCodec* ec = avcodec_find_encoder_by_name("libx264");
  REQUIRE(ec != nullptr);
  AVCodecContext* enc = avcodec_alloc_context3(ec);
  enc->width = w;
  enc->height = h;
  enc->pix_fmt = AV_PIX_FMT_YUV420P;
  enc->time_base = ist->time_base;
  enc->framerate = {30, 1};
  enc->bit_rate = 250'000;
  enc->gop_size = 60;
  enc->max_b_frames = 2;  // B-frames: pts order differs from decode order
  enc->thread_count = 1;
  av_opt_set(enc->priv_data, "preset", "veryfast", 0);
  if (octx->oformat->flags & AVFMT_GLOBALHEADER) enc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
  REQUIRE(avcodec_open2(enc, ec, nullptr) >= 0);
  AVStream* ost = avformat_new_stream(octx, nullptr);
  avcodec_parameters_from_context(ost->codecpar, enc);
  ost->time_base = enc->time_base;
  REQUIRE(avio_open(&octx->pb, out.c_str(), AVIO_FLAG_WRITE) >= 0);
  REQUIRE(avformat_write_header(octx, nullptr) >= 0);

  SwsContext* sws = sws_getContext(ist->codecpar->width, ist->codecpar->height, AV_PIX_FMT_YUV420P, w, h,
                                   AV_PIX_FMT_YUV420P, SWS_BICUBIC, nullptr, nullptr, nullptr);
  AVPacket* pkt = av_packet_alloc();
  AVPacket* opkt = av_packet_alloc();
  AVFrame* frame = av_frame_alloc();
  AVFrame* small = av_frame_alloc();
  small->format = AV_PIX_FMT_YUV420P;
  small->width = w;
  small->height = h;
  REQUIRE(av_frame_get_buffer(small, 0) >= 0);
  auto write_packets = [&] {
    while (avcodec_receive_packet(enc, opkt) >= 0) {
      opkt->stream_index = 0;
      av_packet_rescale_ts(opkt, enc->time_base, ost->time_base);
      REQUIRE(av_interleaved_write_frame(octx, opkt) >= 0);
    }
  };
  auto encode_frames = [&] {
    while (avcodec_receive_frame(dec, frame) >= 0) {
      REQUIRE(av_frame_make_writable(small) >= 0);
      sws_scale(sws, frame->data, frame->linesize, 0, frame->height, small->data, small->linesize);
      small->pts = frame->best_effort_timestamp;
      REQUIRE(avcodec_send_frame(enc, small) >= 0);
      write_packets();
      av_frame_unref(frame);
    }
  };
  while (av_read_frame(ictx, pkt) >= 0) {
    if (pkt->stream_index == vi) {
      REQUIRE(avcodec_send_packet(dec, pkt) >= 0);
      encode_frames();
    }
    av_packet_unref(pkt);
  }
  avcodec_send_packet(dec, nullptr);
  encode_frames();
  avcodec_send_frame(enc, nullptr);
  write_packets();
  REQUIRE(av_write_trailer(octx) >= 0);
  avio_closep(&octx->pb);
  avformat_free_context(octx);
  av_frame_free(&frame);
  av_frame_free(&small);
  av_packet_free(&pkt);
  av_packet_free(&opkt);
  sws_freeContext(sws);
  avcodec_free_context(&enc);
  avcodec_free_context(&dec);
  avformat_close_input(&ictx);
}

// Mean of a decoded plane of the first frame of `file` (plane 0 = luma).
std::vector<double> first_frame_plane_means(const fs::path& file) {
  AVFormatContext* ctx = nullptr;
  REQUIRE(avformat_open_input(&ctx, file.c_str(), nullptr, nullptr) >= 0);
  REQUIRE(avformat_find_stream_info(ctx, nullptr) >= 0);
  const int vi = av_find_best_stream(ctx, AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  const AVCodec* dc = avcodec_find_decoder(ctx->streams[vi]->codecpar->codec_id);
  AVCodecContext* dec = avcodec_alloc_context3(dc);
  avcodec_parameters_to_context(dec, ctx->streams[vi]->codecpar);
  REQUIRE(avcodec_open2(dec, dc, nullptr) >= 0);
  AVPacket* pkt = av_packet_alloc();
  AVFrame* f = av_frame_alloc();
  bool got = false;
  while (!got && av_read_frame(ctx, pkt) >= 0) {
    if (pkt->stream_index == vi) {
      avcodec_send_packet(dec, pkt);
      got = avcodec_receive_frame(dec, f) >= 0;
    }
    av_packet_unref(pkt);
  }
  if (!got) {
    avcodec_send_packet(dec, nullptr);
    got = avcodec_receive_frame(dec, f) >= 0;
  }
  REQUIRE(got);
  std::vector<double> means;
  for (int k = 0; k < 3; ++k) {
    const int w = k ? (f->width + 1) / 2 : f->width, h = k ? (f->height + 1) / 2 : f->height;
    double sum = 0;
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) sum += f->data[k][y * f->linesize[k] + x];
    means.push_back(sum / (static_cast<double>(w) * h));
  }
  // Largest chroma deviation from 128, appended.
  int dev = 0;
  for (int k = 1; k < 3; ++k)
    for (int y = 0; y < (f->height + 1) / 2; ++y)
      for (int x = 0; x < (f->width + 1) / 2; ++x) dev = std::max(dev, std::abs(f->data[k][y * f->linesize[k] + x] - 128));
  means.push_back(dev);
  av_frame_free(&f);
  av_packet_free(&pkt);
  avcodec_free_context(&dec);
  avformat_close_input(&ctx);
  return means;
}

// Restores an environment variable on scope exit.
struct EnvGuard {
  std::string name;
  std::optional<std::string> old;
  explicit EnvGuard(std::string n) : name(std::move(n)) {
    if (const char* v = std::getenv(name.c_str())) old = v;
  }
  ~EnvGuard() {
    if (old)
      ::setenv(name.c_str(), old->c_str(), 1);
    else
      ::unsetenv(name.c_str());
  }
};

}  // namespace

// ======================================================================

TEST_CASE("camera profiles match the cameras", "[footage]") {
  const auto road = nex::road_profile();
  CHECK(road.camera == nex::Camera::Road);
  CHECK((road.width == 1920 && road.height == 1080 && road.fps == 30 && road.gop == 30));
  CHECK(road.video_bitrate == 8'000'000);
  CHECK_FALSE(road.audio);
  CHECK(road.length_ms == 60'000);
  for (bool night : {false, true}) {
    const auto in = nex::interior_profile(night);
    CHECK(in.camera == nex::Camera::Interior);
    CHECK(in.night == night);
    CHECK((in.width == 1280 && in.height == 720 && in.fps == 30 && in.gop == 30));
    CHECK(in.video_bitrate == 3'000'000);
    CHECK(in.audio);
    CHECK(in.audio_bitrate == 64'000);
  }
}

TEST_CASE("cache keys are file-name safe and differ in every field", "[footage]") {
  const nex::StreamProfile base = nex::road_profile();
  std::vector<nex::StreamProfile> variants(10, base);
  variants[0].camera = nex::Camera::Interior;
  variants[1].night = true;
  variants[2].width = 1280;
  variants[3].height = 720;
  variants[4].fps = 25;
  variants[5].gop = 60;
  variants[6].video_bitrate = 6'000'000;
  variants[7].audio = true;
  variants[8].audio_bitrate = 96'000;
  variants[9].length_ms = 30'000;
  std::set<std::string> keys{base.cache_key()};
  for (const auto& v : variants) keys.insert(v.cache_key());
  CHECK(keys.size() == variants.size() + 1);
  CHECK(base.cache_key() == nex::road_profile().cache_key());  // stable
  for (const auto& k : keys) {
    INFO(k);
    CHECK(k.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == std::string::npos);
    CHECK(k.find("-v") != std::string::npos);  // carries a format version
  }
}

TEST_CASE("default_cache_dir follows NEX_CACHE_DIR, then XDG, then HOME", "[footage]") {
  EnvGuard g1("NEX_CACHE_DIR"), g2("XDG_CACHE_HOME"), g3("HOME");
  ::setenv("NEX_CACHE_DIR", "/tmp/nex-a", 1);
  ::setenv("XDG_CACHE_HOME", "/tmp/xdg", 1);
  ::setenv("HOME", "/home/someone", 1);
  CHECK(nex::default_cache_dir() == fs::path("/tmp/nex-a"));
  ::unsetenv("NEX_CACHE_DIR");
  CHECK(nex::default_cache_dir() == fs::path("/tmp/xdg/nex"));
  ::setenv("XDG_CACHE_HOME", "relative/dir", 1);  // invalid per the XDG spec: ignored
  CHECK(nex::default_cache_dir() == fs::path("/home/someone/.cache/nex"));
  ::unsetenv("XDG_CACHE_HOME");
  CHECK(nex::default_cache_dir() == fs::path("/home/someone/.cache/nex"));
}

TEST_CASE("ensure_template encodes once and caches by key", "[footage]") {
  std::vector<double> progress;
  const auto p = short_profile(nex::road_profile());
  const fs::path dir = work().path / "cache-progress";
  const fs::path t = nex::ensure_template(p, dir, [&](double f) { progress.push_back(f); });
  CHECK(t == dir / (p.cache_key() + ".mp4"));
  REQUIRE(fs::is_regular_file(t));
  REQUIRE(progress.size() > 10);
  CHECK(progress.back() == 1.0);
  CHECK(std::is_sorted(progress.begin(), progress.end()));
  // Nothing but the template is left in the cache directory.
  int entries = 0;
  for (const auto& e : fs::directory_iterator(dir)) entries += e.is_regular_file() ? 1 : 100;
  CHECK(entries == 1);

  const auto mtime = fs::last_write_time(t);
  const std::string bytes = slurp(t);
  progress.clear();
  CHECK(nex::ensure_template(p, dir, [&](double f) { progress.push_back(f); }) == t);
  CHECK(fs::last_write_time(t) == mtime);
  CHECK(progress == std::vector<double>{1.0});

  // The encoder is deterministic: the same profile gives the same bytes.
  fs::remove(t);
  CHECK((slurp(nex::ensure_template(p, dir)) == bytes));

  nex::StreamProfile bad = p;
  bad.width = 0;
  CHECK_THROWS_AS(nex::ensure_template(bad, dir), nex::Error);
}

TEST_CASE("the road template is 1080p H.264 at about 8 Mbit/s with IDR every second", "[footage]") {
  const fs::path& t = road_template();
  const auto pr = probe(t);
  REQUIRE(pr);
  CHECK(pr->streams.size() == 1);
  const auto* v = pr->find(AVMEDIA_TYPE_VIDEO);
  REQUIRE(v);
  CHECK(v->codec == "h264");
  CHECK(v->profile == "High");
  CHECK((v->width == 1920 && v->height == 1080));
  CHECK(v->frames == 90);
  CHECK(v->duration == Approx(3.0).margin(0.001));
  CHECK(pr->duration == Approx(3.0).margin(0.001));
  const double mbps = static_cast<double>(fs::file_size(t)) * 8 / 3.0 / 1e6;
  CHECK(mbps == Approx(8.0).epsilon(0.25));
  // moov after mdat, as a camera writes it (cut_power relies on it).
  const auto boxes = top_level_boxes(slurp(t));
  std::vector<std::string> order;
  for (const auto& b : boxes)
    if (b.type == "mdat" || b.type == "moov") order.push_back(b.type);
  CHECK(order == std::vector<std::string>{"mdat", "moov"});
}

TEST_CASE("segments are deterministic remuxes with the segment's metadata", "[footage]") {
  const fs::path& t = road_template();
  const fs::path a = work().path / "seg_a.mp4", b = work().path / "seg_b.mp4";
  const auto meta = sample_meta();
  const uint64_t na = nex::write_segment(t, a, 0, meta);
  const uint64_t nb = nex::write_segment(t, b, 0, meta);
  CHECK(na == fs::file_size(a));
  CHECK(na == nb);
  CHECK((slurp(a) == slurp(b)));  // (bool only: no binary dump on failure)

  const auto pr = probe(a);
  REQUIRE(pr);
  CHECK(pr->duration == Approx(3.0).margin(0.001));
  CHECK(pr->tag("creation_time").rfind("2026-11-20T07:12:00", 0) == 0);  // UTC = local - 1 h
  CHECK(pr->tag("location") == "+52.5200+013.4050/");
  CHECK(pr->tag("make") == "Nexar");
  CHECK(pr->tag("model") == "Nexar Pro");
  const auto* v = pr->find(AVMEDIA_TYPE_VIDEO);
  REQUIRE(v);
  CHECK((v->codec == "h264" && v->width == 1920 && v->height == 1080 && v->frames == 90));

  // Other metadata, other bytes; no GPS fix, no location.
  auto meta2 = meta;
  meta2.start = meta.start + 60'000;
  meta2.lat.reset();
  meta2.lon.reset();
  const fs::path c = work().path / "seg_c.mp4";
  nex::write_segment(t, c, 0, meta2);
  CHECK((slurp(c) != slurp(a)));
  const auto pc = probe(c);
  REQUIRE(pc);
  CHECK(pc->tag("creation_time").rfind("2026-11-20T07:13:00", 0) == 0);
  CHECK(pc->tags.count("location") == 0);

  // A shorter segment is a prefix of the template.
  const fs::path d = work().path / "seg_d.mp4";
  nex::write_segment(t, d, 2000, meta);
  const auto pd = probe(d);
  REQUIRE(pd);
  CHECK(pd->duration == Approx(2.0).margin(0.001));
  CHECK(pd->find(AVMEDIA_TYPE_VIDEO)->frames == 60);

  CHECK_THROWS_AS(nex::write_segment(work().path / "no-such-template.mp4", d, 0, meta), nex::IoError);
  CHECK_THROWS_AS(nex::write_segment(t, work().path / "no-such-dir" / "x.mp4", 0, meta), nex::IoError);
}

TEST_CASE("read_frame_stamps sees every frame with its timecode", "[footage]") {
  const fs::path seg = work().path / "stamps.mp4";
  nex::write_segment(road_template(), seg, 0, sample_meta());
  const auto stamps = nex::read_frame_stamps(seg);
  REQUIRE(stamps.size() == 90);
  for (size_t i = 0; i < stamps.size(); ++i) {
    INFO("frame " << i);
    const int64_t expect = static_cast<int64_t>(i) * 1000 / 30;  // 0, 33, 66, 100, ...
    CHECK(stamps[i].pts_ms == expect);
    REQUIRE(stamps[i].timecode_ms.has_value());
    CHECK(*stamps[i].timecode_ms == expect);
    CHECK(stamps[i].key == (i % 30 == 0));
  }

  // 720p with audio, cut to 1.5 s.
  const fs::path in = work().path / "stamps_interior.mp4";
  nex::write_segment(interior_template(false), in, 1500, sample_meta());
  const auto s2 = nex::read_frame_stamps(in);
  REQUIRE(s2.size() == 45);
  for (size_t i = 0; i < s2.size(); ++i) {
    CHECK(s2[i].pts_ms == static_cast<int64_t>(i) * 1000 / 30);
    CHECK(s2[i].timecode_ms == std::optional<uint32_t>(static_cast<uint32_t>(i * 1000 / 30)));
  }
}

TEST_CASE("timecodes survive a re-encode to 320x180 at 250 kbit/s", "[footage]") {
  const fs::path small = work().path / "small.mkv";
  transcode(road_template(), small, 320, 180);
  const auto stamps = nex::read_frame_stamps(small);
  REQUIRE(stamps.size() == 90);
  int read_ok = 0;
  for (size_t i = 0; i < stamps.size(); ++i) {
    const int64_t expect = static_cast<int64_t>(i) * 1000 / 30;
    INFO("frame " << i << " pts " << stamps[i].pts_ms);
    CHECK(std::abs(stamps[i].pts_ms - expect) <= 1);  // Matroska keeps milliseconds, rounded
    if (stamps[i].timecode_ms) {
      CHECK(*stamps[i].timecode_ms == expect);
      ++read_ok;
    }
  }
  CHECK(read_ok == 90);
}

TEST_CASE("the interior template carries AAC audio as long as its video", "[footage]") {
  for (bool night : {false, true}) {
    INFO((night ? "night" : "day"));
    const fs::path& t = interior_template(night);
    const auto pr = probe(t);
    REQUIRE(pr);
    const auto* v = pr->find(AVMEDIA_TYPE_VIDEO);
    const auto* a = pr->find(AVMEDIA_TYPE_AUDIO);
    REQUIRE(v);
    REQUIRE(a);
    CHECK((v->codec == "h264" && v->width == 1280 && v->height == 720 && v->frames == 90));
    CHECK(a->codec == "aac");
    CHECK(a->profile == "LC");
    CHECK(a->sample_rate == 48000);
    CHECK(a->channels == 1);
    CHECK(std::abs(a->duration - v->duration) <= 1024.0 / 48000);
    const double mbps = static_cast<double>(fs::file_size(t)) * 8 / 3.0 / 1e6;
    CHECK(mbps == Approx(3.064).epsilon(0.25));

    // A cut segment keeps audio and video together too.
    const fs::path seg = work().path / (night ? "int_night_cut.mp4" : "int_day_cut.mp4");
    nex::write_segment(t, seg, 2000, sample_meta());
    const auto ps = probe(seg);
    REQUIRE(ps);
    const auto* sv = ps->find(AVMEDIA_TYPE_VIDEO);
    const auto* sa = ps->find(AVMEDIA_TYPE_AUDIO);
    REQUIRE(sv);
    REQUIRE(sa);
    CHECK(sv->duration == Approx(2.0).margin(0.001));
    CHECK(std::abs(sa->duration - sv->duration) <= 1024.0 / 48000);
  }
}

TEST_CASE("the night interior is dim greyscale, the day interior is in colour", "[footage]") {
  const auto day = first_frame_plane_means(interior_template(false));
  const auto night = first_frame_plane_means(interior_template(true));
  CHECK(night[3] <= 2);   // chroma stays at 128 (IR camera)
  CHECK(day[3] > 10);     // a colour picture
  CHECK(night[0] < 70);   // dim
  CHECK(night[0] < day[0]);
}

TEST_CASE("cut_power leaves an unfinished file FFmpeg cannot open", "[footage]") {
  const fs::path f = work().path / "cut.mp4";
  nex::write_segment(interior_template(false), f, 0, sample_meta());
  const std::string before = slurp(f);
  const auto boxes = top_level_boxes(before);
  const Box* mdat = nullptr;
  for (const auto& b : boxes)
    if (b.type == "mdat") mdat = &b;
  REQUIRE(mdat);
  const uint64_t payload = mdat->size - mdat->header;
  const uint64_t payload_start = mdat->offset + mdat->header;

  nex::cut_power(f, 0.4);
  const std::string after = slurp(f);
  const uint64_t expect = payload_start + static_cast<uint64_t>(0.4 * static_cast<double>(payload));
  CHECK(after.size() == expect);
  CHECK(after.size() > payload_start + payload * 39 / 100);
  CHECK(after.size() < payload_start + payload * 41 / 100);
  for (const auto& b : top_level_boxes(after)) CHECK(b.type != "moov");
  // Everything before the cut is untouched but the mdat size, now 0.
  CHECK((after.compare(0, mdat->offset, before, 0, mdat->offset) == 0));
  CHECK(after.substr(mdat->offset, 8) == std::string("\0\0\0\0mdat", 8));
  CHECK(after.compare(payload_start, after.size() - payload_start, before, payload_start,
                      after.size() - payload_start) == 0);

  int err = 0;
  CHECK_FALSE(probe(f, &err).has_value());
  CHECK(err == AVERROR_INVALIDDATA);  // "moov atom not found"
  CHECK_THROWS_AS(nex::read_frame_stamps(f), nex::InputError);

  // Cutting again (mdat size already 0) works on what is left.
  nex::cut_power(f, 0.5);
  CHECK(fs::file_size(f) == payload_start + (after.size() - payload_start) / 2);

  const fs::path txt = work().path / "not-mp4.txt";
  std::ofstream(txt) << "hello, this is not a video file at all\n";
  CHECK_THROWS_AS(nex::cut_power(txt, 0.5), nex::IoError);
  CHECK_THROWS_AS(nex::cut_power(work().path / "missing.mp4", 0.5), nex::IoError);
  CHECK_THROWS_AS(nex::read_frame_stamps(work().path / "missing.mp4"), nex::IoError);
  CHECK_THROWS_AS(nex::read_frame_stamps(txt), nex::InputError);
}

namespace {

std::string exif_string(ExifData* ed, ExifIfd ifd, ExifTag tag) {
  ExifEntry* e = exif_content_get_entry(ed->ifd[ifd], tag);
  if (!e || e->format != EXIF_FORMAT_ASCII || !e->data || e->size == 0) return {};
  return std::string(reinterpret_cast<const char*>(e->data), strnlen(reinterpret_cast<const char*>(e->data), e->size));
}

std::vector<double> exif_rationals(ExifData* ed, ExifIfd ifd, ExifTag tag) {
  std::vector<double> out;
  ExifEntry* e = exif_content_get_entry(ed->ifd[ifd], tag);
  if (!e || e->format != EXIF_FORMAT_RATIONAL) return out;
  const ExifByteOrder o = exif_data_get_byte_order(ed);
  for (unsigned long i = 0; i < e->components; ++i) {
    const ExifRational r = exif_get_rational(e->data + 8 * i, o);
    out.push_back(r.denominator ? static_cast<double>(r.numerator) / r.denominator : -1);
  }
  return out;
}

double dms(const std::vector<double>& v) { return v.size() == 3 ? v[0] + v[1] / 60 + v[2] / 3600 : -1; }

// Decodes a JPEG with FFmpeg's mjpeg decoder; returns width x height.
std::pair<int, int> decode_jpeg(const std::string& jpeg) {
  const AVCodec* dc = avcodec_find_decoder(AV_CODEC_ID_MJPEG);
  AVCodecContext* dec = avcodec_alloc_context3(dc);
  REQUIRE(avcodec_open2(dec, dc, nullptr) >= 0);
  AVPacket* pkt = av_packet_alloc();
  REQUIRE(av_new_packet(pkt, static_cast<int>(jpeg.size())) >= 0);
  std::memcpy(pkt->data, jpeg.data(), jpeg.size());
  AVFrame* f = av_frame_alloc();
  REQUIRE(avcodec_send_packet(dec, pkt) >= 0);
  REQUIRE(avcodec_receive_frame(dec, f) >= 0);
  std::pair<int, int> size{f->width, f->height};
  av_frame_free(&f);
  av_packet_free(&pkt);
  avcodec_free_context(&dec);
  return size;
}

}  // namespace

TEST_CASE("thumbnails are JPEGs with Exif time, camera and GPS", "[footage]") {
  nex::ThumbnailMeta m;
  m.time = nex::from_civil({2026, 11, 20, 8, 12, 30, 0});
  m.lat = 52.52;
  m.lon = -13.405;  // west, to check the reference letter
  m.make = "Nexar";
  m.model = "Nexar Beam";
  const std::string jpeg = nex::make_thumbnail_jpeg(m);
  REQUIRE(jpeg.size() > 1000);
  CHECK(jpeg.compare(0, 4, "\xFF\xD8\xFF\xE1") == 0);  // Exif APP1 right after SOI
  CHECK(jpeg.compare(6, 6, std::string("Exif\0\0", 6)) == 0);
  CHECK(jpeg.compare(jpeg.size() - 2, 2, "\xFF\xD9") == 0);
  CHECK((nex::make_thumbnail_jpeg(m) == jpeg));  // deterministic
  CHECK(decode_jpeg(jpeg) == std::pair{320, 180});

  ExifData* ed = exif_data_new_from_data(reinterpret_cast<const unsigned char*>(jpeg.data()),
                                         static_cast<unsigned int>(jpeg.size()));
  REQUIRE(ed);
  CHECK(exif_string(ed, EXIF_IFD_EXIF, EXIF_TAG_DATE_TIME_ORIGINAL) == "2026:11:20 08:12:30");
  CHECK(exif_string(ed, EXIF_IFD_0, EXIF_TAG_MAKE) == "Nexar");
  CHECK(exif_string(ed, EXIF_IFD_0, EXIF_TAG_MODEL) == "Nexar Beam");
  CHECK(exif_string(ed, EXIF_IFD_GPS, static_cast<ExifTag>(EXIF_TAG_GPS_LATITUDE_REF)) == "N");
  CHECK(exif_string(ed, EXIF_IFD_GPS, static_cast<ExifTag>(EXIF_TAG_GPS_LONGITUDE_REF)) == "W");
  CHECK(dms(exif_rationals(ed, EXIF_IFD_GPS, static_cast<ExifTag>(EXIF_TAG_GPS_LATITUDE))) == Approx(52.52).margin(1e-6));
  CHECK(dms(exif_rationals(ed, EXIF_IFD_GPS, static_cast<ExifTag>(EXIF_TAG_GPS_LONGITUDE))) == Approx(13.405).margin(1e-6));
  exif_data_unref(ed);

  // Without a fix: no GPS tags. Night: a different (grey) picture.
  nex::ThumbnailMeta nofix = m;
  nofix.lat.reset();
  nofix.lon.reset();
  const std::string j2 = nex::make_thumbnail_jpeg(nofix, /*night=*/true);
  CHECK((j2 != jpeg));
  CHECK(decode_jpeg(j2) == std::pair{320, 180});
  ExifData* ed2 = exif_data_new_from_data(reinterpret_cast<const unsigned char*>(j2.data()),
                                          static_cast<unsigned int>(j2.size()));
  REQUIRE(ed2);
  CHECK(exif_content_get_entry(ed2->ifd[EXIF_IFD_GPS], static_cast<ExifTag>(EXIF_TAG_GPS_LATITUDE)) == nullptr);
  CHECK(exif_string(ed2, EXIF_IFD_EXIF, EXIF_TAG_DATE_TIME_ORIGINAL) == "2026:11:20 08:12:30");
  exif_data_unref(ed2);
}

// Other cameras' formats (nexsim init --codec/--fps/--bframes/--gop/--container):
// small 2 s templates at 640x360 so x265 stays quick.
TEST_CASE("other cameras' formats: HEVC, B-frames, 29.97 fps, MOV with PCM", "[footage]") {
  // The default profiles keep their cache keys, so existing caches stay valid.
  CHECK(nex::road_profile().cache_key() == "nexfoot-v1-road-day-1920x1080-30fps-gop30-v8000000-noaudio-a64000-60000ms");
  CHECK(nex::with_format(nex::road_profile(), {}).cache_key() == nex::road_profile().cache_key());
  nex::RecordingFormat same;
  same.codec = nex::VideoCodec::H264;
  same.fps = nex::FrameRate{30, 1};
  same.bframes = 0;
  same.gop_ms = 1000;
  same.container = nex::Container::Mp4;
  CHECK(nex::with_format(nex::interior_profile(true), same).cache_key() == nex::interior_profile(true).cache_key());

  nex::RecordingFormat f;
  f.codec = nex::VideoCodec::Hevc;
  f.fps = nex::FrameRate{30000, 1001};
  f.bframes = 2;
  f.gop_ms = 500;
  f.container = nex::Container::Mov;
  nex::StreamProfile p = nex::with_format(nex::interior_profile(false), f);
  CHECK(p.gop == 15);
  p.width = 640;
  p.height = 360;
  p.video_bitrate = 1'000'000;
  p.length_ms = 2000;
  CHECK(p.frame_count() == 60);  // k * 1001/30000 < 2 s for k < 60
  CHECK(p.frame_ms(59) == 1968);
  CHECK(p.template_name().size() > 4);
  CHECK(p.template_name().substr(p.template_name().size() - 4) == ".mov");
  const fs::path dir = work().path / "cache-formats";
  const fs::path t = nex::ensure_template(p, dir);
  const std::string bytes = slurp(t);
  fs::remove(t);
  CHECK((slurp(nex::ensure_template(p, dir)) == bytes));  // x265 too is deterministic

  const auto pr = probe(t);
  REQUIRE(pr.has_value());
  CHECK(pr->tags.at("major_brand") == "qt  ");
  std::set<std::string> codecs;
  for (const auto& s : pr->streams) codecs.insert(s.codec);
  CHECK(codecs == std::set<std::string>{"hevc", "pcm_s16le"});

  // Every frame carries its offset (k * 1001/30 ms, rounded down) in pixels,
  // in presentation order, with an IDR every 15 frames.
  const fs::path seg = work().path / "formats.MOV";
  nex::write_segment(t, seg, 0, sample_meta());
  const auto st = nex::read_frame_stamps(seg);
  REQUIRE(st.size() == 60);
  for (size_t i = 0; i < st.size(); ++i) {
    INFO("frame " << i);
    CHECK(st[i].pts_ms == p.frame_ms(static_cast<int64_t>(i)));
    CHECK(st[i].timecode_ms == std::optional<uint32_t>(static_cast<uint32_t>(p.frame_ms(static_cast<int64_t>(i)))));
    CHECK(st[i].key == (i % 15 == 0));
  }
  CHECK(probe(seg)->tags.at("major_brand") == "qt  ");

  // A shorter segment stays decodable: it ends before the first anchor that
  // lies past its end, losing at most the B-frames before it.
  const fs::path part = work().path / "formats-part.MOV";
  nex::write_segment(t, part, 1000, sample_meta());
  const auto sp = nex::read_frame_stamps(part);
  CHECK(sp.size() <= 30);
  CHECK(sp.size() >= 28);
  for (size_t i = 0; i < sp.size(); ++i)
    CHECK(sp[i].timecode_ms == std::optional<uint32_t>(static_cast<uint32_t>(p.frame_ms(static_cast<int64_t>(i)))));

  // A power cut leaves a MOV without its index.
  nex::cut_power(part, 0.5);
  CHECK_FALSE(probe(part).has_value());
}
