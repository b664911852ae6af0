// make_clip / make_composite: copy, smart cut, re-encode, timelapse.
//
// Smart cut (Mode::Exact): each segment's frames in the window become runs
// (plan_runs): a re-encoded head up to the first keyframe a copy may start
// at, a stream-copied middle up to the last clean cut point (where the
// decode-order packets are exactly the frames shown so far), a re-encoded
// tail after it (B-frames, open GOPs). Re-encoded runs are closed I/P GOPs
// made to join the camera's (class Rejoin: H.264 with its own parameter-set
// id in a shared avcC, HEVC as hev1 with parameter sets in-band). The clip
// gets one decode timeline (decode_times). docs/nexcut.md has the why.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <future>
#include <optional>
#include <semaphore>
#include <set>
#include <thread>
#include <tuple>

extern "C" {
#include <libavutil/imgutils.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
}

#include "cut/h264.hpp"
#include "cut/internal.hpp"
#include "cut/overlay.hpp"
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

// Frames in the encoder's pixel format and size (converted when a decoder
// gives another) and, when given one, the clip's colour range and matrix
// (a segment from another camera, re-encoded into the clip: full range into
// video range, BT.601 into BT.709).
class Yuv420 {
 public:
  explicit Yuv420(AVPixelFormat to = AV_PIX_FMT_YUV420P, int w = 0, int h = 0,
                  AVColorRange range = AVCOL_RANGE_UNSPECIFIED, AVColorSpace space = AVCOL_SPC_UNSPECIFIED)
      : to_(to), w_(w), h_(h), range_(range), space_(space) {}
  AVFrame* operator()(AVFrame* f) {
    const int w = w_ > 0 ? w_ : f->width, h = h_ > 0 ? h_ : f->height;
    auto full = [](AVColorRange r, int fmt) { return r == AVCOL_RANGE_JPEG || (r == AVCOL_RANGE_UNSPECIFIED && fmt == AV_PIX_FMT_YUVJ420P); };
    const bool from_full = full(f->color_range, f->format), to_full = full(range_, to_);
    // (a file that states no range is in video range, as decoders take it)
    const bool range = range_ != AVCOL_RANGE_UNSPECIFIED && from_full != to_full;
    const bool matrix = space_ != AVCOL_SPC_UNSPECIFIED && f->colorspace != AVCOL_SPC_UNSPECIFIED &&
                        sws_getCoefficients(f->colorspace) != sws_getCoefficients(space_);
    if ((f->format == to_ || (to_ == AV_PIX_FMT_YUV420P && f->format == AV_PIX_FMT_YUVJ420P)) && w == f->width &&
        h == f->height && !range && !matrix)
      return f;
    if (!range && !matrix) {
      if (std::get<0>(key_) >= 0) sws_.reset(), std::get<0>(key_) = -1;  // (not the converting one)
      sws_.reset(sws_getCachedContext(sws_.release(), f->width, f->height, static_cast<AVPixelFormat>(f->format), w, h,
                                      to_, SWS_BICUBIC, nullptr, nullptr, nullptr));
    } else if (!sws_ || key_ != std::tuple{f->format, f->width, f->height, f->color_range, f->colorspace}) {
      key_ = {f->format, f->width, f->height, f->color_range, f->colorspace};
      const int* src = sws_getCoefficients(f->colorspace != AVCOL_SPC_UNSPECIFIED ? f->colorspace : SWS_CS_DEFAULT);
      const int* dst = sws_getCoefficients(space_ != AVCOL_SPC_UNSPECIFIED ? space_ : SWS_CS_DEFAULT);
      if (!matrix) {
        // (one matrix on both sides: swscale given two for YUV to YUV
        // scaled the picture's levels wrongly, 21 dB against the source)
        sws_ = ranged(f->format, f->width, f->height, from_full, to_, w, h, to_full, dst, dst);
      } else {
        // swscale changes matrices only to and from RGB: YUV (the file's
        // matrix and range) -> 16-bit RGB -> YUV (the clip's).
        sws_ = ranged(f->format, f->width, f->height, from_full, AV_PIX_FMT_GBRP16, w, h, true, src, src);
        rgb_sws_ = ranged(AV_PIX_FMT_GBRP16, w, h, true, to_, w, h, to_full, dst, dst);
        rgb_.reset(av_frame_alloc());
        if (!rgb_) throw IoError("out of memory");
        rgb_->format = AV_PIX_FMT_GBRP16, rgb_->width = w, rgb_->height = h;
        media::check_av_io(av_frame_get_buffer(rgb_.get(), 0), "frame buffer");
      }
    }
    if (!sws_) throw InputError("cannot convert the video's pixel format");
    if (!buf_ || buf_->width != w || buf_->height != h) {
      buf_.reset(av_frame_alloc());
      if (!buf_) throw IoError("out of memory");
      buf_->format = to_;
      buf_->width = w;
      buf_->height = h;
      media::check_av_io(av_frame_get_buffer(buf_.get(), 0), "frame buffer");
    }
    media::check_av_io(av_frame_make_writable(buf_.get()), "frame buffer");
    if (matrix) {
      sws_scale(sws_.get(), f->data, f->linesize, 0, f->height, rgb_->data, rgb_->linesize);
      sws_scale(rgb_sws_.get(), rgb_->data, rgb_->linesize, 0, h, buf_->data, buf_->linesize);
    } else {
      sws_scale(sws_.get(), f->data, f->linesize, 0, f->height, buf_->data, buf_->linesize);
    }
    av_frame_copy_props(buf_.get(), f);
    if (range) buf_->color_range = range_;
    if (matrix) buf_->colorspace = space_;
    return buf_.get();
  }

 private:
  AVPixelFormat to_;
  int w_, h_;
  AVColorRange range_;
  AVColorSpace space_;
  // A converter with its ranges and matrices set before it is set up (one
  // set up for a plain copy, same format and size, would ignore them).
  static media::SwsPtr ranged(int from, int fw, int fh, bool from_full, int to, int tw, int th, bool to_full,
                              const int* from_coef, const int* to_coef) {
    media::SwsPtr p(sws_alloc_context());
    if (!p) throw IoError("out of memory");
    SwsContext* c = p.get();
    av_opt_set_int(c, "srcw", fw, 0), av_opt_set_int(c, "srch", fh, 0), av_opt_set_int(c, "src_format", from, 0);
    av_opt_set_int(c, "dstw", tw, 0), av_opt_set_int(c, "dsth", th, 0), av_opt_set_int(c, "dst_format", to, 0);
    av_opt_set_int(c, "sws_flags", SWS_LANCZOS | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT | SWS_FULL_CHR_H_INP, 0);
    av_opt_set_int(c, "src_range", from_full ? 1 : 0, 0), av_opt_set_int(c, "dst_range", to_full ? 1 : 0, 0);
    if (sws_init_context(c, nullptr, nullptr) < 0) throw InputError("cannot convert the video's colours");
    sws_setColorspaceDetails(c, from_coef, from_full ? 1 : 0, to_coef, to_full ? 1 : 0, 0, 1 << 16, 1 << 16);
    return p;
  }

