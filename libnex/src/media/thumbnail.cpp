// make_thumbnail_jpeg: a 320x180 still of the synthetic scene, encoded with
// FFmpeg's mjpeg encoder (bitexact), with an Exif APP1 segment built by
// libexif (media/exif.hpp) placed right after SOI, as a camera writes it.
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "media/exif.hpp"
#include "media/ffmpeg_util.hpp"
#include "media/synth.hpp"
#include "nex/error.hpp"
#include "nex/footage.hpp"
#include "nex/timeutil.hpp"

namespace nex {
namespace {

constexpr int kThumbW = 320;
constexpr int kThumbH = 180;

std::string encode_jpeg(bool night) {
  media::quiet_ffmpeg_logs();
  // Render in limited-range YUV (as the video) and expand to full range (JPEG).
  media::FramePtr frame(av_frame_alloc());
  if (!frame) throw IoError("out of memory");
  frame->format = AV_PIX_FMT_YUVJ420P;
  frame->width = kThumbW;
  frame->height = kThumbH;
  frame->color_range = AVCOL_RANGE_JPEG;
  media::check_av_io(av_frame_get_buffer(frame.get(), 0), "frame buffer");
  media::Canvas c;
  for (int k = 0; k < 3; ++k) {
    c.data[k] = frame->data[k];
    c.linesize[k] = frame->linesize[k];
  }
  c.width = kThumbW;
  c.height = kThumbH;
  media::VideoSynth synth(night ? Camera::Interior : Camera::Road, night, kThumbW, kThumbH);
  synth.render(0, 30, c);
  for (int k = 0; k < 3; ++k) {
    const int w = k ? (kThumbW + 1) / 2 : kThumbW, h = k ? (kThumbH + 1) / 2 : kThumbH;
    for (int y = 0; y < h; ++y) {
      uint8_t* row = frame->data[k] + static_cast<ptrdiff_t>(y) * frame->linesize[k];
      for (int x = 0; x < w; ++x) {
        const int v = row[x];
        const int full = k ? ((v - 128) * 255 + 112) / 224 + 128 : ((v - 16) * 255 + 109) / 219;
        row[x] = static_cast<uint8_t>(std::clamp(full, 0, 255));
      }
    }
  }

  const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_MJPEG);
  if (!codec) throw IoError("FFmpeg has no mjpeg encoder");
  media::CodecContextPtr enc(avcodec_alloc_context3(codec));
  if (!enc) throw IoError("out of memory");
  enc->width = kThumbW;
  enc->height = kThumbH;
  enc->pix_fmt = AV_PIX_FMT_YUVJ420P;
  enc->color_range = AVCOL_RANGE_JPEG;
  enc->time_base = {1, 30};
  enc->flags |= AV_CODEC_FLAG_BITEXACT | AV_CODEC_FLAG_QSCALE;
  enc->global_quality = 3 * FF_QP2LAMBDA;
  enc->thread_count = 1;
  media::check_av_io(avcodec_open2(enc.get(), codec, nullptr), "open mjpeg encoder");
  frame->quality = enc->global_quality;
  frame->pts = 0;
  media::check_av_io(avcodec_send_frame(enc.get(), frame.get()), "encode thumbnail");
  media::check_av_io(avcodec_send_frame(enc.get(), nullptr), "encode thumbnail");
  media::PacketPtr pkt(av_packet_alloc());
  if (!pkt) throw IoError("out of memory");
  media::check_av_io(avcodec_receive_packet(enc.get(), pkt.get()), "encode thumbnail");
  return std::string(reinterpret_cast<const char*>(pkt->data), static_cast<size_t>(pkt->size));
}

}  // namespace

std::string make_thumbnail_jpeg(const ThumbnailMeta& meta, bool night) {
  media::ExifInfo info;
  info.time = meta.time;
  info.lat = meta.lat;
  info.lon = meta.lon;
  info.make = meta.make;
  info.model = meta.model;
  info.width = kThumbW;
  info.height = kThumbH;
  return media::insert_exif(encode_jpeg(night), media::build_exif(info));
}

}  // namespace nex
