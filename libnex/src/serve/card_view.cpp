// The card as the camera API shows it: the listing with strong ETags and a
// generation that goes up when the contents change, the info document, the
// events. Each answer scans the card anew (a few hundred entries), so what
// another process writes onto the card shows at once.
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>

#include "nex/error.hpp"
#include "nex/events.hpp"
#include "nex/fsutil.hpp"
#include "serve/internal.hpp"

namespace nex::serve::detail {
namespace {

namespace fs = std::filesystem;

uint64_t fnv1a(uint64_t h, const void* data, size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ULL;
  return h;
}
uint64_t fnv1a(uint64_t h, uint64_t v) { return fnv1a(h, &v, sizeof v); }
constexpr uint64_t kFnvBasis = 0xcbf29ce484222325ULL;

bool valid_utf8(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) >> 6) != 2) return false;
    i += n;
  }
  return true;
}

int64_t floor_div(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace

std::string make_etag(uint64_t size, int64_t mtime_ns, uint64_t ino) {
  uint64_t h = fnv1a(kFnvBasis, size);
  h = fnv1a(h, static_cast<uint64_t>(mtime_ns));
  h = fnv1a(h, ino);
  char buf[24];
  std::snprintf(buf, sizeof buf, "\"%016llx\"", static_cast<unsigned long long>(h));
  return buf;
}

std::string http_date(int64_t mtime_ns) {
  static const char* const days[] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};  // 1970-01-01 was a Thursday
  static const char* const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const int64_t sec = floor_div(mtime_ns, 1'000'000'000);
  const CivilTime c = to_civil(LocalTime{sec * 1000});
  const int64_t day = floor_div(sec, 86400);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d GMT", days[((day % 7) + 7) % 7], c.day,
                months[std::clamp(c.month, 1, 12) - 1], c.year, c.hour, c.minute, c.second);
  return buf;
}

std::string iso_utc(int64_t mtime_ns) {
  return format_iso(LocalTime{floor_div(mtime_ns, 1'000'000'000) * 1000}) + "Z";
}

std::string content_type_for(std::string_view path) {
  const size_t dot = path.rfind('.');
  std::string ext = dot == std::string_view::npos ? "" : std::string(path.substr(dot + 1));
  for (auto& ch : ext) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (ext == "mp4") return "video/mp4";
  if (ext == "mov") return "video/quicktime";
  if (ext == "jpg" || ext == "jpeg") return "image/jpeg";
  if (ext == "ndjson") return "application/x-ndjson";
  if (ext == "json") return "application/json";
  if (ext == "yaml" || ext == "yml") return "application/yaml";
  if (ext == "acc" || ext == "csv") return "text/csv";
  if (ext == "gps" || ext == "nmea" || ext == "txt" || ext == "log") return "text/plain";
  return "application/octet-stream";
}

bool is_being_written(std::string_view path) {
  const size_t slash = path.rfind('/');
  const std::string_view name = slash == std::string_view::npos ? path : path.substr(slash + 1);
  return name.size() > 1 && name.front() == '.' && name.find(".tmp-") != std::string_view::npos;
}

CardView::CardView(fs::path card, const Faults& faults) : root_(std::move(card)), faults_(faults) {
  if (!fs::is_directory(root_)) throw InputError("no card at " + root_.string() + ": not a folder");
  id_ = load_camera_yaml(root_);
  model_ = &id_.profile();
}

LocalTime CardView::clock() const {
  const int64_t utc_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  return LocalTime{utc_ms + int64_t{id_.utc_offset_min} * 60'000 + faults_.clock_skew_ms};
}

CardView::Scan CardView::scan() {
  Scan s;
  for (const char* dir : {"", "drive", "sos"}) {
    const fs::path folder = *dir ? root_ / dir : root_;
    std::error_code ec;
    fs::directory_iterator it(folder, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
      const std::string name = it->path().filename().string();
      const std::string rel = *dir ? std::string(dir) + "/" + name : name;
      if (!is_safe_card_path(rel) || !valid_utf8(rel)) continue;  // not representable in the API
      struct stat st {};
      if (::lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
      FileEntry f;
      f.path = rel;
      f.size = static_cast<uint64_t>(st.st_size);
      f.mtime_ns = int64_t{st.st_mtim.tv_sec} * 1'000'000'000 + st.st_mtim.tv_nsec;
      f.ino = static_cast<uint64_t>(st.st_ino);
      f.complete = !is_being_written(rel);
      s.files.push_back(std::move(f));
    }
  }
  std::sort(s.files.begin(), s.files.end(), [](const FileEntry& a, const FileEntry& b) { return a.path < b.path; });
  uint64_t sig = kFnvBasis;
  for (const auto& f : s.files) {
    sig = fnv1a(sig, f.path.data(), f.path.size() + 1);
    sig = fnv1a(fnv1a(fnv1a(sig, f.size), static_cast<uint64_t>(f.mtime_ns)), f.ino);
  }
  std::lock_guard lock(mu_);
  if (generation_ == 0 || sig != signature_) {
    ++generation_;
    signature_ = sig;
  }
  s.generation = generation_;
  return s;
}

CameraInfo CardView::info() {
  const Scan s = scan();
  CameraInfo i;
  i.model = model_->id;
  i.model_name = model_->name;
  i.serial = id_.serial;
  i.firmware = id_.firmware;
  i.clock = format_iso(clock()) + format_utc_offset(id_.utc_offset_min);
  i.utc_offset_min = id_.utc_offset_min;
  for (const auto& f : s.files) {
    i.used += f.size;
    // The newest recording still being written is the active one.
    if (!f.complete && (f.path.find(".mp4.tmp-") != std::string::npos || f.path.find(".MOV.tmp-") != std::string::npos))
      i.active = f.path;
  }
  i.recording = i.active.has_value();
  i.capacity = id_.capacity;
  i.generation = s.generation;
  return i;
}

CameraListing CardView::listing() {
  Scan s = scan();
  CameraListing l;
  l.generation = s.generation;
  std::lock_guard lock(mu_);
  if (faults_.empty_listing_once && !empty_listing_done_) {
    empty_listing_done_ = true;
    return l;
  }
  for (auto& f : s.files) {
    CameraFile c;
    c.path = f.path;
    c.size = f.size;
    c.mtime = iso_utc(f.mtime_ns);
    c.complete = f.complete;
    c.etag = make_etag(f.size, f.mtime_ns, f.ino);
    if (faults_.stale_size) {
      const uint64_t first = first_size_.emplace(std::to_string(f.ino) + ":" + f.path, f.size).first->second;
      if (!f.complete || f.size > first) c.size = first;
    }
    l.files.push_back(std::move(c));
  }
  return l;
}

ojson CardView::events() const {
  ojson list = ojson::array();
  std::error_code ec;
  const fs::path file = root_ / "events.ndjson";
  if (fs::is_regular_file(file, ec))
    for (const auto& e : parse_events(read_file(file))) list.push_back(e.to_json());
  ojson j;
  j["events"] = std::move(list);
  return j;
}

}  // namespace nex::serve::detail