  std::tuple<int, int, int, AVColorRange, AVColorSpace> key_{-1, 0, 0, AVCOL_RANGE_UNSPECIFIED, AVCOL_SPC_UNSPECIFIED};
  media::SwsPtr sws_, rgb_sws_;
  media::FramePtr buf_, rgb_;
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

// The colour description a clip's pictures are encoded with: the first
// frame's range, matrix, primaries and transfer where it states them (the
// setup's, where it does not). A re-encoded clip keeps the footage's (the
// defaults: BT.709 at video range); a smart cut's runs the camera's. Frames
// of another camera are moved into it (Yuv420).
void colour_from(EncoderSetup& s, const AVFrame* f) {
  if (f->color_range != AVCOL_RANGE_UNSPECIFIED) s.range = f->color_range;
  else if (f->format == AV_PIX_FMT_YUVJ420P) s.range = AVCOL_RANGE_JPEG;
  if (f->colorspace != AVCOL_SPC_UNSPECIFIED) s.space = f->colorspace;
  if (f->color_primaries != AVCOL_PRI_UNSPECIFIED) s.primaries = f->color_primaries;
  if (f->color_trc != AVCOL_TRC_UNSPECIFIED) s.trc = f->color_trc;
}

// The x264 options string from the first frame of a file, if any.
std::map<std::string, std::string> source_x264_options(Input& in, int length_size) {
  media::PacketPtr pkt(av_packet_alloc());
  if (!pkt) throw IoError("out of memory");
  media::check_av(av_seek_frame(in.fmt.get(), in.v, in.frames[in.decode.front()].dts, AVSEEK_FLAG_BACKWARD),
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

std::string hex(const std::vector<h::Bytes>& v) {
  std::string o;
  static const char* d = "0123456789abcdef";
  for (const auto& b : v) {
    for (uint8_t c : b) o += d[c >> 4], o += d[c & 15];
    o += ' ';
  }
  return o;
}

bool same_extradata(const Input& a, const Input& b) {
  const AVCodecParameters *x = a.vst()->codecpar, *y = b.vst()->codecpar;
  return x->extradata_size == y->extradata_size &&
         (x->extradata_size == 0 || std::memcmp(x->extradata, y->extradata, static_cast<size_t>(x->extradata_size)) == 0);
}

// An HEVC file's VPS, SPS and PPS (from its hvcC), as length-prefixed NAL units.
h::Bytes hevc_sets(const Input& in) {
  const AVCodecParameters* par = in.vst()->codecpar;
  auto c = h::parse_hvcc({par->extradata, static_cast<size_t>(std::max(par->extradata_size, 0))});
  if (!c) throw InputError(in.file.string() + ": no usable hvcC record", "use --reencode");
  h::Bytes sets;
  for (const auto& n : c->nals) {
    const int t = h::hevc_nal_type(n);
    if (t < 32 || t > 34) continue;  // VPS, SPS, PPS
    for (int k = c->length_size - 1; k >= 0; --k) sets.push_back(static_cast<uint8_t>(n.size() >> (8 * k)));
    sets.insert(sets.end(), n.begin(), n.end());
  }
  return sets;
}

// Re-encodes display ranges of the footage as closed GOPs of I and P frames
// that join the stream-copied GOPs of the same clip (smart cut).
//
// H.264: libx264 set up like the camera's encoder (profile, level, colour,
// rate control, and for x264-made footage every coding option of the SEI
// options string, B-frames and open GOPs excepted). When its SPS/PPS differ
// from the camera's, they get their own parameter-set id and the avcC record
// carries both (one avc1 sample entry; each slice names its PPS).
// HEVC: libx265 with the camera's profile and bit depth; x265 cannot number
// its parameter sets, so the clip is hev1 with parameter sets in-band: the
// re-encoded pictures carry x265's, each copied run starts with the
// camera's, and a re-encoded run followed by a copied CRA ends with an
// end-of-sequence NAL so that the CRA starts a new coded video sequence.
class Rejoin {
 public:
  Rejoin(Input& in, const Context& ctx) : in_(in), ctx_(ctx) {
    const AVCodecParameters* par = in.vst()->codecpar;
    hevc_ = par->codec_id == AV_CODEC_ID_HEVC;
    if (par->codec_id != AV_CODEC_ID_H264 && !hevc_)
      throw InputError(in.file.string() + ": smart cut handles H.264 and HEVC footage (this is " +
                           std::string(avcodec_get_name(par->codec_id)) + ")",
                       "use --reencode");
    const std::span<const uint8_t> ed{par->extradata, static_cast<size_t>(std::max(par->extradata_size, 0))};
    if (hevc_) {
      auto c = h::parse_hvcc(ed);
      if (!c) throw InputError(in.file.string() + ": no usable hvcC record", "use --reencode");
      length_size_ = c->length_size;
      camera_sets_ = hevc_sets(in);
    } else {
      auto c = h::parse_avcc(ed);
      if (!c || c->sps.empty() || c->pps.empty()) throw InputError(in.file.string() + ": no usable avcC record", "use --reencode");
      avcc_ = *c;
      length_size_ = c->length_size;
      // (read before any frame reader uses the file: it seeks)
      x264_ = source_x264_options(in, avcc_.length_size);
    }
  }

  bool hevc() const { return hevc_; }
  // The clip's video parameters: the camera's until a run is re-encoded.
  const AVCodecParameters* par() const { return par_ ? par_.get() : in_.vst()->codecpar; }
  uint32_t tag() const { return hevc_ ? MKTAG('h', 'e', 'v', '1') : 0; }

  // Frames [from, to] (display order) of a piece; packets with output pts,
  // in decode order (= display order: no B-frames).
  // `ready` runs once the encoder settings are known (after the first call's
  // first frame): from then on other runs may be encoded on other threads,
  // each from its own Piece (Input::reopen), while this one goes on.
  std::vector<media::PacketPtr> encode(Piece& p, size_t from, size_t to, bool eos,
                                       const std::function<void()>& ready = {}) {
    FrameReader reader({{&p, from, to}}, false, ctx_);
    int64_t ts = 0;
    size_t idx = 0;
    AVFrame* first = reader.next(&ts, &idx);
    if (!first) throw InputError(p.in->file.string() + ": cannot decode the frame at " + format_iso(p.in->time_of(p.in->frames[from].ts), true));
    // (the encoder is set up like the camera of `in_`: its own frame's
    // aspect ratio and colour only when the first re-encoded run is its)
    if (!enc_ready_) init(first, same_extradata(*p.in, in_));
    media::CodecContextPtr enc = open();  // (before other runs start: the first takes the spare)
    if (ready) ready();
    std::vector<media::PacketPtr> out;
    std::vector<int64_t> out_ts, out_dur;
    auto sink = [&](AVPacket* pkt) {
      const auto nals = h::split_annexb({pkt->data, static_cast<size_t>(pkt->size)});
      h::Bytes sample = hevc_ ? h::to_lengths(nals, length_size_, {35})   // AUD out; parameter sets stay in-band
                              : h::to_lengths(nals, length_size_, {7, 8, 9});
      media::PacketPtr o(av_packet_alloc());
      if (!o) throw IoError("out of memory");
      media::check_av_io(av_new_packet(o.get(), static_cast<int>(sample.size())), "packet");
      std::memcpy(o->data, sample.data(), sample.size());
      const auto k = static_cast<size_t>(pkt->pts);
      if (pkt->pts < 0 || k >= out_ts.size()) throw IoError("the encoder returned an unexpected timestamp");
      o->pts = out_ts[k];
      o->dts = AV_NOPTS_VALUE;
      o->duration = out_dur[k];
      o->flags = pkt->flags & AV_PKT_FLAG_KEY;
      out.push_back(std::move(o));
    };
    Yuv420 conv(pix_fmt_, 0, 0, s_.range, s_.space);
    for (AVFrame* f = first; f; f = reader.next(&ts, &idx)) {
      AVFrame* g = conv(f);
      g->pict_type = out_ts.empty() ? AV_PICTURE_TYPE_I : AV_PICTURE_TYPE_NONE;
      g->pts = static_cast<int64_t>(out_ts.size());
      out_ts.push_back(ts);
      out_dur.push_back(p.out_span(p.in->end_ts(idx) - p.in->frames[idx].ts));
      encode_frame(enc.get(), g, sink);
    }
    encode_frame(enc.get(), nullptr, sink);
    if (out.size() != to - from + 1 || out_ts.size() != out.size())
      throw InputError(p.in->file.string() + ": decoded " + std::to_string(out_ts.size()) + " of " +
                       std::to_string(to - from + 1) + " frames from " + format_iso(p.in->time_of(p.in->frames[from].ts), true));
    // End of sequence: the next picture (a copied CRA or open-GOP I-frame)
    // starts a new coded video sequence.
    if (eos && hevc_ && !out.empty()) end_sequence(out.back().get());
    return out;
  }

  // The first packet of a copied run of `in`: HEVC gets the camera's
  // parameter sets in front (that file's own, when they are not the first's).
  void prefix_copied(const Input& in, AVPacket* pkt) const {
    if (!hevc_) return;
    const h::Bytes other = same_extradata(in, in_) ? h::Bytes{} : hevc_sets(in);
    const h::Bytes& sets = other.empty() ? camera_sets_ : other;
    if (sets.empty()) return;
    media::PacketPtr o(av_packet_alloc());
    if (!o) throw IoError("out of memory");
    media::check_av_io(av_new_packet(o.get(), static_cast<int>(sets.size()) + pkt->size), "packet");
    std::memcpy(o->data, sets.data(), sets.size());
    std::memcpy(o->data + sets.size(), pkt->data, static_cast<size_t>(pkt->size));
    media::check_av_io(av_packet_copy_props(o.get(), pkt), "packet");
    av_packet_unref(pkt);
    av_packet_move_ref(pkt, o.get());
  }

  // An end-of-sequence NAL after the last picture of `pkt` (the next picture
  // starts a new coded video sequence, and may bring new parameter sets).
  void end_sequence(AVPacket* pkt) const {
    const uint8_t hevc_eos[2] = {36 << 1, 1}, avc_eos[1] = {10};
    const int len = hevc_ ? 2 : 1;
    const int old = pkt->size;
    media::check_av_io(av_grow_packet(pkt, length_size_ + len), "packet");
    for (int k = 0; k < length_size_; ++k) pkt->data[old + k] = static_cast<uint8_t>(k == length_size_ - 1 ? len : 0);
    std::memcpy(pkt->data + old + length_size_, hevc_ ? hevc_eos : avc_eos, static_cast<size_t>(len));
  }

 private:
  static void encode_frame(AVCodecContext* enc, AVFrame* f, const std::function<void(AVPacket*)>& sink) {
    detail::encode(enc, f, sink);
  }

  // An encoder for a run: the one set up while the settings were found
  // (same settings, nothing encoded yet) for the first, a new one after.
  media::CodecContextPtr open() {
    if (spare_) return std::move(spare_);
    return hevc_ ? open_x265(s_) : open_x264(s_);
  }

  // The first frame tells what the container may not: the sample aspect
  // ratio, colour description and pixel format as the decoder read them.
  void init(AVFrame* first, bool own) {
    const AVCodecParameters* par = in_.vst()->codecpar;
    s_ = setup_from(in_);
    s_.time_base = av_inv_q(in_.fps);
    if (par->level > 0) s_.level = std::to_string(par->level);
    // (an unprobed MP4 leaves the level unknown: the camera's SPS says it)
    if (!hevc_ && s_.level.empty() && !avcc_.sps.empty() && avcc_.sps[0].size() > 3)
      s_.level = std::to_string(avcc_.sps[0][3]);
    if (own && first->sample_aspect_ratio.num > 0) s_.sar = first->sample_aspect_ratio;
    if (own) colour_from(s_, first);
    s_.bitrate = par->bit_rate > 0 ? par->bit_rate : 0;
    s_.threads = 1;  // frame threads make rate control depend on timing: clips would differ run to run
    par_.reset(avcodec_parameters_alloc());
    if (!par_) throw IoError("out of memory");
    media::check_av_io(avcodec_parameters_copy(par_.get(), par), "codec parameters");
    if (hevc_) init_hevc(first);
    else init_h264(first);
    enc_ready_ = true;
  }

  void init_hevc(AVFrame* first) {
    // (the camera's bit depth: the first re-encoded frame may be another file's)
    const int cf = in_.vst()->codecpar->format;
    const AVPixelFormat f = static_cast<AVPixelFormat>(cf >= 0 ? cf : first->format);
    const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(f);
    const int depth = d ? d->comp[0].depth : 8;
    pix_fmt_ = depth > 8 ? AV_PIX_FMT_YUV420P10LE : AV_PIX_FMT_YUV420P;
    s_.pix_fmt = pix_fmt_;
    s_.preset = "ultrafast";
    s_.profile = depth > 8 ? "main10" : "main";
    // The camera's level and tier (hvcC: general_level_idc = 30 x the level;
    // x265's level-idc is 10 x the level), so that a player the camera's
    // level suits plays the clip; x265 alone would choose the lowest that
    // fits.
    s_.level.clear();
    const AVCodecParameters* par = in_.vst()->codecpar;
    if (par->extradata_size > 12 && par->extradata[12] >= 3) {
      s_.level = std::to_string(par->extradata[12] / 3);
      s_.params = std::string("high-tier=") + ((par->extradata[1] & 0x20) ? "1" : "0") + ":";
    }
    if (s_.bitrate <= 0) s_.crf = 20;
    s_.inband = true;
    s_.params += "bframes=0:open-gop=0:scenecut=0:repeat-headers=1:annexb=1:info=0:frame-threads=1:keyint=" +
                 std::to_string(std::max(s_.gop, 1));
    // The re-encoded pictures carry their own parameter sets (hev1), so the
    // coding tree need not be the camera's: 16x16 CTUs and the quicker
    // rate-distortion level take 12-15 % less time than ultrafast's 32x32
    // and rd 2 (15 frames of 720p: 300 -> 260 ms of CPU, 44.5 -> 44.2 dB at
    // the camera's bitrate). Levels 5 and above need CTUs of 32 or 64: only
    // up to 1080p.
    s_.params += ":rd=1";
    if (static_cast<int64_t>(s_.width) * s_.height <= 1920 * 1088) s_.params += ":ctu=16";
    if (!s_.level.empty()) {
      // x265 refuses a level the pictures exceed (a camera that signals too
      // low a one): then it chooses (a trial, with x265's own log quiet)
      EncoderSetup trial = s_;
      trial.params += ":log-level=none";
      try {
        spare_ = open_x265(trial);  // (its log level aside, the run's encoder)
      } catch (const IoError&) {
        ctx_.log->warn("{}: x265 cannot encode at the camera's level {}.{}: the re-encoded pictures get the level x265 "
                       "chooses", in_.file.string(), std::atoi(s_.level.c_str()) / 10, std::atoi(s_.level.c_str()) % 10);
        s_.level.clear();
      }
    }
    ctx_.log->debug("head encoder: libx265 {} {}", s_.profile, s_.params);
  }

  void init_h264(AVFrame*) {
    const AVCodecParameters* par = in_.vst()->codecpar;
    pix_fmt_ = AV_PIX_FMT_YUV420P;
    s_.profile = profile_name(par->profile);
    const auto& x264 = x264_;
    if (!x264.empty()) {
      // The camera's own x264 settings: a preset only fills what the string lacks.
      s_.preset = "ultrafast";
      s_.params = h::x264_params_from(x264);
      if (auto it = x264.find("keyint"); it != x264.end() && std::atoi(it->second.c_str()) > 0)
        s_.gop = std::atoi(it->second.c_str());
      auto rc = x264.find("rc");
      auto br = x264.find("bitrate");
      if (rc != x264.end() && rc->second == "abr" && br != x264.end()) s_.bitrate = std::atoll(br->second.c_str()) * 1000;
    } else {
      s_.preset = "veryfast";
    }
    // Closed GOPs of I and P frames: a re-encoded run decodes on its own.
    // A run is at most a GOP or two, so the search is the quickest one
    // (diamond, sub-pixel level 1, no lookahead or macroblock tree): none of
    // these is in the SPS/PPS, and at the camera's bitrate the pictures come
    // out as close to the source (46.5 dB on the bench's 720p x264 footage,
    // as with the camera's own search) in two thirds of the time.
    int subme = 1;  // (never more than the camera's own: nexsim's footage is subme 0)
    if (auto it = x264.find("subme"); it != x264.end()) subme = std::clamp(std::atoi(it->second.c_str()), 0, 1);
    s_.params += std::string(s_.params.empty() ? "" : ":") +
                 "bframes=0:open-gop=0:me=dia:subme=" + std::to_string(subme) + ":no-mbtree=1:rc-lookahead=0";
    if (s_.bitrate <= 0) s_.crf = 18;
    media::CodecContextPtr enc = open_x264(s_);
    std::vector<h::Bytes> esps, epps;
    parameter_sets(enc.get(), &esps, &epps);
    h::Bytes extradata(par->extradata, par->extradata + par->extradata_size);
    ctx_.log->debug("head encoder: preset {} x264-params {}", s_.preset, s_.params);
    ctx_.log->debug("camera SPS/PPS {}{}; head SPS/PPS {}{}", hex(avcc_.sps), hex(avcc_.pps), hex(esps), hex(epps));
    // NEX_CUT_DISTINCT_PARAMETER_SETS=1 forces the two-parameter-set layout
    // (used by the tests to check it with other players).
    const char* force = std::getenv("NEX_CUT_DISTINCT_PARAMETER_SETS");
    if (esps != avcc_.sps || epps != avcc_.pps || (force && *force == '1')) {
      std::set<unsigned> used;
      for (const auto& x : avcc_.sps)
        if (auto id = h::sps_id(x)) used.insert(*id);
      for (const auto& x : avcc_.pps)
        if (auto ids = h::pps_ids(x)) used.insert(ids->first);
      unsigned id = 1;
      while (used.count(id) && id < 31) ++id;
      s_.params += (s_.params.empty() ? "" : ":") + std::string("sps-id=") + std::to_string(id);
      enc = open_x264(s_);
      esps.clear(), epps.clear();
      parameter_sets(enc.get(), &esps, &epps);
      if (esps.size() != 1 || epps.size() != 1 || h::sps_id(esps[0]) != id)
        throw IoError("libx264 did not take the parameter-set id " + std::to_string(id));
      h::AvcC m = avcc_;
      m.sps.push_back(esps[0]);
      m.pps.push_back(epps[0]);
      if (esps[0].size() > 3) {
        m.compat &= esps[0][2];
        m.level = std::max(m.level, esps[0][3]);
      }
      extradata = h::build_avcc(m);
      ctx_.log->info("the re-encoded pictures have their own SPS/PPS (id {}); the avcC record carries both", id);
    } else {
      ctx_.log->debug("the re-encoded pictures' SPS/PPS are identical to the camera's");
    }
    av_freep(&par_->extradata);
    par_->extradata = static_cast<uint8_t*>(av_mallocz(extradata.size() + AV_INPUT_BUFFER_PADDING_SIZE));
    if (!par_->extradata) throw IoError("out of memory");
    std::memcpy(par_->extradata, extradata.data(), extradata.size());
    par_->extradata_size = static_cast<int>(extradata.size());
    spare_ = std::move(enc);
  }

  Input& in_;
  const Context& ctx_;
  bool hevc_ = false;
  h::AvcC avcc_;
  std::map<std::string, std::string> x264_;
  int length_size_ = 4;
  h::Bytes camera_sets_;
  EncoderSetup s_;
  AVPixelFormat pix_fmt_ = AV_PIX_FMT_YUV420P;
  CodecParPtr par_;
  bool enc_ready_ = false;
  media::CodecContextPtr spare_;
};

// A worker thread that re-encodes a tail yields to the head: the clip waits
// for the head before it writes anything, and for a tail only at its end, so
// the tail runs on what the head leaves of the cores (and during the copy).
// Its decoder's and encoder's threads, made on this thread, inherit its
// lower priority (Linux: the nice value is per thread; x265's worker threads
// add 10 to the one they inherit, so the tail's decoder and encoder thread
// run at the head's x265 workers' level, the tail's workers below). Measured
// on 2 cores (bench/nexcut-foreign.sh, HEVC): 30-50 ms less than at the same
// priority; the lowest priority starved the tail until the head was done.
// Output is unchanged.
void behind_the_head() {
  const auto tid = static_cast<id_t>(gettid());
  errno = 0;
  const int nice = getpriority(PRIO_PROCESS, tid);
  if (errno == 0) setpriority(PRIO_PROCESS, tid, std::min(19, nice + 10));
}

// One run of the clip's video: frames [from, to] (display order) of a piece,
// re-encoded or stream-copied.
struct Run {
  Piece* piece = nullptr;
  size_t from = 0, to = 0;
  bool encode = false;
  std::vector<media::PacketPtr> packets;  // re-encoded runs
};

// Splits each piece into runs (a piece that is not copyable: one re-encoded
// run). Exact: a re-encoded head up to the first
// keyframe, a copy up to the last clean cut point (Input::clean_ends), a
// re-encoded tail after it (B-frames: the last anchor's group; open GOPs:
// the leading pictures of the next keyframe). Copy: whole pieces, the first
// from its keyframe (plan_clip snapped it), the last to the next clean cut
// point at or after its last frame.
std::vector<Run> plan_runs(Plan& plan, Mode mode, const std::vector<bool>& copyable) {
  std::vector<Run> runs;
  for (size_t pi = 0; pi < plan.pieces.size(); ++pi) {
    Piece& p = plan.pieces[pi];
    const Input& in = *p.in;
    if (!copyable[pi]) {  // another codec or parameters: re-encoded whole
      runs.push_back({&p, p.first, p.last, true, {}});
      continue;
    }
    if (mode == Mode::Copy) {
      if (!in.frames[p.first].key)
        throw InputError(in.file.string() + " does not start with a keyframe: it cannot be stream-copied",
                         "use --exact (the default)");
      const auto ends = in.clean_ends(p.first, in.frames.size() - 1);
      auto it = std::lower_bound(ends.begin(), ends.end(), p.last);
      if (it == ends.end()) throw InputError(in.file.string() + ": no clean end for a stream copy");
      p.last = *it;
      runs.push_back({&p, p.first, p.last, false, {}});
      continue;
    }
    size_t k = p.first;
    while (k <= p.last && !(in.frames[k].key && in.joinable_at(k))) ++k;
    if (k > p.last) {
      runs.push_back({&p, p.first, p.last, true, {}});
      continue;
    }
    if (k > p.first) runs.push_back({&p, p.first, k - 1, true, {}});
    const auto ends = in.clean_ends(k, p.last);
    const size_t e = ends.empty() ? k : ends.back();
    runs.push_back({&p, k, e, false, {}});
    if (e < p.last) runs.push_back({&p, e + 1, p.last, true, {}});
  }
  plan.layout();
  return runs;
}

// Output pts of a run's packets in decode order (copied runs: the source's
// decode order without the leading pictures of the first keyframe).
void run_pts(const Run& r, std::vector<int64_t>& out) {
  const Input& in = *r.piece->in;
  if (r.encode) {
    for (size_t i = r.from; i <= r.to; ++i) out.push_back(r.piece->out_ts(in.frames[i].ts));
    return;
  }
  const size_t last = in.max_dec(r.from, r.to);
  for (size_t d = in.frames[r.from].dec; d <= last; ++d) {
    const size_t i = in.at_dec(d);
    if (i >= r.from && i <= r.to) out.push_back(r.piece->out_ts(in.frames[i].ts));
  }
}

// One decode timeline for the clip: the n-th packet's dts is the n-th
// smallest pts, moved back by the largest reordering delay, so that dts
// rises strictly and never passes pts (no reordering: dts == pts).
std::vector<int64_t> decode_times(const std::vector<int64_t>& pts_in_decode_order) {
  std::vector<int64_t> sorted = pts_in_decode_order;
  std::sort(sorted.begin(), sorted.end());
  int64_t shift = 0;
  for (size_t n = 0; n < sorted.size(); ++n) shift = std::max(shift, sorted[n] - pts_in_decode_order[n]);
  for (auto& t : sorted) t -= shift;
  return sorted;
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

// --codec, or the source's codec when it is one nexcut encodes.
std::string output_codec(const ClipOptions& o, const Input& in) {
  if (!o.encode.codec.empty()) return o.encode.codec;
  return in.vst()->codecpar->codec_id == AV_CODEC_ID_HEVC ? "hevc" : "h264";
}

// Which pieces a copy may take (the others are re-encoded whole, into the
// clip's codec): those in the clip's codec, H.264 or HEVC, whose pictures
// join the first such piece's (`ref`) in one track. H.264: the same
// parameter sets (an avc1 track has one avcC record, and the cameras all
// number their SPS and PPS 0). HEVC: the same profile, pixel format and NAL
// length size; other parameter sets go in-band (hev1). Null `ref`: none is
// copyable, and `why` says why.
std::vector<bool> copyable_pieces(const Plan& plan, const std::string& codec, Piece const** ref, std::string* why,
                                  const Context& ctx) {
  const AVCodecID want = codec == "hevc" ? AV_CODEC_ID_HEVC : AV_CODEC_ID_H264;
  std::vector<bool> ok(plan.pieces.size(), false);
  *ref = nullptr;
  for (const Piece& p : plan.pieces)
    if (p.in->vst()->codecpar->codec_id == want) {
      *ref = &p;
      break;
    }
  const Input& in0 = *plan.pieces.front().in;
  const AVCodecID id0 = in0.vst()->codecpar->codec_id;
  if (!*ref) {
    if (id0 != AV_CODEC_ID_H264 && id0 != AV_CODEC_ID_HEVC)
      *why = in0.file.filename().string() + " is " + avcodec_get_name(id0) + ": only H.264 and HEVC are stream-copied";
    else
      *why = "--codec " + codec + " differs from the footage's " + avcodec_get_name(id0);
    return ok;
  }
  const Input& r = *(*ref)->in;
  const AVCodecParameters* rp = r.vst()->codecpar;
  for (size_t i = 0; i < plan.pieces.size(); ++i) {
    const Input& in = *plan.pieces[i].in;
    const AVCodecParameters* p = in.vst()->codecpar;
    std::string differs;
    if (p->codec_id != want)
      differs = std::string("is ") + avcodec_get_name(p->codec_id) + ", the clip " + avcodec_get_name(want);
    else if (want == AV_CODEC_ID_H264 && !same_extradata(in, r))
      differs = "has other H.264 parameter sets than " + r.file.filename().string();
    else if (want == AV_CODEC_ID_HEVC && (p->profile != rp->profile || p->format != rp->format ||
                                          in.nal_length_size != r.nal_length_size))
      differs = "has another HEVC profile or pixel format than " + r.file.filename().string();
    else if (p->color_range != rp->color_range || p->color_space != rp->color_space ||
             p->color_primaries != rp->color_primaries || p->color_trc != rp->color_trc)
      // (one colour description for the clip: its re-encoded pictures
      // follow the first file's, and a player keeps the one it started with)
      differs = "has another colour description than " + r.file.filename().string();
    ok[i] = differs.empty();
    if (!ok[i]) {
      const Piece& pc = plan.pieces[i];
      ctx.log->warn("{} {}: its {} frame(s) in the clip are re-encoded, the rest is cut as usual",
                    in.file.filename().string(), differs, pc.last - pc.first + 1);
    }
  }
  return ok;
}

CodecParPtr par_of(const AVCodecContext* enc) {
  CodecParPtr p(avcodec_parameters_alloc());
  if (!p) throw IoError("out of memory");
  media::check_av_io(avcodec_parameters_from_context(p.get(), enc), "codec parameters");
  return p;
}

// The clip's sound: AAC, or in a QuickTime clip of PCM footage the source's
// PCM, cut on sample boundaries.
std::future<EncodedAudio> start_audio(const Plan& plan, const ClipOptions& o, const Context& ctx, const fs::path& out) {
  if (!o.audio || plan.pieces.front().in->a < 0) return {};
  auto spans = audio_spans(plan);
  const AVCodecID pcm = quicktime_output(out) ? kept_pcm(plan) : AV_CODEC_ID_NONE;
  return std::async(std::launch::async, [spans = std::move(spans), pcm, &ctx] { return build_audio(spans, ctx, pcm); });
}

// Capture time of the frame a FrameReader over whole(plan) returned.
LocalTime capture_time(const Plan& plan, int64_t out_ts, size_t idx) {
  size_t pi = 0;
  while (pi + 1 < plan.pieces.size() && out_ts >= plan.pieces[pi + 1].out_offset) ++pi;
  const Piece& p = plan.pieces[pi];
  return p.in->time_of(p.in->frames[idx].ts);
}

// --overlay on frames of width x height whose camera picture (road, or the
// clip's camera) is `strip_w` wide and `text_h` high; none without --overlay.
std::unique_ptr<OverlayPainter> painter_for(const CardScan& scan, const Plan& plan, const ClipOptions& o, int w,
                                            int h, int strip_w, int text_h) {
  if (!o.overlay.any()) return nullptr;
  return std::make_unique<OverlayPainter>(scan, plan.start(), plan.end(), o.overlay, w, h, AV_PIX_FMT_YUV420P,
                                          strip_w, text_h);
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
  for (const Piece& p : plan.pieces) r.sources.push_back(p.in->file);
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
  std::vector<Range> ranges = whole(plan);
  FrameReader reader(ranges, keys, ctx);
  int64_t ts = 0, n = 0;
  size_t idx = 0;
  AVFrame* f = reader.next(&ts, &idx);
  if (!f) throw InputError(in0.file.string() + ": no frame could be decoded");
  colour_from(s, f);
  media::CodecContextPtr enc = open_encoder(s, output_codec(o, in0));
  Muxer mux(out, o.overwrite);
  CodecParPtr par = par_of(enc.get());
  mux.add_stream(par.get(), tb, in0.fps);
  MuxMeta meta = meta_for(scan, plan, std::to_string(o.timelapse) + "x timelapse");
  mux.start(meta, kept);
  auto sink = [&](AVPacket* p) { mux.write(p, 0); };
  Yuv420 yuv(AV_PIX_FMT_YUV420P, s.width, s.height, s.range, s.space);
  auto painter = painter_for(scan, plan, o, s.width, s.height, s.width, s.height);
  // Global index of each piece's first frame, to tell which frames are kept.
  std::vector<int64_t> base;
  int64_t acc = 0;
  for (auto& p : plan.pieces) base.push_back(acc), acc += static_cast<int64_t>(p.last - p.first + 1);
  Progress bar(ctx, "timelapse", static_cast<uint64_t>(kept));
  for (; f; f = reader.next(&ts, &idx)) {
    size_t pi = 0;
    while (pi + 1 < plan.pieces.size() && ts >= plan.pieces[pi + 1].out_offset) ++pi;
    const int64_t gi = base[pi] + static_cast<int64_t>(idx - plan.pieces[pi].first);
    if (gi % o.timelapse != 0) continue;
    AVFrame* y = yuv(f);
    if (painter) y = painter->draw(y, capture_time(plan, ts, idx));
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
  if (o.overlay.any() && mode == Mode::Copy)
    throw UsageError("--overlay draws on the picture: --copy cannot", "drop --copy (the clip is re-encoded)");
  if (o.overlay.any() && mode == Mode::Exact) mode = Mode::Reencode;  // every frame is drawn on
  if (mode == Mode::Timelapse) return timelapse(scan, from, to, camera, out, ctx, o);
  const auto t0 = std::chrono::steady_clock::now();
  auto ms = [&] { return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count(); };
  Plan plan = plan_clip(scan, from, to, camera, mode == Mode::Copy, ctx);
  ctx.log->debug("{} ms: {} file(s) indexed", ms(), plan.pieces.size());
  // A segment in another codec (or with parameters a copy cannot join) is
  // re-encoded whole into the clip's codec; the others are cut as usual.
  std::vector<bool> copyable;
  const Piece* ref = nullptr;
  if (mode != Mode::Reencode) {
    std::string why;
    copyable = copyable_pieces(plan, output_codec(o, *plan.pieces.front().in), &ref, &why, ctx);
    if (!ref) {
      ctx.log->warn("cannot stream-copy this footage ({}): re-encoding the whole clip", why);
      mode = Mode::Reencode;
    }
  }
  Piece& p0 = plan.pieces.front();
  if (mode == Mode::Copy && copyable[0]) {
    // H.264: a copy that starts at an open-GOP I-frame leaves out pictures
    // that the ones after it still name (x264's B-pyramid marks them unused:
    // decoders report "mmco: unref short failure"). It starts at the IDR
    // before it when the file has one.
    size_t k = p0.first;
    while (k > 0 && !(p0.in->frames[k].key && p0.in->joinable_at(k))) --k;
    if (k < p0.first && p0.in->frames[k].key && p0.in->joinable_at(k)) {
      p0.first = k;
      plan.layout();
    }
  }
  if (mode == Mode::Copy) {
    const LocalTime k = p0.in->time_of(p0.in->frames[p0.first].ts);
    if (k < from)
      ctx.log->warn("--copy: the clip starts at the keyframe at {}, {:.3f} s before {} (--exact cuts to the frame)",
                    format_iso(k, true), static_cast<double>(from - k) / 1000.0, format_iso(from, true));
  }
  std::vector<Run> runs;
  if (mode != Mode::Reencode) {
    const size_t last = plan.pieces.back().last;
    runs = plan_runs(plan, mode, copyable);  // (Copy may move the end to a clean cut point)
    const LocalTime e = plan.end();
    if (mode == Mode::Copy && plan.pieces.back().last != last)
      ctx.log->warn("--copy: the clip ends at {}, {:.3f} s after {}: B-frames are copied in whole groups",
                    format_iso(e, true), static_cast<double>(e - to) / 1000.0, format_iso(to, true));
  }
  std::future<EncodedAudio> audio_fut = start_audio(plan, o, ctx, out);
  ClipResult r = result_for(plan, out, mode, from, to);
  Muxer mux(out, o.overwrite);
  const AVRational vtb = plan.vtb();

  if (mode == Mode::Reencode) {
    const AVCodecParameters* par = p0.in->vst()->codecpar;
    EncoderSetup s = user_setup(o, par->width, par->height, vtb, p0.in->fps);
    FrameReader reader(whole(plan), false, ctx);
    int64_t ts = 0, n = 0;
    size_t idx = 0;
    AVFrame* f = reader.next(&ts, &idx);
    if (!f) throw InputError(p0.in->file.string() + ": no frame could be decoded");
    colour_from(s, f);
    media::CodecContextPtr enc = open_encoder(s, output_codec(o, *p0.in));
    CodecParPtr vpar = par_of(enc.get());
    mux.add_stream(vpar.get(), vtb, p0.in->fps);
    EncodedAudio audio;
    if (audio_fut.valid()) audio = audio_fut.get();
    if (audio.par) mux.add_stream(audio.par.get(), audio.tb);
    mux.start(meta_for(scan, plan, to_string(camera)), plan.frames() + static_cast<int64_t>(audio.packets.size()));
    if (audio.par) mux.queue(std::move(audio.packets), 1);
    r.audio = audio.par != nullptr;
    auto sink = [&](AVPacket* p) { mux.write(p, 0); };
    Yuv420 yuv(AV_PIX_FMT_YUV420P, par->width, par->height, s.range, s.space);
    auto painter = painter_for(scan, plan, o, par->width, par->height, par->width, par->height);
    Progress bar(ctx, "re-encoding", static_cast<uint64_t>(plan.frames()));
    for (; f; f = reader.next(&ts, &idx)) {
      AVFrame* y = yuv(f);
      if (painter) y = painter->draw(y, capture_time(plan, ts, idx));
      y->pts = ts;
      y->pict_type = AV_PICTURE_TYPE_NONE;
      encode(enc.get(), y, sink);
      bar.update(static_cast<uint64_t>(++n));
    }
    encode(enc.get(), nullptr, sink);
    bar.finish();
    if (n != plan.frames())
      throw InputError("decoded " + std::to_string(n) + " of " + std::to_string(plan.frames()) + " frames");
    int64_t at = 0;
    for (const Piece& p : plan.pieces) {
      const auto count = static_cast<int64_t>(p.last - p.first + 1);
      r.runs.push_back({p.in->file, false, at, count, static_cast<int64_t>(p.first), static_cast<int64_t>(p.last)});
      at += count;
    }
    r.reencoded_frames = n;
    r.bytes = mux.finish();
    return r;
  }

  // Copy / Exact: runs of re-encoded and stream-copied frames. The first
  // re-encoded run (the head, as a rule) fixes the encoder settings; once it
  // has, the other re-encoded runs (tails) start on worker threads, each
  // reading its own handle of its file, so that head, tails and the copy in
  // between overlap. Each run has its own encoder, as before: the bytes are
  // the same as when they ran one after the other.
  std::optional<Rejoin> rejoin;
  std::vector<std::unique_ptr<Piece>> reopened;  // (these three outlive the workers)
  const unsigned cores = std::max(2u, std::thread::hardware_concurrency());
  std::counting_semaphore<64> slots(static_cast<ptrdiff_t>(std::min(cores - 1, 8u)));
  std::vector<std::future<std::vector<media::PacketPtr>>> workers(runs.size());
  auto copy_next = [&](size_t i) { return i + 1 < runs.size() && !runs[i + 1].encode; };
  auto start_workers = [&](size_t after) {
    for (size_t j = after + 1; j < runs.size(); ++j) {
      if (!runs[j].encode) continue;
      const Piece& src = *runs[j].piece;
      auto piece = std::make_unique<Piece>();
      piece->in = reopen(*src.in);
      piece->rec = src.rec, piece->first = src.first, piece->last = src.last, piece->out_offset = src.out_offset;
      piece->otb = src.otb;
      Piece* pp = reopened.emplace_back(std::move(piece)).get();
      const size_t from = runs[j].from, to = runs[j].to;
      const bool eos = copy_next(j);
      workers[j] = std::async(std::launch::async, [&rejoin, &slots, pp, from, to, eos] {
        behind_the_head();
        slots.acquire();
        struct Release {
          std::counting_semaphore<64>& s;
          ~Release() { s.release(); }
        } release{slots};
        return rejoin->encode(*pp, from, to, eos);
      });
    }
  };
  for (size_t i = 0; i < runs.size(); ++i) {
    if (!runs[i].encode) continue;
    rejoin.emplace(*ref->in, ctx);
    runs[i].packets = rejoin->encode(*runs[i].piece, runs[i].from, runs[i].to, copy_next(i), [&] { start_workers(i); });
    break;
  }
  // HEVC files with parameter sets other than the first's: copied in-band too.
  for (size_t i = 0; i < plan.pieces.size() && !rejoin; ++i)
    if (copyable[i] && !same_extradata(*plan.pieces[i].in, *ref->in)) rejoin.emplace(*ref->in, ctx);
  ctx.log->debug("{} ms: first re-encoded run done", ms());
  int64_t reencoded = 0;
  for (const Run& run : runs)
    if (run.encode) reencoded += static_cast<int64_t>(run.to - run.from + 1);
  if (reencoded > 0)
    ctx.log->info("smart cut: {} frame(s) re-encoded, {} copied", reencoded, plan.frames() - reencoded);
  std::vector<int64_t> order;
  for (const Run& run : runs) run_pts(run, order);
  if (static_cast<int64_t>(order.size()) != plan.frames())
    throw IoError("internal: the clip's runs hold " + std::to_string(order.size()) + " of " +
                  std::to_string(plan.frames()) + " frames");
  const std::vector<int64_t> dts = decode_times(order);
  const AVCodecParameters* vpar = rejoin ? rejoin->par() : ref->in->vst()->codecpar;
  mux.add_stream(vpar, vtb, p0.in->fps, rejoin ? rejoin->tag() : 0);
  EncodedAudio audio;
  if (audio_fut.valid()) audio = audio_fut.get();
  if (audio.par) mux.add_stream(audio.par.get(), audio.tb);
  mux.start(meta_for(scan, plan, to_string(camera)), plan.frames() + static_cast<int64_t>(audio.packets.size()));
  if (audio.par) mux.queue(std::move(audio.packets), 1);
  r.audio = audio.par != nullptr;
  Progress bar(ctx, "copying", static_cast<uint64_t>(plan.frames()));
  size_t n = 0;
  auto put = [&](AVPacket* pkt) {
    pkt->dts = dts[n];
    mux.write(pkt, 0);
    if ((++n & 31) == 0) bar.update(static_cast<uint64_t>(n));
  };
  for (size_t i = 0; i < runs.size(); ++i) {
    Run& run = runs[i];
    const Input& in = *run.piece->in;
    const auto before = static_cast<int64_t>(n);
    if (run.encode) {
      if (workers[i].valid()) {
        if (workers[i].wait_for(std::chrono::seconds(0)) != std::future_status::ready) mux.writeback();
        run.packets = workers[i].get();
      }
      for (auto& pkt : run.packets) put(pkt.get());
      r.runs.push_back({in.file, false, before, static_cast<int64_t>(n) - before, static_cast<int64_t>(run.from),
                        static_cast<int64_t>(run.to)});
      continue;
    }
    // HEVC: a copy followed by re-encoded pictures (x265's parameter sets)
    // or by another file's copy with other parameter sets ends its coded
    // video sequence, so that the next picture starts one with its own
    // (FFmpeg's decoder keeps the colour description of the sequence it is
    // in): its last packet is held back for an end-of-sequence NAL.
    const bool ends_sequence =
        rejoin && rejoin->hevc() && i + 1 < runs.size() &&
        (runs[i + 1].encode || (runs[i + 1].piece != run.piece && !same_extradata(*runs[i + 1].piece->in, in)));
    media::PacketPtr held;
    bool first = true;
    copy_packets({{run.piece, run.from, run.to}}, ctx, [&](AVPacket* pkt) {
      if (first && rejoin) rejoin->prefix_copied(in, pkt);
      first = false;
      if (!ends_sequence) return put(pkt);
      if (held) put(held.get());
      held.reset(av_packet_clone(pkt));
      if (!held) throw IoError("out of memory");
    });
    if (held) {
      rejoin->end_sequence(held.get());
      put(held.get());
    }
    r.runs.push_back({in.file, true, before, static_cast<int64_t>(n) - before,
                      static_cast<int64_t>(in.frames[run.from].dec), static_cast<int64_t>(in.max_dec(run.from, run.to))});
  }
  bar.finish();
  r.reencoded_frames = reencoded;
  ctx.log->debug("{} ms: every packet written", ms());
  r.bytes = mux.finish();
  ctx.log->debug("{} ms: clip written", ms());
  return r;
}

ClipResult make_composite(const CardScan& scan, LocalTime from, LocalTime to, Layout layout, const fs::path& out,
                          const Context& ctx, const ClipOptions& o) {
  if (layout == Layout::None) throw UsageError("no layout given for a composite clip");
  if (o.overlay.any() && o.mode == Mode::Copy)
    throw UsageError("--overlay draws on the picture: --copy cannot", "drop --copy (the clip is re-encoded)");
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
  media::CodecContextPtr enc = open_encoder(s, output_codec(o, *road.pieces.front().in));
  std::future<EncodedAudio> audio_fut = start_audio(cabin, o, ctx, out);
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
  auto painter = painter_for(scan, road, o, W, H, rw, rh);
  int64_t rts = 0, its = 0, n = 0;
  size_t ridx = 0;
  AVFrame* inext = ir.next(&its);
  bool have_i = false;
  Progress bar(ctx, "composing", static_cast<uint64_t>(road.frames()));
  // Both timelines start at the clip's start; the interior frame shown is
  // the latest one at or before the road frame's time.
  const AVRational itb = cabin.vtb();
  while (AVFrame* rf = rr.next(&rts, &ridx)) {
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
    AVFrame* pic = painter ? painter->draw(canvas.get(), capture_time(road, rts, ridx)) : canvas.get();
    pic->pts = rts;
    pic->pict_type = AV_PICTURE_TYPE_NONE;
    encode(enc.get(), pic, sink);
    bar.update(static_cast<uint64_t>(++n));
  }
  encode(enc.get(), nullptr, sink);
  bar.finish();
  ClipResult res = result_for(road, out, Mode::Reencode, from, to);
  res.camera = to_string(layout);
  for (const Piece& p : cabin.pieces) res.sources.push_back(p.in->file);
  res.frames = n;
  res.reencoded_frames = n;
  res.audio = audio.par != nullptr;
  res.bytes = mux.finish();
  return res;
}

}  // namespace nex::cut
