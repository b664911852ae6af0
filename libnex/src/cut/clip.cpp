// make_clip / make_composite: copy, smart cut, re-encode, timelapse.
//
// Smart cut (Mode::Exact). The footage has no B-frames (checked: a stream
// with reordering is re-encoded instead), so a clip's end never needs
// re-encoding: a GOP's prefix decodes on its own. Only the partial GOP at the
// start is re-encoded, from the first wanted frame to the frame before the
// next keyframe. The head is encoded with libx264 set up like the camera's
// encoder: same profile, level, colour description, GOP structure and rate
// control, and, for x264-made footage, every coding option from the options
// string x264 leaves in its first frame's SEI. Its SPS/PPS are compared with
// the source's avcC byte for byte:
//   identical -> one avc1 sample entry describes both parts (nexsim footage);
//   different -> the head gets its own parameter-set id (x264 sps-id) and the
//                avcC carries both SPS and both PPS; each slice names its PPS,
//                so one sample entry still describes every sample.
// Either way no parameter set is sent in-band.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <future>
#include <set>

extern "C" {
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
}

#include "cut/h264.hpp"
#include "cut/internal.hpp"
#include "nex/error.hpp"

namespace nex::cut {

using namespace detail;

const char* to_string(Mode m) {
  switch (m) {
    case Mode::Copy: return "copy";
    case Mode::Exact: return "exact";
    case Mode::Reencode: return "reencode";
    case Mode::Timelapse: return "timelapse";
  }
  return "";
}

std::optional<Mode> parse_mode(std::string_view s) {
  for (Mode m : {Mode::Copy, Mode::Exact, Mode::Reencode, Mode::Timelapse})
    if (s == to_string(m)) return m;
  return std::nullopt;
}

const char* to_string(Layout l) {
  switch (l) {
    case Layout::None: return "none";
    case Layout::Pip: return "pip";
    case Layout::Side: return "side";
    case Layout::Stack: return "stack";
  }
  return "";
}

std::optional<Layout> parse_layout(std::string_view s) {
  for (Layout l : {Layout::None, Layout::Pip, Layout::Side, Layout::Stack})
    if (s == to_string(l)) return l;
  return std::nullopt;
}

ojson ClipResult::to_json() const {
  ojson j;
  j["file"] = file.string();
  j["camera"] = camera;
  j["mode"] = to_string(mode);
  j["start"] = format_iso(start, true);
  j["end"] = format_iso(end, true);
  j["duration_s"] = static_cast<double>(end - start) / 1000.0;
  j["frames"] = frames;
  j["reencoded_frames"] = reencoded_frames;
  j["audio"] = audio;
  j["bytes"] = bytes;
  j["requested_from"] = format_iso(requested_from, true);
  j["requested_to"] = format_iso(requested_to, true);
  ojson s = ojson::array();
  for (const auto& p : sidecars) s.push_back(p.string());
  j["sidecars"] = s;
  return j;
}

namespace {

namespace h = h264;

// Frames in yuv420p for the encoders (converted when a decoder gives another format).
class Yuv420 {
 public:
  AVFrame* operator()(AVFrame* f) {
    if (f->format == AV_PIX_FMT_YUV420P || f->format == AV_PIX_FMT_YUVJ420P) return f;
    sws_.reset(sws_getCachedContext(sws_.release(), f->width, f->height, static_cast<AVPixelFormat>(f->format),
                                    f->width, f->height, AV_PIX_FMT_YUV420P, SWS_BICUBIC, nullptr, nullptr, nullptr));
    if (!sws_) throw InputError("cannot convert the video's pixel format");
    if (!buf_ || buf_->width != f->width || buf_->height != f->height) {
      buf_.reset(av_frame_alloc());
      if (!buf_) throw IoError("out of memory");
      buf_->format = AV_PIX_FMT_YUV420P;
      buf_->width = f->width;
      buf_->height = f->height;
      media::check_av_io(av_frame_get_buffer(buf_.get(), 0), "frame buffer");
    }
    media::check_av_io(av_frame_make_writable(buf_.get()), "frame buffer");
    sws_scale(sws_.get(), f->data, f->linesize, 0, f->height, buf_->data, buf_->linesize);
    av_frame_copy_props(buf_.get(), f);
    return buf_.get();
  }

