// nexcut http://CAM --live: the camera's live view (MJPEG over HTTP,
// docs/camera-api.md) recorded into an H.264 MP4 for a set duration. Each
// frame keeps the time it arrived (a variable frame rate, as the link
// delivers it); the camera burns its clock into every frame.
extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libswscale/swscale.h>
}

#include <algorithm>
#include <chrono>

#include "cut/internal.hpp"
#include "nex/cut.hpp"
#include "nex/error.hpp"
#include "nex/source.hpp"

namespace nex::cut {

using namespace detail;

ClipResult record_live(const LiveOptions& o, const Context& ctx) {
  if (!is_camera_url(o.camera)) throw UsageError("--live records a camera's live view", "CARD is http://HOST[:PORT]");
  if (o.duration_ms <= 0) throw UsageError("--live needs --duration", "e.g. --duration 30s");
  if (o.duration_ms > 24ll * 3600 * 1000) throw UsageError("--duration over 24h");
  check_output(o.output, o.overwrite);
  // Who answers (an InputError when it is not a nex camera), and its clock.
  std::unique_ptr<Source> src = nex::open_source(o.camera, ctx);
  auto& cam = dynamic_cast<CameraSource&>(*src);
  const CameraInfo info = cam.info();
  std::string base = o.camera;
  while (!base.empty() && base.back() == '/') base.pop_back();
  const std::string which = o.which == Camera::Interior ? "interior" : "road";
  const std::string url = base + "/live.mjpg?camera=" + which;

  media::quiet_ffmpeg_logs();
  AVFormatContext* raw = nullptr;
  media::Dict opts;
  opts.set("rw_timeout", "10000000");  // 10 s without a byte: the camera is gone
  const AVInputFormat* mpjpeg = av_find_input_format("mpjpeg");
  if (!mpjpeg) throw IoError("this FFmpeg cannot read MJPEG over HTTP (no mpjpeg demuxer)");
  const int err = avformat_open_input(&raw, url.c_str(), mpjpeg, opts.out());
  if (err < 0) {
    if (which == "interior" && !info.model_name.empty())
      throw InputError("no live view of the " + which + " camera at " + url + ": " + media::av_error_text(err),
                       info.model_name + " may have no interior camera");
    throw InputError("cannot open the live view at " + url + ": " + media::av_error_text(err));
  }
  media::InputFormatPtr in(raw);
  media::check_av(avformat_find_stream_info(in.get(), nullptr), "read the live view at " + url);
  const int vi = av_find_best_stream(in.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (vi < 0) throw InputError(url + " carries no video");
  const AVCodecParameters* vpar = in->streams[vi]->codecpar;
  const AVCodec* dec_codec = avcodec_find_decoder(vpar->codec_id);
  if (!dec_codec) throw InputError(url + ": no decoder for " + std::string(avcodec_get_name(vpar->codec_id)));
  media::CodecContextPtr dec(avcodec_alloc_context3(dec_codec));
  if (!dec) throw IoError("out of memory");
  media::check_av(avcodec_parameters_to_context(dec.get(), vpar), "live view decoder");
  media::check_av(avcodec_open2(dec.get(), dec_codec, nullptr), "live view decoder");

  // Frame times since the first frame, on a 1/30 s grid: each frame keeps
  // the tick it arrived in (the next free one when two arrive in the same
  // tick: a burst after a stall on a busy link). Times in ms made players
  // that resample to a guessed frame rate (the ffmpeg command line) give two
  // frames a few ms apart the same time stamp.
  const AVRational tb{1, 30};
  EncoderSetup s;
  s.width = vpar->width & ~1;
  s.height = vpar->height & ~1;
  if (s.width <= 0 || s.height <= 0) throw InputError(url + ": the live view has no picture size");
  s.time_base = tb;
  s.fps = {30, 1};  // an upper bound for rate control; the frames keep their own times
  s.gop = 30;
  s.crf = 23;
  s.range = AVCOL_RANGE_MPEG;
  s.space = AVCOL_SPC_BT709;
  s.primaries = AVCOL_PRI_BT709;
  s.trc = AVCOL_TRC_BT709;
  media::CodecContextPtr enc = open_x264(s);
  CodecParPtr par(avcodec_parameters_alloc());
  if (!par) throw IoError("out of memory");
  media::check_av_io(avcodec_parameters_from_context(par.get(), enc.get()), "codec parameters");

  ClipResult r;
  r.file = o.output;
  r.camera = which;
  r.mode = Mode::Reencode;
  Muxer mux(o.output, o.overwrite);
  mux.add_stream(par.get(), tb, {0, 1});
  MuxMeta meta;
  meta.utc_offset_min = info.utc_offset_min;
  if (auto t = parse_iso(info.clock.substr(0, 19))) meta.start = *t;
  meta.make = "Nexar";
  meta.model = info.model_name;
  meta.comment = "live view of the " + which + " camera, " + info.serial;
  // Room in the moov for up to 30 frames a second.
  mux.start(meta, o.duration_ms * 30 / 1000 + 30);
  auto sink = [&](AVPacket* p) { mux.write(p, 0); };

  media::SwsPtr sws;
  media::FramePtr yuv(av_frame_alloc()), frame(av_frame_alloc());
  media::PacketPtr pkt(av_packet_alloc());
  if (!yuv || !frame || !pkt) throw IoError("out of memory");
  yuv->format = AV_PIX_FMT_YUV420P;
  yuv->width = s.width;
  yuv->height = s.height;
  media::check_av_io(av_frame_get_buffer(yuv.get(), 0), "frame buffer");

  using clock = std::chrono::steady_clock;
  std::optional<clock::time_point> t0;
  int64_t last_tick = -1;
  Progress bar(ctx, "live", static_cast<uint64_t>(o.duration_ms));
  bool done = false;
  while (!done) {
    ctx.check_interrupt();
    const int rd = av_read_frame(in.get(), pkt.get());
    if (rd < 0) {
      if (r.frames == 0) throw InputError("the live view at " + url + " ended before its first frame");
      throw InputError("the live view at " + url + " stopped after " + std::to_string(r.frames) +
                           " frames: " + media::av_error_text(rd),
                       "nothing was written; try again closer to the camera");
    }
    const bool ours = pkt->stream_index == vi;
    if (ours) media::check_av(avcodec_send_packet(dec.get(), pkt.get()), "decode the live view");
    av_packet_unref(pkt.get());
    if (!ours) continue;
    while (!done && avcodec_receive_frame(dec.get(), frame.get()) == 0) {
      const auto now = clock::now();
      if (!t0) t0 = now;
      int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(now - *t0).count();
      if (ms >= o.duration_ms) {
        done = true;
        break;
      }
      int64_t tick = (ms * tb.den + 500) / 1000;
      if (tick <= last_tick) tick = last_tick + 1;  // two frames in one tick: keep them in order
      last_tick = tick;
      sws.reset(sws_getCachedContext(sws.release(), frame->width, frame->height,
                                     static_cast<AVPixelFormat>(frame->format), s.width, s.height, AV_PIX_FMT_YUV420P,
                                     SWS_BICUBIC, nullptr, nullptr, nullptr));
      if (!sws) throw InputError("cannot convert the live view's pixel format");
      media::check_av_io(av_frame_make_writable(yuv.get()), "frame buffer");
      sws_scale(sws.get(), frame->data, frame->linesize, 0, frame->height, yuv->data, yuv->linesize);
      yuv->pts = tick;
      yuv->pict_type = AV_PICTURE_TYPE_NONE;
      encode(enc.get(), yuv.get(), sink);
      ++r.frames;
      bar.update(static_cast<uint64_t>(ms));
      av_frame_unref(frame.get());
    }
  }
  encode(enc.get(), nullptr, sink);
  bar.finish();
  r.reencoded_frames = r.frames;
  r.start = meta.start;
  r.end = meta.start + o.duration_ms;
  r.requested_from = r.start;
  r.requested_to = r.end;
  r.bytes = mux.finish();
  ctx.log->info("live {}: {} frames in {} ms from {}", which, r.frames, o.duration_ms, url);
  return r;
}

}  // namespace nex::cut
