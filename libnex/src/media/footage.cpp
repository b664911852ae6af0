// Stream profiles, the template cache and the template encoder.
//
// A template is one segment's worth of synthetic frames, encoded once with
// libx264 (plus FFmpeg's native AAC encoder for the interior camera) into an
// MP4 whose moov follows the mdat, as a camera writes it. Encoder settings
// are chosen for speed and determinism: ultrafast-based, fixed thread count,
// no B-frames, an IDR every `gop` frames and no scene-cut IDRs, 1-pass ABR
// under a VBV (maxrate 1.2x, buffer 2x) so the size stays near the target.
//
// Other cameras' formats (nexsim init --codec/--fps/--bframes/--gop/
// --container): HEVC Main with libx265 ('hvc1'), a fixed run of B-frames
// (b-adapt off, closed GOPs, so every keyframe is an IDR at its place), any
// of the usual frame rates (29.97 = 30000/1001: frame k at k*1001/30000 s),
// and QuickTime MOV with PCM s16le audio ('sowt') as Novatek-based cameras
// write. The default profiles' settings and bytes are unchanged.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <vector>

extern "C" {
#include <libavutil/channel_layout.h>
#include <libavutil/opt.h>
}

#include "media/ffmpeg_util.hpp"
#include "media/media_files.hpp"
#include "media/synth.hpp"
#include "nex/error.hpp"
#include "nex/footage.hpp"
#include "nex/fsutil.hpp"
#include "nex/timecode.hpp"

namespace fs = std::filesystem;

