// read_frame_stamps: decode every video frame and read its burnt-in timecode.
//
// pts_ms is the frame's best-effort presentation timestamp exactly as
// FFmpeg's demuxer presents the stream, converted to milliseconds rounding
// down (so frame n of a 30 fps stream starting at 0 has n*1000/30 in integer
// ms, the same convention as the timecode). Edit lists are applied by the
// demuxer: frames an edit list hides are not returned and the first shown
// frame normally has pts 0. The stream's start_time is NOT subtracted, so a
// stream that really starts late (e.g. MPEG-TS) keeps its offset.
#include <vector>

extern "C" {
#include <libavutil/pixdesc.h>
}

#include "media/ffmpeg_util.hpp"
#include "nex/footage.hpp"
#include "nex/timecode.hpp"

namespace fs = std::filesystem;

namespace nex {
namespace {

// Luma is usable in place when it is an 8-bit plane of its own.
bool plain_8bit_luma(int format) {
  const AVPixFmtDescriptor* d = av_pix_fmt_desc_get(static_cast<AVPixelFormat>(format));
  if (!d || (d->flags & (AV_PIX_FMT_FLAG_RGB | AV_PIX_FMT_FLAG_PAL | AV_PIX_FMT_FLAG_HWACCEL | AV_PIX_FMT_FLAG_BITSTREAM)))
    return false;
  if (d->comp[0].depth != 8 || d->comp[0].plane != 0 || d->comp[0].step != 1) return false;
  return d->nb_components == 1 || (d->flags & AV_PIX_FMT_FLAG_PLANAR);
}

}  // namespace

std::vector<FrameStamp> read_frame_stamps(const fs::path& file) {
  media::InputFormatPtr in = media::open_input(file);
  const int vi = av_find_best_stream(in.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (vi < 0) throw InputError(file.string() + ": no video stream");
  AVStream* st = in->streams[vi];
  for (unsigned i = 0; i < in->nb_streams; ++i)
    if (static_cast<int>(i) != vi) in->streams[i]->discard = AVDISCARD_ALL;

  const AVCodec* codec = avcodec_find_decoder(st->codecpar->codec_id);
  if (!codec) throw InputError(file.string() + ": no decoder for " + avcodec_get_name(st->codecpar->codec_id));
  media::CodecContextPtr dec(avcodec_alloc_context3(codec));
  if (!dec) throw IoError("out of memory");
  media::check_av(avcodec_parameters_to_context(dec.get(), st->codecpar), file.string() + ": decoder parameters");
  dec->pkt_timebase = st->time_base;
  dec->thread_count = 2;
  dec->thread_type = FF_THREAD_FRAME | FF_THREAD_SLICE;
  media::check_av(avcodec_open2(dec.get(), codec, nullptr), file.string() + ": open decoder");

  std::vector<FrameStamp> out;
  media::PacketPtr pkt(av_packet_alloc());
  media::FramePtr frame(av_frame_alloc());
  media::FramePtr gray(av_frame_alloc());
  if (!pkt || !frame || !gray) throw IoError("out of memory");
  media::SwsPtr sws;

  auto take = [&](AVFrame* f) {
    FrameStamp s;
    int64_t ts = f->best_effort_timestamp;
    if (ts == AV_NOPTS_VALUE) ts = f->pts;
    if (ts == AV_NOPTS_VALUE) ts = f->pkt_dts;
    if (ts != AV_NOPTS_VALUE)
      s.pts_ms = av_rescale_q_rnd(ts, st->time_base, AVRational{1, 1000},
                                  static_cast<AVRounding>(AV_ROUND_DOWN | AV_ROUND_PASS_MINMAX));
    s.key = f->key_frame != 0;
    if (plain_8bit_luma(f->format)) {
      s.timecode_ms = timecode::read(f->data[0], f->linesize[0], f->width, f->height);
    } else {
      sws.reset(sws_getCachedContext(sws.release(), f->width, f->height, static_cast<AVPixelFormat>(f->format),
                                     f->width, f->height, AV_PIX_FMT_GRAY8, SWS_POINT, nullptr, nullptr, nullptr));
      if (!sws) throw InputError(file.string() + ": cannot convert the frame's pixel format");
      if (gray->width != f->width || gray->height != f->height) {
        av_frame_unref(gray.get());
        gray->format = AV_PIX_FMT_GRAY8;
        gray->width = f->width;
        gray->height = f->height;
        media::check_av_io(av_frame_get_buffer(gray.get(), 0), "frame buffer");
      }
      sws_scale(sws.get(), f->data, f->linesize, 0, f->height, gray->data, gray->linesize);
      s.timecode_ms = timecode::read(gray->data[0], gray->linesize[0], f->width, f->height);
    }
    out.push_back(s);
  };
  auto drain = [&]() {
    for (;;) {
      const int ret = avcodec_receive_frame(dec.get(), frame.get());
      if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return;
      if (ret == AVERROR_INVALIDDATA) continue;
      media::check_av(ret, file.string() + ": decode");
      take(frame.get());
      av_frame_unref(frame.get());
    }
  };

  for (;;) {
    const int ret = av_read_frame(in.get(), pkt.get());
    if (ret == AVERROR_EOF) break;
    if (ret < 0) media::throw_av(ret, file.string() + ": read");
    if (pkt->stream_index == vi) {
      int sr;
      while ((sr = avcodec_send_packet(dec.get(), pkt.get())) == AVERROR(EAGAIN)) drain();
      av_packet_unref(pkt.get());
      // A damaged packet (e.g. a cut that starts mid-GOP) is skipped, as
      // players do; anything else is an error.
      if (sr < 0 && sr != AVERROR_INVALIDDATA) media::throw_av(sr, file.string() + ": decode");
      drain();
    } else {
      av_packet_unref(pkt.get());
    }
  }
  media::check_av(avcodec_send_packet(dec.get(), nullptr), file.string() + ": decode");
  drain();
  return out;
}

}  // namespace nex
