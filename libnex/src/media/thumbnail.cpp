// make_thumbnail_jpeg: a 320x180 still of the synthetic scene, encoded with
// FFmpeg's mjpeg encoder (bitexact), with an Exif APP1 segment built by
// libexif placed right after SOI, as a camera writes it (FFmpeg's JFIF APP0
// and comment segments are dropped).
#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

extern "C" {
#include <libexif/exif-data.h>
#include <libexif/exif-entry.h>
#include <libexif/exif-ifd.h>
#include <libexif/exif-mem.h>
#include <libexif/exif-tag.h>
#include <libexif/exif-utils.h>
}

#include "media/ffmpeg_util.hpp"
#include "media/synth.hpp"
#include "nex/error.hpp"
#include "nex/footage.hpp"
#include "nex/timeutil.hpp"

namespace nex {
namespace {

constexpr int kThumbW = 320;
constexpr int kThumbH = 180;

struct ExifDataDeleter {
  void operator()(ExifData* d) const noexcept { exif_data_unref(d); }
};

// Adds an entry of `components` x `format` to `ifd`; returns its data (owned
// by the entry) for the caller to fill.
unsigned char* add_entry(ExifData* ed, ExifIfd ifd, ExifTag tag, ExifFormat format, unsigned long components) {
  ExifMem* mem = exif_mem_new_default();
  if (!mem) throw IoError("out of memory");
  ExifEntry* e = exif_entry_new_mem(mem);
  const size_t size = exif_format_get_size(format) * components;
  auto* buf = static_cast<unsigned char*>(exif_mem_alloc(mem, static_cast<ExifLong>(size)));
  if (!e || !buf) {
    if (e) exif_entry_unref(e);
    exif_mem_unref(mem);
    throw IoError("out of memory");
  }
  std::memset(buf, 0, size);
  e->data = buf;
  e->size = static_cast<unsigned int>(size);
  e->tag = tag;
  e->components = components;
  e->format = format;
  exif_content_add_entry(ed->ifd[ifd], e);
  exif_mem_unref(mem);
  exif_entry_unref(e);
  return buf;
}

void add_ascii(ExifData* ed, ExifIfd ifd, ExifTag tag, const std::string& s) {
  unsigned char* d = add_entry(ed, ifd, tag, EXIF_FORMAT_ASCII, s.size() + 1);
  std::memcpy(d, s.c_str(), s.size() + 1);
}

void add_short(ExifData* ed, ExifIfd ifd, ExifTag tag, ExifShort v) {
  exif_set_short(add_entry(ed, ifd, tag, EXIF_FORMAT_SHORT, 1), exif_data_get_byte_order(ed), v);
}

void add_long(ExifData* ed, ExifIfd ifd, ExifTag tag, ExifLong v) {
  exif_set_long(add_entry(ed, ifd, tag, EXIF_FORMAT_LONG, 1), exif_data_get_byte_order(ed), v);
}

void add_rationals(ExifData* ed, ExifIfd ifd, ExifTag tag, std::initializer_list<ExifRational> vals) {
  unsigned char* d = add_entry(ed, ifd, tag, EXIF_FORMAT_RATIONAL, vals.size());
  const ExifByteOrder o = exif_data_get_byte_order(ed);
  for (const ExifRational& r : vals) {
    exif_set_rational(d, o, r);
    d += exif_format_get_size(EXIF_FORMAT_RATIONAL);
  }
}

void add_undefined(ExifData* ed, ExifIfd ifd, ExifTag tag, const void* data, size_t n) {
  std::memcpy(add_entry(ed, ifd, tag, EXIF_FORMAT_UNDEFINED, n), data, n);
}

// Degrees as deg/1, min/1, sec/10000 (exact integer arithmetic, so 59.99995"
// never prints as 60").
void add_gps_coordinate(ExifData* ed, ExifTag tag, double degrees) {
  const long long total = std::llround(std::abs(degrees) * 3600.0 * 10000.0);  // 1e-4 arc seconds
  const auto deg = static_cast<ExifLong>(total / 36'000'000);
  const auto min = static_cast<ExifLong>((total / 600'000) % 60);
  const auto sec = static_cast<ExifLong>(total % 600'000);
  add_rationals(ed, EXIF_IFD_GPS, tag, {{deg, 1}, {min, 1}, {sec, 10000}});
}

std::string exif_time(LocalTime t) {
  const CivilTime c = to_civil(t);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d:%02d:%02d %02d:%02d:%02d", c.year, c.month, c.day, c.hour, c.minute, c.second);
  return buf;
}

std::string build_exif(const ThumbnailMeta& meta) {
  std::unique_ptr<ExifData, ExifDataDeleter> ed(exif_data_new());
  if (!ed) throw IoError("out of memory");
  // No automatic "fixing": it would add tags whose defaults depend on the clock.
  exif_data_unset_option(ed.get(), EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
  exif_data_set_data_type(ed.get(), EXIF_DATA_TYPE_COMPRESSED);
  exif_data_set_byte_order(ed.get(), EXIF_BYTE_ORDER_INTEL);
  ExifData* d = ed.get();

  const std::string when = exif_time(meta.time);
  if (!meta.make.empty()) add_ascii(d, EXIF_IFD_0, EXIF_TAG_MAKE, meta.make);
  if (!meta.model.empty()) add_ascii(d, EXIF_IFD_0, EXIF_TAG_MODEL, meta.model);
  add_short(d, EXIF_IFD_0, EXIF_TAG_ORIENTATION, 1);
  add_rationals(d, EXIF_IFD_0, EXIF_TAG_X_RESOLUTION, {{72, 1}});
  add_rationals(d, EXIF_IFD_0, EXIF_TAG_Y_RESOLUTION, {{72, 1}});
  add_short(d, EXIF_IFD_0, EXIF_TAG_RESOLUTION_UNIT, 2);
  add_ascii(d, EXIF_IFD_0, EXIF_TAG_DATE_TIME, when);
  add_short(d, EXIF_IFD_0, EXIF_TAG_YCBCR_POSITIONING, 1);

  add_undefined(d, EXIF_IFD_EXIF, EXIF_TAG_EXIF_VERSION, "0230", 4);
  add_ascii(d, EXIF_IFD_EXIF, EXIF_TAG_DATE_TIME_ORIGINAL, when);
  add_ascii(d, EXIF_IFD_EXIF, EXIF_TAG_DATE_TIME_DIGITIZED, when);
  const unsigned char components[4] = {1, 2, 3, 0};
  add_undefined(d, EXIF_IFD_EXIF, EXIF_TAG_COMPONENTS_CONFIGURATION, components, 4);
  add_undefined(d, EXIF_IFD_EXIF, EXIF_TAG_FLASH_PIX_VERSION, "0100", 4);
  add_short(d, EXIF_IFD_EXIF, EXIF_TAG_COLOR_SPACE, 1);
  add_long(d, EXIF_IFD_EXIF, EXIF_TAG_PIXEL_X_DIMENSION, kThumbW);
  add_long(d, EXIF_IFD_EXIF, EXIF_TAG_PIXEL_Y_DIMENSION, kThumbH);

  if (meta.lat && meta.lon) {
    const unsigned char version[4] = {2, 2, 0, 0};
    std::memcpy(add_entry(d, EXIF_IFD_GPS, static_cast<ExifTag>(EXIF_TAG_GPS_VERSION_ID), EXIF_FORMAT_BYTE, 4),
                version, 4);
    add_ascii(d, EXIF_IFD_GPS, static_cast<ExifTag>(EXIF_TAG_GPS_LATITUDE_REF), *meta.lat < 0 ? "S" : "N");
    add_gps_coordinate(d, static_cast<ExifTag>(EXIF_TAG_GPS_LATITUDE), *meta.lat);
    add_ascii(d, EXIF_IFD_GPS, static_cast<ExifTag>(EXIF_TAG_GPS_LONGITUDE_REF), *meta.lon < 0 ? "W" : "E");
    add_gps_coordinate(d, static_cast<ExifTag>(EXIF_TAG_GPS_LONGITUDE), *meta.lon);
    add_ascii(d, EXIF_IFD_GPS, static_cast<ExifTag>(EXIF_TAG_GPS_MAP_DATUM), "WGS-84");
  }

  unsigned char* buf = nullptr;
  unsigned int size = 0;
  exif_data_save_data(d, &buf, &size);
  if (!buf || size == 0) throw IoError("libexif could not serialize the Exif data");
  std::string out(reinterpret_cast<const char*>(buf), size);
  std::free(buf);  // allocated by libexif's default allocator (malloc)
  if (out.size() + 2 > 0xFFFF) throw IoError("Exif data too large for one APP1 segment");
  return out;  // starts with "Exif\0\0"
}

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
  const std::string jpeg = encode_jpeg(night);
  const auto* p = reinterpret_cast<const uint8_t*>(jpeg.data());
  const size_t n = jpeg.size();
  if (n < 4 || p[0] != 0xFF || p[1] != 0xD8) throw IoError("mjpeg encoder produced no JPEG");

  const std::string exif = build_exif(meta);
  std::string out;
  out.reserve(n + exif.size() + 4);
  out.append("\xFF\xD8", 2);
  out.push_back(static_cast<char>(0xFF));
  out.push_back(static_cast<char>(0xE1));
  const size_t len = exif.size() + 2;
  out.push_back(static_cast<char>(len >> 8));
  out.push_back(static_cast<char>(len & 0xFF));
  out += exif;

  // Copy the encoder's segments after SOI, minus APP0 (JFIF) and COM, up to
  // SOS; from SOS on, the rest is entropy-coded data and EOI.
  size_t i = 2;
  while (i + 4 <= n) {
    if (p[i] != 0xFF) throw IoError("mjpeg encoder produced a malformed JPEG");
    const uint8_t marker = p[i + 1];
    if (marker == 0xFF) {  // fill byte
      ++i;
      continue;
    }
    const size_t seg = 2 + (static_cast<size_t>(p[i + 2]) << 8 | p[i + 3]);
    if (i + seg > n) throw IoError("mjpeg encoder produced a malformed JPEG");
    if (marker == 0xDA) {
      out.append(jpeg, i, std::string::npos);
      return out;
    }
    if (marker != 0xE0 && marker != 0xFE) out.append(jpeg, i, seg);
    i += seg;
  }
  throw IoError("mjpeg encoder produced a JPEG without image data");
}

}  // namespace nex
