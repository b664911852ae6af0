// make_thumbnail_jpeg: a 320x180 still of the synthetic scene (media/jpeg.hpp)
// with an Exif APP1 segment built by libexif (media/exif.hpp) placed right
// after SOI, as a camera writes it.
#include <string>

#include "media/exif.hpp"
#include "media/jpeg.hpp"
#include "nex/error.hpp"
#include "nex/footage.hpp"
#include "nex/timeutil.hpp"

namespace nex {
namespace {

constexpr int kThumbW = 320;
constexpr int kThumbH = 180;

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
  media::StillOptions still;
  still.camera = night ? Camera::Interior : Camera::Road;
  still.night = night;
  still.width = kThumbW;
  still.height = kThumbH;
  return media::insert_exif(media::render_still_jpeg(still), media::build_exif(info));
}

}  // namespace nex
