#include "nex/naming.hpp"

namespace nex {

const char* to_string(Camera c) { return c == Camera::Road ? "road" : "interior"; }

std::optional<Camera> parse_camera(std::string_view s) {
  if (s == "road") return Camera::Road;
  if (s == "interior") return Camera::Interior;
  return std::nullopt;
}

bool is_known_tag(char tag) {
  return tag == '1' || tag == '2' || tag == 'A' || tag == 'B' || tag == 'U' || tag == 'X';
}

std::optional<Camera> FileName::camera() const {
  switch (tag) {
    case '1': case 'A': case 'U': return Camera::Road;
    case '2': case 'B': case 'X': return Camera::Interior;
    default: return std::nullopt;
  }
}

const char* extension(FileKind k) {
  switch (k) {
    case FileKind::Video: return "mp4";
    case FileKind::Thumbnail: return "jpg";
    case FileKind::Gps: return "gps";
    case FileKind::Accel: return "acc";
  }
  return "";
}

std::optional<FileName> parse_file_name(std::string_view name) {
  const auto dot = name.rfind('.');
  if (dot == std::string_view::npos) return std::nullopt;
  const std::string_view stem = name.substr(0, dot), ext = name.substr(dot + 1);
  FileName f;
  // Cameras write upper- or lower-case extensions (".MP4", ".MOV" from
  // Novatek-based cameras); MOV is the same box structure as MP4.
  std::string lower(ext);
  for (char& c : lower) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  if (lower == "mp4" || lower == "mov") f.kind = FileKind::Video;
  else if (lower == "jpg") f.kind = FileKind::Thumbnail;
  else if (lower == "gps") f.kind = FileKind::Gps;
  else if (lower == "acc") f.kind = FileKind::Accel;
  else return std::nullopt;
  if (ext != extension(f.kind)) f.ext = std::string(ext);
  const bool tagged = f.kind == FileKind::Video || f.kind == FileKind::Thumbnail;
  if (tagged) {
    if (stem.size() != 17 || stem[15] != '_' || !is_known_tag(stem[16])) return std::nullopt;
    f.tag = stem[16];
  } else if (stem.size() != 15) {
    return std::nullopt;
  }
  const auto t = parse_compact(stem.substr(0, 15));
  if (!t) return std::nullopt;
  f.time = *t;
  return f;
}

std::string format_file_name(const FileName& f) {
  std::string s = format_compact(f.time);
  if (f.tag) {
    s += '_';
    s += f.tag;
  }
  s += '.';
  s += f.ext.empty() ? std::string(extension(f.kind)) : f.ext;
  return s;
}

std::string instant_key(LocalTime t) { return format_compact(t); }

}  // namespace nex
