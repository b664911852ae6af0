#pragma once
// Internal: Exif metadata for JPEG stills (libexif), shared by every writer
// of JPEGs (thumbnails, nexcut --still): an APP1 payload with
// DateTimeOriginal (+ sub-seconds), GPS position and Make/Model, and its
// insertion into an encoder's JPEG right after SOI (JFIF APP0 and COM
// segments dropped, as a camera writes it).
#include <optional>
#include <string>
#include <string_view>

#include "nex/timeutil.hpp"

namespace nex::media {

struct ExifInfo {
  LocalTime time;                   // camera-local
  bool subseconds = false;          // add SubSecTimeOriginal (milliseconds)
  std::optional<double> lat, lon;   // WGS-84 degrees
  std::string make, model;
  int width = 0, height = 0;        // PixelX/YDimension
};

// "Exif\0\0" + TIFF structure. Deterministic. Throws IoError.
std::string build_exif(const ExifInfo& info);
// The JPEG with the Exif APP1 segment placed after SOI. Throws IoError on a
// malformed JPEG.
std::string insert_exif(std::string_view jpeg, std::string_view exif);

}  // namespace nex::media