 private:
  media::SwsPtr sws_;
  media::FramePtr buf_;
};

std::string profile_name(int profile) {
  switch (profile) {
    case FF_PROFILE_H264_BASELINE:
    case FF_PROFILE_H264_CONSTRAINED_BASELINE: return "baseline";
    case FF_PROFILE_H264_MAIN: return "main";
    case FF_PROFILE_H264_HIGH: return "high";
    case FF_PROFILE_H264_HIGH_10: return "high10";
    case FF_PROFILE_H264_HIGH_422: return "high422";
    case FF_PROFILE_H264_HIGH_444_PREDICTIVE: return "high444";
    default: return "high";
  }
}

EncoderSetup setup_from(const Input& in) {
  const AVCodecParameters* par = in.vst()->codecpar;
  EncoderSetup s;
  s.width = par->width;
  s.height = par->height;
  s.fps = in.fps;
  s.sar = par->sample_aspect_ratio.num > 0 ? par->sample_aspect_ratio : AVRational{0, 1};
  s.range = par->color_range;
  s.space = par->color_space;
  s.primaries = par->color_primaries;
  s.trc = par->color_trc;
  // GOP length from the index (distance between the first two keyframes).
  size_t k0 = SIZE_MAX;
  for (size_t i = 0; i < in.frames.size(); ++i)
    if (in.frames[i].key) {
      if (k0 == SIZE_MAX) k0 = i;
      else {
        s.gop = static_cast<int>(i - k0);
        break;
      }
    }
  return s;
}

struct Head {
  std::vector<media::PacketPtr> packets;
  CodecParPtr par;          // the output's video parameters (extradata may hold two parameter sets)
  int64_t frames = 0;
  bool merged = false;
};

// The x264 options string from the first frame of a file, if any.
std::map<std::string, std::string> source_x264_options(Input& in, int length_size) {
  media::PacketPtr pkt(av_packet_alloc());
  if (!pkt) throw IoError("out of memory");
  media::check_av(av_seek_frame(in.fmt.get(), in.v, in.frames.front().ts, AVSEEK_FLAG_BACKWARD),
                  in.file.string() + ": seek");
  for (;;) {
    const int ret = av_read_frame(in.fmt.get(), pkt.get());
    if (ret < 0) return {};
    if (pkt->stream_index == in.v) break;
    av_packet_unref(pkt.get());
  }
  auto opts = h::x264_options({pkt->data, static_cast<size_t>(pkt->size)}, length_size);
  av_packet_unref(pkt.get());
  return opts;
}

void parameter_sets(const AVCodecContext* enc, std::vector<h::Bytes>* sps, std::vector<h::Bytes>* pps) {
  for (auto n : h::split_annexb({enc->extradata, static_cast<size_t>(enc->extradata_size)})) {
    if (h::nal_type(n) == 7) sps->emplace_back(n.begin(), n.end());
    if (h::nal_type(n) == 8) pps->emplace_back(n.begin(), n.end());
  }
}

// Re-encodes frames [p.first, end) of the first piece to match the source.
Head encode_head(Piece& p, size_t end, const Context& ctx) {
  Input& in = *p.in;
  const AVCodecParameters* par = in.vst()->codecpar;
  if (par->codec_id != AV_CODEC_ID_H264)
    throw InputError("smart cut needs H.264 footage (this is " + std::string(avcodec_get_name(par->codec_id)) + ")");
  auto src = h::parse_avcc({par->extradata, static_cast<size_t>(par->extradata_size)});
  if (!src || src->sps.empty() || src->pps.empty()) throw InputError(in.file.string() + ": no usable avcC record");

  const auto x264 = source_x264_options(in, src->length_size);
  EncoderSetup s = setup_from(in);
  s.time_base = av_inv_q(in.fps);
  s.profile = profile_name(par->profile);
  if (par->level > 0) s.level = std::to_string(par->level);
  s.threads = 1;  // x264 frame threads make rate control depend on timing: clips would differ run to run
  if (!x264.empty()) {
    // The camera's own x264 settings: a preset only fills what the string lacks.
    s.preset = "ultrafast";
    s.params = h::x264_params_from(x264);
    if (auto it = x264.find("keyint"); it != x264.end() && std::atoi(it->second.c_str()) > 0)
      s.gop = std::atoi(it->second.c_str());
    auto rc = x264.find("rc");
    auto br = x264.find("bitrate");
    if (rc != x264.end() && rc->second == "abr" && br != x264.end()) s.bitrate = std::atoll(br->second.c_str()) * 1000;
  } else {
    s.preset = "veryfast";
  }
  if (s.bitrate <= 0) s.bitrate = par->bit_rate > 0 ? par->bit_rate : 0;
  if (s.bitrate <= 0) s.crf = 18;

  // The first frame tells what the container may not: the SPS's sample
  // aspect ratio and colour description, as the decoder read them.
  FrameReader reader({{&p, p.first, end - 1}}, false, ctx);
  int64_t ts = 0;
  size_t idx = 0;
  AVFrame* first = reader.next(&ts, &idx);
  if (!first) throw InputError(in.file.string() + ": cannot decode the clip's first frame");
  if (first->sample_aspect_ratio.num > 0) s.sar = first->sample_aspect_ratio;
  if (first->color_range != AVCOL_RANGE_UNSPECIFIED) s.range = first->color_range;
  if (first->colorspace != AVCOL_SPC_UNSPECIFIED) s.space = first->colorspace;
  if (first->color_primaries != AVCOL_PRI_UNSPECIFIED) s.primaries = first->color_primaries;
  if (first->color_trc != AVCOL_TRC_UNSPECIFIED) s.trc = first->color_trc;

  Head head;
  media::CodecContextPtr enc = open_x264(s);
  std::vector<h::Bytes> esps, epps;
  parameter_sets(enc.get(), &esps, &epps);
  h::Bytes extradata(par->extradata, par->extradata + par->extradata_size);
  auto hex = [](const std::vector<h::Bytes>& v) {
    std::string o;
    static const char* d = "0123456789abcdef";
    for (const auto& b : v) {
      for (uint8_t c : b) o += d[c >> 4], o += d[c & 15];
      o += ' ';
    }
    return o;
  };
  ctx.log->debug("head encoder: preset {} x264-params {}", s.preset, s.params);
  ctx.log->debug("camera SPS/PPS {}{}; head SPS/PPS {}{}", hex(src->sps), hex(src->pps), hex(esps), hex(epps));
  // NEX_CUT_DISTINCT_PARAMETER_SETS=1 forces the two-parameter-set layout
  // (used by the tests to check it with other players).
  const char* force = std::getenv("NEX_CUT_DISTINCT_PARAMETER_SETS");
  if (esps != src->sps || epps != src->pps || (force && *force == '1')) {
    // Different headers: give the head its own parameter-set id and carry both.
    std::set<unsigned> used;
    for (const auto& x : src->sps)
      if (auto id = h::sps_id(x)) used.insert(*id);
    for (const auto& x : src->pps)
      if (auto ids = h::pps_ids(x)) used.insert(ids->first);
    unsigned id = 1;
    while (used.count(id) && id < 31) ++id;
    s.params += (s.params.empty() ? "" : ":") + std::string("sps-id=") + std::to_string(id);
    enc = open_x264(s);
    esps.clear(), epps.clear();
    parameter_sets(enc.get(), &esps, &epps);
    if (esps.size() != 1 || epps.size() != 1 || h::sps_id(esps[0]) != id)
      throw IoError("libx264 did not take the parameter-set id " + std::to_string(id));
    h::AvcC m = *src;
    m.sps.push_back(esps[0]);
    m.pps.push_back(epps[0]);
    if (esps[0].size() > 3) {
      m.compat &= esps[0][2];
      m.level = std::max(m.level, esps[0][3]);
    }
    extradata = h::build_avcc(m);
    head.merged = true;
    ctx.log->info("the re-encoded head has its own SPS/PPS (id {}); the avcC record carries both", id);
  } else {
    ctx.log->debug("the re-encoded head's SPS/PPS are identical to the camera's");
  }
  head.par.reset(avcodec_parameters_alloc());
  if (!head.par) throw IoError("out of memory");
  media::check_av_io(avcodec_parameters_copy(head.par.get(), par), "codec parameters");
  av_freep(&head.par->extradata);
  head.par->extradata = static_cast<uint8_t*>(av_mallocz(extradata.size() + AV_INPUT_BUFFER_PADDING_SIZE));
  if (!head.par->extradata) throw IoError("out of memory");
  std::memcpy(head.par->extradata, extradata.data(), extradata.size());
  head.par->extradata_size = static_cast<int>(extradata.size());

  std::vector<int64_t> out_ts, out_dur;
  auto sink = [&](AVPacket* pkt) {
    const auto nals = h::split_annexb({pkt->data, static_cast<size_t>(pkt->size)});
    const h::Bytes sample = h::to_lengths(nals, src->length_size, {7, 8, 9});
    media::PacketPtr o(av_packet_alloc());
    if (!o) throw IoError("out of memory");
    media::check_av_io(av_new_packet(o.get(), static_cast<int>(sample.size())), "packet");
    std::memcpy(o->data, sample.data(), sample.size());
    const auto k = static_cast<size_t>(pkt->pts);
    if (pkt->pts < 0 || k >= out_ts.size()) throw IoError("x264 returned an unexpected timestamp");
    o->pts = o->dts = out_ts[k];
    o->duration = out_dur[k];
    o->flags = pkt->flags & AV_PKT_FLAG_KEY;
    head.packets.push_back(std::move(o));
  };
  Yuv420 yuv;
  for (AVFrame* f = first; f; f = reader.next(&ts, &idx)) {
    AVFrame* g = yuv(f);
    g->pict_type = out_ts.empty() ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
    g->pts = static_cast<int64_t>(out_ts.size());
    out_ts.push_back(ts);
    out_dur.push_back(in.end_ts(idx) - in.frames[idx].ts);
    encode(enc.get(), g, sink);
  }
  encode(enc.get(), nullptr, sink);
  head.frames = static_cast<int64_t>(out_ts.size());
  if (head.frames != static_cast<int64_t>(end - p.first) || head.packets.size() != out_ts.size())
    throw InputError(in.file.string() + ": decoded " + std::to_string(head.frames) + " of " +
                     std::to_string(end - p.first) + " frames at the clip's start");
  return head;
}

EncoderSetup user_setup(const ClipOptions& o, int w, int h, AVRational tb, AVRational fps) {
  EncoderSetup s;
  s.width = w;
  s.height = h;
  s.time_base = tb;
  s.fps = fps;
  s.preset = o.encode.preset;
  s.crf = o.encode.crf;
  s.bitrate = o.encode.bitrate;
  s.gop = std::max(1, fps.den > 0 ? fps.num / fps.den : 30) * 2;
  s.range = AVCOL_RANGE_MPEG;
  s.space = AVCOL_SPC_BT709;
  s.primaries = AVCOL_PRI_BT709;
  s.trc = AVCOL_TRC_BT709;
  return s;
}

CodecParPtr par_of(const AVCodecContext* enc) {
  CodecParPtr p(avcodec_parameters_alloc());
  if (!p) throw IoError("out of memory");
  media::check_av_io(avcodec_parameters_from_context(p.get(), enc), "codec parameters");
  return p;
}

std::future<EncodedAudio> start_audio(const Plan& plan, const ClipOptions& o, const Context& ctx) {
  if (!o.audio || plan.pieces.front().in->a < 0) return {};
  auto spans = audio_spans(plan);
  return std::async(std::launch::async, [spans = std::move(spans), &ctx] { return build_audio(spans, ctx); });
}

ClipResult result_for(const Plan& plan, const fs::path& out, Mode mode, LocalTime from, LocalTime to) {
  ClipResult r;
  r.file = out;
  r.camera = to_string(plan.camera);
  r.mode = mode;
  r.requested_from = from;
  r.requested_to = to;
  r.start = plan.start();
  r.end = plan.end();
  r.frames = plan.frames();
  return r;
}

ClipResult timelapse(const CardScan& scan, LocalTime from, LocalTime to, Camera camera, const fs::path& out,
                     const Context& ctx, const ClipOptions& o) {
  if (o.timelapse < 2) throw UsageError("timelapse factor must be at least 2");
  Plan plan = plan_clip(scan, from, to, camera, /*snap=*/true, ctx);
  // Kept: every Nth frame counted from the (keyframe) start. When all of them
  // are keyframes only keyframes are decoded.
  bool keys = true;
  int64_t g = 0, kept = 0;
  for (auto& p : plan.pieces)
    for (size_t i = p.first; i <= p.last; ++i, ++g)
      if (g % o.timelapse == 0) {
        ++kept;
        keys = keys && p.in->frames[i].key;
      }
  ctx.log->info("timelapse {}x: {} of {} frames{}", o.timelapse, kept, plan.frames(),
                keys ? ", decoding keyframes only" : "");
  const Input& in0 = *plan.pieces.front().in;
  const AVRational tb = av_inv_q(in0.fps);
  EncoderSetup s = user_setup(o, in0.vst()->codecpar->width, in0.vst()->codecpar->height, tb, in0.fps);
  media::CodecContextPtr enc = open_x264(s);
  Muxer mux(out, o.overwrite);
  CodecParPtr par = par_of(enc.get());
  mux.add_stream(par.get(), tb, in0.fps);
  MuxMeta meta = meta_for(scan, plan, std::to_string(o.timelapse) + "x timelapse");
  mux.start(meta, kept);
  auto sink = [&](AVPacket* p) { mux.write(p, 0); };
  std::vector<Range> ranges = whole(plan);
  FrameReader reader(ranges, keys, ctx);
  Yuv420 yuv;
  int64_t ts = 0, n = 0;
  size_t idx = 0;
  // Global index of each piece's first frame, to tell which frames are kept.
  std::vector<int64_t> base;
  int64_t acc = 0;
  for (auto& p : plan.pieces) base.push_back(acc), acc += static_cast<int64_t>(p.last - p.first + 1);
  Progress bar(ctx, "timelapse", static_cast<uint64_t>(kept));
  while (AVFrame* f = reader.next(&ts, &idx)) {
    size_t pi = 0;
    while (pi + 1 < plan.pieces.size() && ts >= plan.pieces[pi + 1].out_offset) ++pi;
    const int64_t gi = base[pi] + static_cast<int64_t>(idx - plan.pieces[pi].first);
    if (gi % o.timelapse != 0) continue;
    AVFrame* y = yuv(f);
    y->pts = n++;
    y->pict_type = AV_PICTURE_TYPE_NONE;
    encode(enc.get(), y, sink);
    bar.update(static_cast<uint64_t>(n));
  }
  encode(enc.get(), nullptr, sink);
  bar.finish();
  ClipResult r = result_for(plan, out, Mode::Timelapse, from, to);
  r.frames = n;
  r.reencoded_frames = n;
  r.bytes = mux.finish();
  return r;
}

}  // namespace

ClipResult make_clip(const CardScan& scan, LocalTime from, LocalTime to, Camera camera, Mode mode, const fs::path& out,
                     const Context& ctx, const ClipOptions& o) {
  check_output(out, o.overwrite);
  if (mode == Mode::Timelapse) return timelapse(scan, from, to, camera, out, ctx, o);
  Plan plan = plan_clip(scan, from, to, camera, mode == Mode::Copy, ctx);
  if (mode != Mode::Reencode) {
    std::string why;
    if (!plan.uniform) why = plan.why_not_uniform;
    for (const auto& p : plan.pieces)
      if (p.in->reorder) why = p.in->file.filename().string() + " has B-frames";
    if (!why.empty()) {
      ctx.log->warn("cannot stream-copy this footage ({}): re-encoding the whole clip", why);
      mode = Mode::Reencode;
    }
  }
  Piece& p0 = plan.pieces.front();
  if (mode == Mode::Copy) {
    const LocalTime k = p0.in->time_of(p0.in->frames[p0.first].ts);
    if (k < from)
      ctx.log->warn("--copy: the clip starts at the keyframe at {}, {:.3f} s before {} (--exact cuts to the frame)",
                    format_iso(k, true), static_cast<double>(from - k) / 1000.0, format_iso(from, true));
  }
  std::future<EncodedAudio> audio_fut = start_audio(plan, o, ctx);
  ClipResult r = result_for(plan, out, mode, from, to);
  Muxer mux(out, o.overwrite);
  const AVRational vtb = plan.vtb();

  if (mode == Mode::Reencode) {
    const AVCodecParameters* par = p0.in->vst()->codecpar;
    EncoderSetup s = user_setup(o, par->width, par->height, vtb, p0.in->fps);
    media::CodecContextPtr enc = open_x264(s);
    CodecParPtr vpar = par_of(enc.get());
    mux.add_stream(vpar.get(), vtb, p0.in->fps);
    EncodedAudio audio;
    if (audio_fut.valid()) audio = audio_fut.get();
    if (audio.par) mux.add_stream(audio.par.get(), audio.tb);
    mux.start(meta_for(scan, plan, to_string(camera)), plan.frames() + static_cast<int64_t>(audio.packets.size()));
    if (audio.par) mux.queue(std::move(audio.packets), 1);
    r.audio = audio.par != nullptr;
    auto sink = [&](AVPacket* p) { mux.write(p, 0); };
    FrameReader reader(whole(plan), false, ctx);
    Yuv420 yuv;
    Progress bar(ctx, "re-encoding", static_cast<uint64_t>(plan.frames()));
    int64_t ts = 0, n = 0;
    while (AVFrame* f = reader.next(&ts)) {
      AVFrame* y = yuv(f);
      y->pts = ts;
      y->pict_type = AV_PICTURE_TYPE_NONE;
      encode(enc.get(), y, sink);
      bar.update(static_cast<uint64_t>(++n));
    }
    encode(enc.get(), nullptr, sink);
    bar.finish();
    if (n != plan.frames())
      throw InputError("decoded " + std::to_string(n) + " of " + std::to_string(plan.frames()) + " frames");
    r.reencoded_frames = n;
    r.bytes = mux.finish();
    return r;
  }

  // Copy / Exact: an optional re-encoded head, then stream copy.
  Head head;
  size_t copy_from = p0.first;
  if (mode == Mode::Exact && !p0.in->frames[p0.first].key) {
    copy_from = p0.first + 1;
    while (copy_from <= p0.last && !p0.in->frames[copy_from].key) ++copy_from;
    head = encode_head(p0, copy_from, ctx);
    ctx.log->info("smart cut: {} frame(s) re-encoded at the start, {} copied", head.frames,
                  plan.frames() - head.frames);
  }
  const AVCodecParameters* vpar = head.par ? head.par.get() : p0.in->vst()->codecpar;
  mux.add_stream(vpar, vtb, p0.in->fps);
  EncodedAudio audio;
  if (audio_fut.valid()) audio = audio_fut.get();
  if (audio.par) mux.add_stream(audio.par.get(), audio.tb);
  mux.start(meta_for(scan, plan, to_string(camera)), plan.frames() + static_cast<int64_t>(audio.packets.size()));
  if (audio.par) mux.queue(std::move(audio.packets), 1);
  r.audio = audio.par != nullptr;
  for (auto& pkt : head.packets) mux.write(pkt.get(), 0);
  std::vector<Range> ranges;
  if (copy_from <= p0.last) ranges.push_back({&p0, copy_from, p0.last});
  for (size_t i = 1; i < plan.pieces.size(); ++i) ranges.push_back({&plan.pieces[i], plan.pieces[i].first, plan.pieces[i].last});
  Progress bar(ctx, "copying", static_cast<uint64_t>(plan.frames()));
  int64_t n = head.frames;
  copy_packets(ranges, ctx, [&](AVPacket* p) {
    mux.write(p, 0);
    if ((++n & 31) == 0) bar.update(static_cast<uint64_t>(n));
  });
  bar.finish();
  r.reencoded_frames = head.frames;
  r.bytes = mux.finish();
  return r;
}

ClipResult make_composite(const CardScan& scan, LocalTime from, LocalTime to, Layout layout, const fs::path& out,
                          const Context& ctx, const ClipOptions& o) {
  if (layout == Layout::None) throw UsageError("no layout given for a composite clip");
  check_output(out, o.overwrite);
  Plan road = plan_clip(scan, from, to, Camera::Road, false, ctx);
  Plan cabin = plan_clip(scan, from, to, Camera::Interior, false, Context::quiet());
  const AVCodecParameters* rp = road.pieces.front().in->vst()->codecpar;
  const AVCodecParameters* ip = cabin.pieces.front().in->vst()->codecpar;
  const int rw = rp->width, rh = rp->height, iw = ip->width, ih = ip->height;
  auto even = [](double v) { return std::max(2, static_cast<int>(std::lround(v / 2)) * 2); };
  int W = rw, H = rh, x = 0, y = 0, w = 0, hh = 0;
  switch (layout) {
    case Layout::Pip:
      w = even(rw / 3.0), hh = even(static_cast<double>(ih) * w / iw);
      x = rw - w - even(rw / 60.0), y = even(rh / 30.0);
      break;
    case Layout::Side:
      hh = rh, w = even(static_cast<double>(iw) * rh / ih);
      W = rw + w, x = rw;
      break;
    case Layout::Stack:
      w = rw, hh = even(static_cast<double>(ih) * rw / iw);
      H = rh + hh, y = rh;
      break;
    case Layout::None: break;
  }
  const AVRational vtb = road.vtb();
  const AVRational fps = road.pieces.front().in->fps;
  EncoderSetup s = user_setup(o, W, H, vtb, fps);
  media::CodecContextPtr enc = open_x264(s);
  std::future<EncodedAudio> audio_fut = start_audio(cabin, o, ctx);
  Muxer mux(out, o.overwrite);
  CodecParPtr vpar = par_of(enc.get());
  mux.add_stream(vpar.get(), vtb, fps);
  EncodedAudio audio;
  if (audio_fut.valid()) audio = audio_fut.get();
  if (audio.par) mux.add_stream(audio.par.get(), audio.tb);
  mux.start(meta_for(scan, road, std::string(to_string(layout)) + " road+interior"),
            road.frames() + static_cast<int64_t>(audio.packets.size()));
  if (audio.par) mux.queue(std::move(audio.packets), 1);
  auto sink = [&](AVPacket* p) { mux.write(p, 0); };

  media::FramePtr canvas(av_frame_alloc()), icur(av_frame_alloc());
  if (!canvas || !icur) throw IoError("out of memory");
  canvas->format = AV_PIX_FMT_YUV420P;
  canvas->width = W;
  canvas->height = H;
  media::check_av_io(av_frame_get_buffer(canvas.get(), 0), "frame buffer");
  FrameReader rr(whole(road), false, ctx), ir(whole(cabin), false, ctx);
  Yuv420 ry, iy;
  media::SwsPtr sws;
  int64_t rts = 0, its = 0, n = 0;
  AVFrame* inext = ir.next(&its);
  bool have_i = false;
  Progress bar(ctx, "composing", static_cast<uint64_t>(road.frames()));
  // Both timelines start at the clip's start; the interior frame shown is
  // the latest one at or before the road frame's time.
  const AVRational itb = cabin.vtb();
  while (AVFrame* rf = rr.next(&rts)) {
    while (inext && av_compare_ts(its, itb, rts, vtb) <= 0) {
      av_frame_unref(icur.get());
      media::check_av_io(av_frame_ref(icur.get(), iy(inext)), "frame");
      have_i = true;
      inext = ir.next(&its);
    }
    media::check_av_io(av_frame_make_writable(canvas.get()), "frame buffer");
    AVFrame* r = ry(rf);
    if (W != rw || H != rh) {
      std::memset(canvas->data[0], 16, static_cast<size_t>(canvas->linesize[0]) * H);
      std::memset(canvas->data[1], 128, static_cast<size_t>(canvas->linesize[1]) * (H / 2));
      std::memset(canvas->data[2], 128, static_cast<size_t>(canvas->linesize[2]) * (H / 2));
    }
    av_image_copy_plane(canvas->data[0], canvas->linesize[0], r->data[0], r->linesize[0], rw, rh);
    av_image_copy_plane(canvas->data[1], canvas->linesize[1], r->data[1], r->linesize[1], rw / 2, rh / 2);
    av_image_copy_plane(canvas->data[2], canvas->linesize[2], r->data[2], r->linesize[2], rw / 2, rh / 2);
    if (have_i) {
      sws.reset(sws_getCachedContext(sws.release(), icur->width, icur->height, static_cast<AVPixelFormat>(icur->format),
                                     w, hh, AV_PIX_FMT_YUV420P, SWS_BILINEAR, nullptr, nullptr, nullptr));
      if (!sws) throw IoError("cannot scale the interior picture");
      uint8_t* dst[4] = {canvas->data[0] + static_cast<ptrdiff_t>(y) * canvas->linesize[0] + x,
                         canvas->data[1] + static_cast<ptrdiff_t>(y / 2) * canvas->linesize[1] + x / 2,
                         canvas->data[2] + static_cast<ptrdiff_t>(y / 2) * canvas->linesize[2] + x / 2, nullptr};
      int ls[4] = {canvas->linesize[0], canvas->linesize[1], canvas->linesize[2], 0};
      sws_scale(sws.get(), icur->data, icur->linesize, 0, icur->height, dst, ls);
    }
    canvas->pts = rts;
    canvas->pict_type = AV_PICTURE_TYPE_NONE;
    encode(enc.get(), canvas.get(), sink);
    bar.update(static_cast<uint64_t>(++n));
  }
  encode(enc.get(), nullptr, sink);
  bar.finish();
  ClipResult res = result_for(road, out, Mode::Reencode, from, to);
  res.camera = to_string(layout);
  res.frames = n;
  res.reencoded_frames = n;
  res.audio = audio.par != nullptr;
  res.bytes = mux.finish();
  return res;
}

}  // namespace nex::cut
