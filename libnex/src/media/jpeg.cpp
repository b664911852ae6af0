// Still JPEGs of the synthetic scene (see jpeg.hpp). Rendered in limited-range
// YUV like the video, timecode drawn, then expanded to full range for JPEG.
#include "media/jpeg.hpp"

#include <algorithm>

#include "media/ffmpeg_util.hpp"
#include "media/synth.hpp"
#include "nex/error.hpp"
#include "nex/timecode.hpp"

namespace nex::media {

struct StillRenderer::Impl {
  VideoSynth synth;
  int w, h;
  Impl(Camera c, bool night, int width, int height) : synth(c, night, width, height), w(width), h(height) {}
};

StillRenderer::StillRenderer(Camera camera, bool night, int width, int height)
    : impl_(std::make_unique<Impl>(camera, night, width, height)) {}

StillRenderer::~StillRenderer() = default;

std::string StillRenderer::render(int64_t frame_index, std::optional<uint32_t> timecode_ms, int qscale) const {
  quiet_ffmpeg_logs();
  const int w = impl_->w, h = impl_->h;
  FramePtr frame(av_frame_alloc());
  if (!frame) throw IoError("out of memory");
  frame->format = AV_PIX_FMT_YUVJ420P;
  frame->width = w;
  frame->height = h;
  frame->color_range = AVCOL_RANGE_JPEG;
  check_av_io(av_frame_get_buffer(frame.get(), 0), "frame buffer");
  Canvas c;
  for (int k = 0; k < 3; ++k) {
    c.data[k] = frame->data[k];
    c.linesize[k] = frame->linesize[k];
  }
  c.width = w;
  c.height = h;
  impl_->synth.render(frame_index, 30, c);
  if (timecode_ms) timecode::draw(frame->data[0], frame->linesize[0], w, h, *timecode_ms);
  for (int k = 0; k < 3; ++k) {
    const int pw = k ? (w + 1) / 2 : w, ph = k ? (h + 1) / 2 : h;
    for (int y = 0; y < ph; ++y) {
      uint8_t* row = frame->data[k] + static_cast<ptrdiff_t>(y) * frame->linesize[k];
      for (int x = 0; x < pw; ++x) {
        const int v = row[x];
        const int full = k ? ((v - 128) * 255 + 112) / 224 + 128 : ((v - 16) * 255 + 109) / 219;
        row[x] = static_cast<uint8_t>(std::clamp(full, 0, 255));
      }
    }
  }

  const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
  if (!codec) throw IoError("FFmpeg has no mjpeg encoder");
  CodecContextPtr enc(avcodec_alloc_context3(codec));
  if (!enc) throw IoError("out of memory");
  enc->width = w;
  enc->height = h;
  enc->pix_fmt = AV_PIX_FMT_YUVJ420P;
  enc->color_range = AVCOL_RANGE_JPEG;
  enc->time_base = {1, 30};
  enc->flags |= AV_CODEC_FLAG_BITEXACT | AV_CODEC_FLAG_QSCALE;
  enc->global_quality = std::clamp(qscale, 2, 31) * FF_QP2LAMBDA;
  enc->thread_count = 1;
  check_av_io(avcodec_open2(enc.get(), codec, nullptr), "open mjpeg encoder");
  frame->quality = enc->global_quality;
  frame->pts = 0;
  check_av_io(avcodec_send_frame(enc.get(), frame.get()), "encode jpeg");
  check_av_io(avcodec_send_frame(enc.get(), nullptr), "encode jpeg");
  PacketPtr pkt(av_packet_alloc());
  if (!pkt) throw IoError("out of memory");
  check_av_io(avcodec_receive_packet(enc.get(), pkt.get()), "encode jpeg");
  return std::string(reinterpret_cast<const char*>(pkt->data), static_cast<size_t>(pkt->size));
}

std::string render_still_jpeg(const StillOptions& o) {
  return StillRenderer(o.camera, o.night, o.width, o.height).render(o.frame_index, o.timecode_ms, o.qscale);
}

}  // namespace nex::media
