// The camera API's JSON documents: written by nexsim serve, read by every
// tool that opens http://. The reader treats the body as untrusted.
#include "nex/camera_api.hpp"

#include <chrono>

#include "nex/error.hpp"
#include "nex/timeutil.hpp"

namespace nex {

ojson camera_info_to_json(const CameraInfo& i) {
  ojson j;
  j["api"] = i.api;
  j["kind"] = kCameraApiKind;
  j["model"] = i.model;
  j["model_name"] = i.model_name;
  j["serial"] = i.serial;
  j["firmware"] = i.firmware;
  j["clock"] = i.clock;
  j["utc_offset"] = format_utc_offset(i.utc_offset_min);
  j["recording"] = i.recording;
  j["active"] = i.active ? ojson(*i.active) : ojson(nullptr);
  j["capacity"] = i.capacity;
  j["used"] = i.used;
  j["generation"] = i.generation;
  return j;
}

ojson camera_listing_to_json(const CameraListing& l) {
  ojson files = ojson::array();
  for (const auto& f : l.files) {
    ojson e;
    e["path"] = f.path;
    e["size"] = f.size;
    e["mtime"] = f.mtime;
    e["complete"] = f.complete;
    e["etag"] = f.etag;
    files.push_back(std::move(e));
  }
  ojson j;
  j["generation"] = l.generation;
  j["files"] = std::move(files);
  return j;
}

namespace {

ojson parse_object(std::string_view body, const char* what) {
  ojson j = ojson::parse(body.begin(), body.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) throw InputError(std::string(what) + ": not JSON");
  if (!j.is_object()) throw InputError(std::string(what) + ": not a JSON object");
  return j;
}

std::string str(const ojson& j, const char* key, const char* what, bool required = true) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (required) throw InputError(std::string(what) + ": no \"" + key + "\"");
    return {};
  }
  if (!it->is_string()) throw InputError(std::string(what) + ": \"" + key + "\" is not a string");
  return it->get<std::string>();
}

uint64_t num(const ojson& j, const char* key, const char* what, bool required = true) {
  auto it = j.find(key);
  if (it == j.end()) {
    if (required) throw InputError(std::string(what) + ": no \"" + key + "\"");
    return 0;
  }
  auto v = json_uint64(*it);
  if (!v) throw InputError(std::string(what) + ": \"" + key + "\" is not a whole number >= 0");
  return *v;
}

bool flag(const ojson& j, const char* key, bool dflt) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_boolean()) return dflt;
  return it->get<bool>();
}

}  // namespace

std::optional<int64_t> camera_clock_ahead_ms(const CameraInfo& info) {
  // "2026-11-20T08:12:30.250+02:00": the local time, then its offset.
  const std::string& c = info.clock;
  const size_t t = c.find('T');
  if (t == std::string::npos) return std::nullopt;
  const size_t z = c.find_first_of("+-Z", t);
  auto local = parse_iso(std::string_view(c).substr(0, z));
  if (!local) return std::nullopt;
  int offset = info.utc_offset_min;
  if (z != std::string::npos) {
    auto o = parse_utc_offset(std::string_view(c).substr(z));
    if (!o) return std::nullopt;
    offset = *o;
  }
  const int64_t camera_utc = local->ms - int64_t{offset} * 60'000;
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
  return camera_utc - now;
}

CameraInfo parse_camera_info(std::string_view body) {
  const char* what = "not a nex camera";
  ojson j = parse_object(body, what);
  if (str(j, "kind", what) != kCameraApiKind) throw InputError(std::string(what) + ": \"kind\" is not nex-camera");
  CameraInfo i;
  const uint64_t api = num(j, "api", what);
  if (api != static_cast<uint64_t>(kCameraApiVersion))
    throw InputError("camera API version " + std::to_string(api) + " is not supported (this nex speaks " +
                     std::to_string(kCameraApiVersion) + ")");
  i.api = static_cast<int>(api);
  what = "malformed camera info";
  i.model = str(j, "model", what);
  i.model_name = str(j, "model_name", what, false);
  i.serial = str(j, "serial", what);
  i.firmware = str(j, "firmware", what, false);
  i.clock = str(j, "clock", what, false);
  const std::string off = str(j, "utc_offset", what, false);
  if (!off.empty()) {
    auto m = parse_utc_offset(off);
    if (!m) throw InputError(std::string(what) + ": bad utc_offset '" + off + "'");
    i.utc_offset_min = *m;
  }
  i.recording = flag(j, "recording", false);
  const std::string active = str(j, "active", what, false);
  if (!active.empty()) {
    if (!is_safe_card_path(active)) throw InputError(std::string(what) + ": bad active path");
    i.active = active;
  }
  i.capacity = num(j, "capacity", what, false);
  i.used = num(j, "used", what, false);
  i.generation = num(j, "generation", what, false);
  return i;
}

CameraListing parse_camera_listing(std::string_view body) {
  const char* what = "malformed listing";
  ojson j = parse_object(body, what);
  CameraListing l;
  l.generation = num(j, "generation", what, false);
  auto it = j.find("files");
  if (it == j.end() || !it->is_array()) throw InputError(std::string(what) + ": no \"files\" array");
  if (it->empty())
    throw InputError("the camera listed no files at all",
                     "a card always has camera.yaml; this is a camera fault, not a wiped card: try again");
  std::string prev;
  for (const auto& e : *it) {
    if (!e.is_object()) throw InputError(std::string(what) + ": a file entry is not an object");
    CameraFile f;
    f.path = str(e, "path", what);
    if (!is_safe_card_path(f.path)) throw InputError(std::string(what) + ": unsafe path '" + f.path + "'");
    if (!prev.empty() && f.path <= prev)
      throw InputError(std::string(what) + ": paths not sorted or repeated at '" + f.path + "'");
    prev = f.path;
    f.size = num(e, "size", what);
    f.mtime = str(e, "mtime", what, false);
    f.complete = flag(e, "complete", true);
    f.etag = str(e, "etag", what, false);
    l.files.push_back(std::move(f));
  }
  return l;
}

bool is_safe_card_path(std::string_view p) {
  if (p.empty() || p.size() > 255 || p.front() == '/') return false;
  for (char c : p)
    if (static_cast<unsigned char>(c) < 0x20 || c == '\\' || c == 0x7f) return false;
  size_t slash = p.find('/');
  std::string_view first = p.substr(0, slash);
  if (slash != std::string_view::npos) {
    if (first != "drive" && first != "sos") return false;
    std::string_view rest = p.substr(slash + 1);
    if (rest.empty() || rest.find('/') != std::string_view::npos) return false;
    first = rest;
  }
  return first != "." && first != ".." && !first.empty();
}

namespace {
std::optional<uint64_t> digits(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}
}  // namespace

std::optional<ContentRange> parse_content_range(std::string_view v) {
  while (!v.empty() && (v.back() == ' ' || v.back() == '\r' || v.back() == '\n')) v.remove_suffix(1);
  if (v.substr(0, 6) != "bytes ") return std::nullopt;
  v.remove_prefix(6);
  const size_t slash = v.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto total = digits(v.substr(slash + 1));
  if (!total) return std::nullopt;
  ContentRange r;
  r.total = *total;
  const std::string_view span = v.substr(0, slash);
  if (span == "*") {
    r.unsatisfied = true;
    return r;
  }
  const size_t dash = span.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto a = digits(span.substr(0, dash)), b = digits(span.substr(dash + 1));
  if (!a || !b || *a > *b || *b >= r.total) return std::nullopt;
  r.first = *a, r.last = *b;
  return r;
}

}  // namespace nex