namespace nex {
namespace {

// Bump whenever the synthesized picture/sound or the encoder settings change:
// it is part of every cache key, so old templates are simply not used again.
constexpr int kTemplateFormatVersion = 1;

// ultrafast plus CABAC, 8x8 transforms and the in-loop deblocking filter: a
// High-profile stream like a camera's at ~1.7x superfast's speed (measured
// on 2 shared cores, 1080p at 8 Mbit/s: ~105 fps vs ~60 fps). Tools that
// re-encode a head for a smart cut must match these (CABAC, 8x8dct, deblock,
// High profile, 4 slices) to keep SPS/PPS compatible.
constexpr const char* kX264Preset = "ultrafast";
constexpr const char* kX264Params = "scenecut=0:open-gop=0:aud=0:cabac=1:8x8dct=1:deblock=1";
// Sliced threads, a fixed number: x264's output depends on the slice count,
// and frame threads are not deterministic together with VBV (row-level VBV
// looks at frames still in flight; measured: three runs, three outputs).
// Four slices per frame, like many camera encoders; identical bytes every run.
constexpr int kX264Threads = 4;
constexpr int kVideoTimescale = 90000;
// x265: ultrafast with a fixed GOP and B-frame run; one frame thread and a
// two-thread pool (wavefront rows), which keeps the output identical run to
// run (frame threads with VBV are not deterministic, as with x264).
constexpr const char* kX265Preset = "ultrafast";
constexpr int kAudioRate = 48000;

void validate(const StreamProfile& p) {
  auto bad = [](const std::string& why) { throw InputError("invalid stream profile: " + why); };
  if (p.width < 64 || p.height < 64 || p.width % 2 || p.height % 2 || p.width > 8192 || p.height > 8192)
    bad("size " + std::to_string(p.width) + "x" + std::to_string(p.height));
  if (p.fps <= 0 || p.fps_den <= 0 || p.fps > 240 * static_cast<int64_t>(p.fps_den))
    bad("fps " + format_frame_rate(p.frame_rate()));
  if (p.gop <= 0) bad("gop " + std::to_string(p.gop));
  if (p.bframes < 0 || p.bframes > kMaxBframes || (p.bframes > 0 && p.bframes >= p.gop))
    bad(std::to_string(p.bframes) + " B-frames with a GOP of " + std::to_string(p.gop));
  if (p.video_bitrate < 10'000) bad("video bitrate " + std::to_string(p.video_bitrate));
  if (p.audio && (p.audio_bitrate < 8'000 || p.audio_bitrate > 512'000))
    bad("audio bitrate " + std::to_string(p.audio_bitrate));
  if (p.length_ms <= 0 || p.length_ms > 3'600'000) bad("length " + std::to_string(p.length_ms) + " ms");
}

class TemplateEncoder {
 public:
  TemplateEncoder(const StreamProfile& p, const fs::path& out) : p_(p), out_(out) {}

  void run(const std::function<void(double)>& progress) {
    open();
    const int64_t frames = p_.frame_count();
    const int64_t total_samples = p_.length_ms * kAudioRate / 1000;
    media::VideoSynth synth(p_.camera, p_.night, p_.width, p_.height);
    for (int64_t i = 0; i < frames; ++i) {
      if (p_.audio)
        encode_audio_until(std::min(total_samples, (i + 1) * kAudioRate * p_.fps_den / p_.fps), total_samples);
      media::check_av_io(av_frame_make_writable(vframe_.get()), "x264 frame");
      media::Canvas c;
      for (int k = 0; k < 3; ++k) {
        c.data[k] = vframe_->data[k];
        c.linesize[k] = vframe_->linesize[k];
      }
      c.width = p_.width;
      c.height = p_.height;
      synth.render(i, p_.fps, p_.fps_den, c);
      timecode::draw(vframe_->data[0], vframe_->linesize[0], p_.width, p_.height,
                     static_cast<uint32_t>(p_.frame_ms(i)));
      neutral_strip_chroma();
      vframe_->pts = i;
      send(venc_.get(), vframe_.get(), vstream_);
      if (progress) progress(static_cast<double>(i + 1) / static_cast<double>(frames + 1));
    }
    if (p_.audio) {
      encode_audio_until(total_samples, total_samples);
      send(aenc_.get(), nullptr, astream_);
    }
    send(venc_.get(), nullptr, vstream_);
    media::check_av_io(av_write_trailer(oc_.get()), "write " + out_.string());
    media::check_av_io(avio_closep(&oc_->pb), "close " + out_.string());
    if (progress) progress(1.0);
  }

 private:
  void open() {
    media::quiet_ffmpeg_logs();
    AVFormatContext* raw = nullptr;
    const bool mov = p_.container == Container::Mov;
    media::check_av_io(avformat_alloc_output_context2(&raw, nullptr, mov ? "mov" : "mp4", nullptr),
                       mov ? "mov muxer" : "mp4 muxer");
    oc_.reset(raw);
    oc_->flags |= AVFMT_FLAG_BITEXACT;

    const bool hevc = p_.codec == VideoCodec::Hevc;
    const AVCodec* vc = avcodec_find_encoder_by_name(hevc ? "libx265" : "libx264");
    if (!vc)
      throw IoError(std::string("FFmpeg has no ") + (hevc ? "libx265" : "libx264") + " encoder",
                    "install libavcodec with libx264 and libx265 (Debian: libavcodec59)");
    venc_.reset(avcodec_alloc_context3(vc));
    if (!venc_) throw IoError("out of memory");
    AVCodecContext* v = venc_.get();
    v->width = p_.width;
    v->height = p_.height;
    v->pix_fmt = AV_PIX_FMT_YUV420P;
    v->time_base = {p_.fps_den, p_.fps};
    v->framerate = {p_.fps, p_.fps_den};
    v->sample_aspect_ratio = {1, 1};
    v->gop_size = p_.gop;
    v->keyint_min = p_.gop;
    v->max_b_frames = p_.bframes;
    v->bit_rate = p_.video_bitrate;
    v->rc_max_rate = p_.video_bitrate * 6 / 5;
    v->rc_buffer_size = static_cast<int>(std::min<int64_t>(p_.video_bitrate * 2, INT32_MAX));
    v->thread_count = kX264Threads;
    v->thread_type = FF_THREAD_SLICE;
    v->color_range = AVCOL_RANGE_MPEG;
    v->colorspace = AVCOL_SPC_BT709;
    v->color_primaries = AVCOL_PRI_BT709;
    v->color_trc = AVCOL_TRC_BT709;
    v->flags |= AV_CODEC_FLAG_BITEXACT;
    if (oc_->oformat->flags & AVFMT_GLOBALHEADER) v->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    if (hevc) {
      const std::string params = "keyint=" + std::to_string(p_.gop) + ":min-keyint=" + std::to_string(p_.gop) +
                                 ":scenecut=0:open-gop=0:bframes=" + std::to_string(p_.bframes) +
                                 ":b-adapt=0:frame-threads=1:pools=2:wpp=1:info=0:log-level=error";
      av_opt_set(v->priv_data, "preset", kX265Preset, 0);
      av_opt_set(v->priv_data, "x265-params", params.c_str(), 0);
    } else {
      av_opt_set(v->priv_data, "preset", kX264Preset, 0);
      av_opt_set(v->priv_data, "profile", "high", 0);
      av_opt_set(v->priv_data, "x264-params", kX264Params, 0);
    }
    media::check_av_io(avcodec_open2(v, vc, nullptr), hevc ? "open libx265" : "open libx264");
    vstream_ = avformat_new_stream(oc_.get(), nullptr);
    if (!vstream_) throw IoError("out of memory");
    media::check_av_io(avcodec_parameters_from_context(vstream_->codecpar, v), "video parameters");
    if (hevc) vstream_->codecpar->codec_tag = MKTAG('h', 'v', 'c', '1');  // parameter sets in the sample entry
    vstream_->time_base = {1, kVideoTimescale};
    vstream_->avg_frame_rate = {p_.fps, p_.fps_den};

    vframe_.reset(av_frame_alloc());
    if (!vframe_) throw IoError("out of memory");
    vframe_->format = AV_PIX_FMT_YUV420P;
    vframe_->width = p_.width;
    vframe_->height = p_.height;
    vframe_->color_range = AVCOL_RANGE_MPEG;
    media::check_av_io(av_frame_get_buffer(vframe_.get(), 0), "frame buffer");

    if (p_.audio) {
      const char* aname = pcm_audio() ? "pcm_s16le" : "aac";
      const AVCodec* ac = avcodec_find_encoder_by_name(aname);
      if (!ac) throw IoError(std::string("FFmpeg has no ") + aname + " encoder");
      aenc_.reset(avcodec_alloc_context3(ac));
      if (!aenc_) throw IoError("out of memory");
      AVCodecContext* a = aenc_.get();
      a->sample_fmt = pcm_audio() ? AV_SAMPLE_FMT_S16 : AV_SAMPLE_FMT_FLTP;
      a->sample_rate = kAudioRate;
      const AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
      media::check_av_io(av_channel_layout_copy(&a->ch_layout, &mono), "channel layout");
      if (!pcm_audio()) {
        a->bit_rate = p_.audio_bitrate;
        a->profile = FF_PROFILE_AAC_LOW;
      }
      a->time_base = {1, kAudioRate};
      a->flags |= AV_CODEC_FLAG_BITEXACT;
      if (oc_->oformat->flags & AVFMT_GLOBALHEADER) a->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
      media::check_av_io(avcodec_open2(a, ac, nullptr), std::string("open ") + aname + " encoder");
      astream_ = avformat_new_stream(oc_.get(), nullptr);
      if (!astream_) throw IoError("out of memory");
      media::check_av_io(avcodec_parameters_from_context(astream_->codecpar, a), "audio parameters");
      astream_->time_base = {1, kAudioRate};

      aframe_.reset(av_frame_alloc());
      if (!aframe_) throw IoError("out of memory");
      asynth_ = std::make_unique<media::AudioSynth>(kAudioRate);
    }

    media::check_av_io(avio_open(&oc_->pb, media::ffmpeg_url(out_).c_str(), AVIO_FLAG_WRITE),
                       "create " + out_.string());
    media::check_av_io(avformat_write_header(oc_.get(), nullptr), "write " + out_.string());
    pkt_.reset(av_packet_alloc());
    if (!pkt_) throw IoError("out of memory");
  }

  void encode_audio_until(int64_t until, int64_t total) {
    const int frame_size = aenc_->frame_size > 0 ? aenc_->frame_size : 1024;
    for (;;) {
      // Whole frames that end by `until`; only the template's last frame is short.
      const int64_t left = total - samples_;
      if (left <= 0) break;
      const int n = static_cast<int>(std::min<int64_t>(frame_size, left));
      if (samples_ + n > until) break;
      av_frame_unref(aframe_.get());
      aframe_->format = aenc_->sample_fmt;
      aframe_->sample_rate = kAudioRate;
      aframe_->nb_samples = n;
      const AVChannelLayout mono = AV_CHANNEL_LAYOUT_MONO;
      media::check_av_io(av_channel_layout_copy(&aframe_->ch_layout, &mono), "channel layout");
      media::check_av_io(av_frame_get_buffer(aframe_.get(), 0), "audio buffer");
      if (pcm_audio()) {
        pcm_.resize(static_cast<size_t>(n));
        asynth_->render(pcm_.data(), n);
        auto* dst = reinterpret_cast<int16_t*>(aframe_->data[0]);
        for (int k = 0; k < n; ++k) dst[k] = static_cast<int16_t>(std::lround(std::clamp(pcm_[k], -1.0f, 1.0f) * 32767.0f));
      } else {
        asynth_->render(reinterpret_cast<float*>(aframe_->data[0]), n);
      }
      aframe_->pts = samples_;
      samples_ += n;
      send(aenc_.get(), aframe_.get(), astream_);
    }
  }

  bool pcm_audio() const { return p_.container == Container::Mov; }

  // timecode::draw paints luma only; grey the chroma under its strip (the
  // strip is 38 x 4 blocks of width/80 px) so it looks black and white.
  void neutral_strip_chroma() {
    const double b = p_.width / 80.0;
    const int cw = std::min((static_cast<int>(std::lround(38 * b)) + 1) / 2, (p_.width + 1) / 2);
    const int ch = std::min((static_cast<int>(std::lround(4 * b)) + 1) / 2, (p_.height + 1) / 2);
    for (int k = 1; k < 3; ++k)
      for (int y = 0; y < ch; ++y) std::memset(vframe_->data[k] + static_cast<ptrdiff_t>(y) * vframe_->linesize[k], 128, cw);
  }

  // Send one frame (nullptr: flush) and mux every packet that comes out.
  void send(AVCodecContext* enc, AVFrame* frame, AVStream* st) {
    media::check_av_io(avcodec_send_frame(enc, frame), "encode");
    for (;;) {
      const int ret = avcodec_receive_packet(enc, pkt_.get());
      if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return;
      media::check_av_io(ret, "encode");
      pkt_->stream_index = st->index;
      if (pkt_->duration <= 0 && enc->codec_type == AVMEDIA_TYPE_VIDEO) pkt_->duration = 1;
      av_packet_rescale_ts(pkt_.get(), enc->time_base, st->time_base);
      media::check_av_io(av_interleaved_write_frame(oc_.get(), pkt_.get()), "write " + out_.string());
    }
  }

  const StreamProfile& p_;
  fs::path out_;
  media::OutputFormatPtr oc_;
  media::CodecContextPtr venc_, aenc_;
  AVStream* vstream_ = nullptr;
  AVStream* astream_ = nullptr;
  media::FramePtr vframe_, aframe_;
  media::PacketPtr pkt_;
  std::unique_ptr<media::AudioSynth> asynth_;
  int64_t samples_ = 0;
  std::vector<float> pcm_;
};

std::mutex& encode_mutex() {
  static std::mutex m;
  return m;
}

bool usable(const fs::path& file) {
  std::error_code ec;
  return fs::is_regular_file(file, ec) && fs::file_size(file, ec) > 0 && !ec;
}

}  // namespace

std::string StreamProfile::cache_key() const {
  std::string k = "nexfoot-v" + std::to_string(kTemplateFormatVersion);
  k += camera == Camera::Road ? "-road" : "-interior";
  k += night ? "-night" : "-day";
  k += "-" + std::to_string(width) + "x" + std::to_string(height);
  k += "-" + std::to_string(fps) + (fps_den != 1 ? "_" + std::to_string(fps_den) : "") + "fps";
  k += "-gop" + std::to_string(gop);
  k += "-v" + std::to_string(video_bitrate);
  k += !audio ? "-noaudio" : container == Container::Mov ? "-pcm" : "-aac";
  k += "-a" + std::to_string(audio_bitrate);
  k += "-" + std::to_string(length_ms) + "ms";
  // Fields added later appear only when they differ from the default, so
  // the default profiles keep their key (and existing caches stay valid).
  if (codec != VideoCodec::H264) k += std::string("-") + to_string(codec);
  if (bframes) k += "-b" + std::to_string(bframes);
  if (container != Container::Mp4) k += std::string("-") + to_string(container);
  return k;
}

std::string StreamProfile::template_name() const {
  return cache_key() + (container == Container::Mov ? ".mov" : ".mp4");
}

int64_t StreamProfile::frame_count() const {
  const int64_t per = 1000 * static_cast<int64_t>(fps_den);
  return (length_ms * fps + per - 1) / per;
}

int64_t StreamProfile::frame_ms(int64_t k) const { return k * 1000 * fps_den / fps; }

StreamProfile with_format(StreamProfile p, const RecordingFormat& f) {
  if (f.codec) p.codec = *f.codec;
  if (f.fps) {
    p.fps = f.fps->num;
    p.fps_den = f.fps->den;
  }
  if (f.bframes) p.bframes = *f.bframes;
  if (f.container) p.container = *f.container;
  // The models' keyframe interval is one second.
  if (f.fps || f.gop_ms) p.gop = gop_frames(f.gop_ms.value_or(1000), p.frame_rate());
  return p;
}

StreamProfile road_profile() {
  StreamProfile p;
  p.camera = Camera::Road;
  p.night = false;
  p.width = 1920;
  p.height = 1080;
  p.fps = 30;
  p.gop = 30;
  p.video_bitrate = 8'000'000;
  p.audio = false;
  p.audio_bitrate = 64'000;
  p.length_ms = 60'000;
  return p;
}

StreamProfile interior_profile(bool night) {
  StreamProfile p;
  p.camera = Camera::Interior;
  p.night = night;
  p.width = 1280;
  p.height = 720;
  p.fps = 30;
  p.gop = 30;
  p.video_bitrate = 3'000'000;
  p.audio = true;
  p.audio_bitrate = 64'000;
  p.length_ms = 60'000;
  return p;
}

fs::path default_cache_dir() {
  if (const char* e = std::getenv("NEX_CACHE_DIR"); e && *e) return fs::path(e);
  // XDG: a relative XDG_CACHE_HOME is invalid and must be ignored.
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x && fs::path(x).is_absolute())
    return fs::path(x) / "nex";
  if (const char* h = std::getenv("HOME"); h && *h) return fs::path(h) / ".cache" / "nex";
  return fs::temp_directory_path() / "nex-cache";
}

fs::path ensure_template(const StreamProfile& p, const fs::path& cache_dir,
                         const std::function<void(double)>& progress) {
  validate(p);
  const fs::path final_path = cache_dir / p.template_name();
  if (usable(final_path)) {
    if (progress) progress(1.0);
    return final_path;
  }
  // One encode at a time in this process (they are CPU-bound anyway); other
  // processes may race us, which is harmless: each writes its own temp file
  // and renames it over the (identical) result.
  std::lock_guard lock(encode_mutex());
  if (usable(final_path)) {
    if (progress) progress(1.0);
    return final_path;
  }
  std::error_code ec;
  fs::create_directories(cache_dir, ec);
  if (ec) throw IoError("cannot create cache directory " + cache_dir.string() + ": " + ec.message());
  const fs::path tmp = media::unique_temp_for(final_path);
  try {
    TemplateEncoder(p, tmp).run(progress);
    fsync_path(tmp);
    commit_rename(tmp, final_path);
  } catch (...) {
    fs::remove(tmp, ec);
    throw;
  }
  return final_path;
}

}  // namespace nex
