// Exif for JPEG stills; see exif.hpp. (The thumbnail writer in thumbnail.cpp
// holds an older private copy of this code; it can switch to these helpers.)
#include "media/exif.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <initializer_list>
#include <memory>

extern "C" {
#include <libexif/exif-data.h>
#include <libexif/exif-entry.h>
#include <libexif/exif-ifd.h>
#include <libexif/exif-mem.h>
#include <libexif/exif-tag.h>
#include <libexif/exif-utils.h>
}

#include "nex/error.hpp"

namespace nex::media {
namespace {

struct ExifDataDeleter {
  void operator()(ExifData* d) const noexcept { exif_data_unref(d); }
};

unsigned char* add_entry(ExifData* ed, ExifIfd ifd, ExifTag tag, ExifFormat format, unsigned long components) {
  ExifMem* mem = exif_mem_new_default();
  if (!mem) throw IoError("out of memory");
  ExifEntry* e = exif_entry_new_mem(mem);
  const size_t size = exif_format_get_size(format) * components;
  auto* buf = static_cast<unsigned char*>(exif_mem_alloc(mem, static_cast<ExifLong>(size)));
  if (!e || !buf) {
    if (e) exif_entry_unref(e);
    if (buf) exif_mem_free(mem, buf);
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

// Degrees as deg/1, min/1, sec/10000 (integer arithmetic: never 60").
void add_gps_coordinate(ExifData* ed, ExifTag tag, double degrees) {
  const long long total = std::llround(std::abs(degrees) * 3600.0 * 10000.0);
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

}  // namespace

std::string build_exif(const ExifInfo& info) {
  std::unique_ptr<ExifData, ExifDataDeleter> ed(exif_data_new());
  if (!ed) throw IoError("out of memory");
  exif_data_unset_option(ed.get(), EXIF_DATA_OPTION_FOLLOW_SPECIFICATION);
  exif_data_set_data_type(ed.get(), EXIF_DATA_TYPE_COMPRESSED);
  exif_data_set_byte_order(ed.get(), EXIF_BYTE_ORDER_INTEL);
  ExifData* d = ed.get();

  const std::string when = exif_time(info.time);
  if (!info.make.empty()) add_ascii(d, EXIF_IFD_0, EXIF_TAG_MAKE, info.make);
  if (!info.model.empty()) add_ascii(d, EXIF_IFD_0, EXIF_TAG_MODEL, info.model);
  add_short(d, EXIF_IFD_0, EXIF_TAG_ORIENTATION, 1);
  add_rationals(d, EXIF_IFD_0, EXIF_TAG_X_RESOLUTION, {{72, 1}});
  add_rationals(d, EXIF_IFD_0, EXIF_TAG_Y_RESOLUTION, {{72, 1}});
  add_short(d, EXIF_IFD_0, EXIF_TAG_RESOLUTION_UNIT, 2);
  add_ascii(d, EXIF_IFD_0, EXIF_TAG_DATE_TIME, when);
  add_short(d, EXIF_IFD_0, EXIF_TAG_YCBCR_POSITIONING, 1);

  add_undefined(d, EXIF_IFD_EXIF, EXIF_TAG_EXIF_VERSION, "0230", 4);
  add_ascii(d, EXIF_IFD_EXIF, EXIF_TAG_DATE_TIME_ORIGINAL, when);
  add_ascii(d, EXIF_IFD_EXIF, EXIF_TAG_DATE_TIME_DIGITIZED, when);
  if (info.subseconds) {
    const int64_t ms = ((info.time.ms % 1000) + 1000) % 1000;
    char buf[8];
    std::snprintf(buf, sizeof buf, "%03d", static_cast<int>(ms));
    add_ascii(d, EXIF_IFD_EXIF, EXIF_TAG_SUB_SEC_TIME_ORIGINAL, buf);
    add_ascii(d, EXIF_IFD_EXIF, EXIF_TAG_SUB_SEC_TIME_DIGITIZED, buf);
  }
  const unsigned char components[4] = {1, 2, 3, 0};
  add_undefined(d, EXIF_IFD_EXIF, EXIF_TAG_COMPONENTS_CONFIGURATION, components, 4);
  add_undefined(d, EXIF_IFD_EXIF, EXIF_TAG_FLASH_PIX_VERSION, "0100", 4);
  add_short(d, EXIF_IFD_EXIF, EXIF_TAG_COLOR_SPACE, 1);
  if (info.width > 0) add_long(d, EXIF_IFD_EXIF, EXIF_TAG_PIXEL_X_DIMENSION, static_cast<ExifLong>(info.width));
  if (info.height > 0) add_long(d, EXIF_IFD_EXIF, EXIF_TAG_PIXEL_Y_DIMENSION, static_cast<ExifLong>(info.height));

  if (info.lat && info.lon) {
    const unsigned char version[4] = {2, 2, 0, 0};
    std::memcpy(add_entry(d, EXIF_IFD_GPS, static_cast<ExifTag>(EXIF_TAG_GPS_VERSION_ID), EXIF_FORMAT_BYTE, 4),
                version, 4);
    add_ascii(d, EXIF_IFD_GPS, static_cast<ExifTag>(EXIF_TAG_GPS_LATITUDE_REF), *info.lat < 0 ? "S" : "N");
    add_gps_coordinate(d, static_cast<ExifTag>(EXIF_TAG_GPS_LATITUDE), *info.lat);
    add_ascii(d, EXIF_IFD_GPS, static_cast<ExifTag>(EXIF_TAG_GPS_LONGITUDE_REF), *info.lon < 0 ? "W" : "E");
    add_gps_coordinate(d, static_cast<ExifTag>(EXIF_TAG_GPS_LONGITUDE), *info.lon);
    add_ascii(d, EXIF_IFD_GPS, static_cast<ExifTag>(EXIF_TAG_GPS_MAP_DATUM), "WGS-84");
  }

  unsigned char* buf = nullptr;
  unsigned int size = 0;
  exif_data_save_data(d, &buf, &size);
  if (!buf || size == 0) throw IoError("libexif could not serialize the Exif data");
  std::string out(reinterpret_cast<const char*>(buf), size);
  std::free(buf);
  if (out.size() + 2 > 0xFFFF) throw IoError("Exif data too large for one APP1 segment");
  return out;
}

std::string insert_exif(std::string_view jpeg, std::string_view exif) {
  const auto* p = reinterpret_cast<const uint8_t*>(jpeg.data());
  const size_t n = jpeg.size();
  if (n < 4 || p[0] != 0xFF || p[1] != 0xD8) throw IoError("not a JPEG");
  std::string out;
  out.reserve(n + exif.size() + 4);
  out.append("\xFF\xD8", 2);
  out.push_back(static_cast<char>(0xFF));
  out.push_back(static_cast<char>(0xE1));
  const size_t len = exif.size() + 2;
  out.push_back(static_cast<char>(len >> 8));
  out.push_back(static_cast<char>(len & 0xFF));
  out.append(exif);
  size_t i = 2;
  while (i + 4 <= n) {
    if (p[i] != 0xFF) throw IoError("malformed JPEG");
    const uint8_t marker = p[i + 1];
    if (marker == 0xFF) {
      ++i;
      continue;
    }
    const size_t seg = 2 + (static_cast<size_t>(p[i + 2]) << 8 | p[i + 3]);
    if (i + seg > n) throw IoError("malformed JPEG");
    if (marker == 0xDA) {
      out.append(jpeg.substr(i));
      return out;
    }
    if (marker != 0xE0 && marker != 0xFE) out.append(jpeg.substr(i, seg));
    i += seg;
  }
  throw IoError("JPEG without image data");
}

}  // namespace nex::media
