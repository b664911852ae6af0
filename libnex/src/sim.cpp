#include "nex/sim.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <string_view>
#include <thread>
#include <deque>

#include "nex/camera.hpp"
#include "nex/card.hpp"
#include "nex/error.hpp"
#include "nex/footage.hpp"
#include "nex/fsutil.hpp"
#include "nex/random.hpp"
#include "nex/rotation.hpp"
#include "nex/telemetry.hpp"
#include "nex/units.hpp"

namespace fs = std::filesystem;

namespace nex::sim {
namespace {

constexpr double kG = 9.80665;
constexpr int64_t kAccPeriodMs = 20;  // 50 Hz

uint64_t fnv1a(std::string_view s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

void require_writable(const fs::path& dir) {
  if (::access(dir.c_str(), W_OK) != 0)
    throw IoError(dir.string() + ": card is not writable: " + errno_text(errno));
}

// Finishes what a run interrupted between the renames of one instant left
// (see PendingInstant::commit): a video under a temporary name whose writer
// is gone, with a named sidecar or thumbnail of the same instant beside it,
// was complete and fsync'd before the first rename, so it takes its name.
// Returns the names given.
std::vector<std::string> complete_interrupted_commits(const fs::path& dir) {
  std::vector<std::string> named;
  std::error_code ec;
  std::vector<std::pair<fs::path, std::string>> temps;
  std::vector<std::string> keys;  // instants with a named file other than a video
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name[0] == '.') {
      if (auto final = stale_temp_final(name)) temps.emplace_back(it->path(), *final);
      continue;
    }
    const auto f = parse_file_name(name);
    if (f && f->kind != FileKind::Video) keys.push_back(instant_key(f->time));
  }
  for (const auto& [tmp, final] : temps) {
    const auto f = parse_file_name(final);
    if (!f || f->kind != FileKind::Video) continue;
    if (std::find(keys.begin(), keys.end(), instant_key(f->time)) == keys.end()) continue;
    const fs::path to = dir / final;
    std::error_code ex;
    if (fs::exists(to, ex)) continue;
    commit_rename(tmp, to);
    named.push_back(final);
  }
  return named;
}

// A recording unit on the card for rotation: every file of one instant.
struct Unit {
  LocalTime start;
  uint64_t bytes = 0;
  std::vector<fs::path> files;
};

// The card as the camera keeps track of it while recording.
class CardState {
 public:
  CardState(const fs::path& card, const Context& ctx) : root_(card), ctx_(ctx) {
    // What an earlier run killed mid-write left behind: never footage.
    for (const fs::path& dir : {card, card / "drive", card / "sos"}) {
      for (const auto& name : complete_interrupted_commits(dir))
        ctx.log->info("named {}: its write was complete when an earlier run was interrupted", (dir / name).string());
      for (const auto& name : remove_stale_temps(dir))
        ctx.log->info("removed {}: left by an interrupted run", (dir / name).string());
    }
    ScanOptions so;
    so.read_gps = false;
    so.probe_media = true;
    scan_ = scan_card(card, so, ctx, /*require_identity=*/true);
    id_ = *scan_.camera;
    used_ = scan_.used_bytes;
    for (const auto* list : {&scan_.recordings, &scan_.parking})
      for (const auto& r : *list) {
        Unit u{r.start, r.bytes, r.files};
        (r.dir == "sos" ? sos_ : drive_).push_back(u);
      }
    auto older = [](const Unit& a, const Unit& b) { return a.start < b.start; };
    std::sort(drive_.begin(), drive_.end(), older);
    std::sort(sos_.begin(), sos_.end(), older);
    for (const auto& s : sos_) sos_used_ += s.bytes;
  }

  const CameraIdentity& id() const { return id_; }
  const ModelProfile& model() const { return id_.profile(); }
  const CardScan& scan() const { return scan_; }
  const fs::path& root() const { return root_; }

  // Newest end of any recording (drive or parking), optionally only those
  // on the same side of a clock reset.
  std::optional<LocalTime> newest_end(bool reset_era) const {
    std::optional<LocalTime> best;
    for (const auto* list : {&scan_.recordings, &scan_.parking})
      for (const auto& r : *list) {
        if (is_clock_reset(r.start) != reset_era) continue;
        const LocalTime e = r.start + (r.duration_known ? r.duration_ms : 60000);
        if (!best || e > *best) best = e;
      }
    return best;
  }

  // Make room for `incoming` bytes going to `dir`, then account for them.
  size_t make_room(const std::string& dir, uint64_t incoming, LocalTime start, std::vector<fs::path> files) {
    size_t deleted = 0;
    if (dir == "sos") {
      const uint64_t quota = id_.effective_sos_quota();
      deleted += evict(sos_, sos_used_, incoming, quota, "sos", true);
    }
    deleted += evict(drive_, used_, incoming, id_.capacity, "drive", false);
    used_ += incoming;
    Unit u{start, incoming, std::move(files)};
    if (dir == "sos") {
      sos_used_ += incoming;
      sos_.push_back(std::move(u));
    } else {
      drive_.push_back(std::move(u));
    }
    return deleted;
  }

 private:
  size_t evict(std::deque<Unit>& units, uint64_t& used, uint64_t incoming, uint64_t limit, const char* what,
               bool sos) {
    std::vector<uint64_t> sizes;
    for (const auto& u : units) sizes.push_back(u.bytes);
    const auto n = plan_rotation(sizes, used, incoming, limit);
    if (!n)
      throw IoError(std::string(sos ? "sos quota " : "card capacity ") + format_size(limit) + " cannot hold a " +
                        format_size(incoming) + " recording",
                    "make the card larger with 'nexsim init --capacity' on a new card");
    for (size_t i = 0; i < *n; ++i) {
      const Unit& u = units.front();
      for (const auto& f : u.files) {
        std::error_code ec;
        fs::remove(f, ec);
        if (ec) throw IoError(f.string() + ": cannot delete: " + ec.message());
      }
      ctx_.log->info("{} rotation: deleted {} ({})", what, format_compact(u.start), format_size(u.bytes));
      used = used >= u.bytes ? used - u.bytes : 0;
      if (sos) used_ = used_ >= u.bytes ? used_ - u.bytes : 0;
      units.pop_front();
    }
    return *n;
  }

  fs::path root_;
  const Context& ctx_;
  CardScan scan_;
  CameraIdentity id_;
  uint64_t used_ = 0, sos_used_ = 0;
  std::deque<Unit> drive_, sos_;
};

// Files of one instant, written under temporary names and committed together.
class PendingInstant {
 public:
  explicit PendingInstant(fs::path dir) : dir_(std::move(dir)) {}
  ~PendingInstant() {
    for (const auto& [tmp, final] : files_) ::unlink(tmp.c_str());
  }
  fs::path add(const std::string& name) {
    const fs::path final = dir_ / name;
    const fs::path tmp = temp_path_for(final);
    files_.emplace_back(tmp, final);
    return tmp;
  }
  uint64_t bytes() const {
    uint64_t b = 0;
    for (const auto& [tmp, final] : files_) {
      std::error_code ec;
      b += fs::file_size(tmp, ec);
    }
    return b;
  }
  std::vector<fs::path> finals() const {
    std::vector<fs::path> v;
    for (const auto& f : files_) v.push_back(f.second);
    return v;
  }
  // Every file is on disk before the first rename; then the sidecars and
  // thumbnails take their names, and the videos last. A named video is the
  // commit point: a power cut (or kill -9) between the renames leaves named
  // sidecars next to complete videos still under their temporary names, which
  // the next run names (complete_interrupted_commits) and nexls --check
  // reports as an unfinished write, never as a video without its sidecars.
  void commit() {
    for (const auto& [tmp, final] : files_) fsync_path(tmp);
    auto is_video = [](const fs::path& p) {
      const auto n = parse_file_name(p.filename().string());
      return n && n->kind == FileKind::Video;
    };
    std::stable_partition(files_.begin(), files_.end(), [&](const auto& f) { return !is_video(f.second); });
    for (const auto& [tmp, final] : files_) {
      if (::rename(tmp.c_str(), final.c_str()) != 0)
        throw IoError(final.string() + ": rename: " + errno_text(errno));
    }
    fsync_path(dir_);
    files_.clear();
  }

 private:
  fs::path dir_;
  std::vector<std::pair<fs::path, fs::path>> files_;
};

void write_text(const fs::path& p, std::string_view text) {
  FILE* f = std::fopen(p.c_str(), "wb");
  if (!f) throw IoError(p.string() + ": " + errno_text(errno));
  const size_t n = std::fwrite(text.data(), 1, text.size(), f);
  const int err = errno;
  if (std::fclose(f) != 0 || n != text.size()) throw IoError(p.string() + ": write: " + errno_text(err ? err : EIO));
}

// Vehicle motion sampled at 50 Hz: what the G-sensor feels and where the GPS is.
struct Motion {
  std::vector<AccSample> acc;  // ms relative to the drive start
  std::vector<double> lat, lon, speed, course;  // per 50 Hz tick
};

struct Origin {
  double lat, lon;
};

Motion simulate_motion(int64_t duration_ms, const std::vector<PlannedEvent>& events, uint64_t seed) {
  Rng rng(seed * 0x2545F4914F6CDD1Dull + 7);
  static const Origin cities[] = {{32.0853, 34.7818}, {40.7306, -73.9866}, {52.5200, 13.4050}, {37.7749, -122.4194}};
  const Origin o = cities[rng.next() % 4];
  double lat = o.lat + rng.uniform(-0.02, 0.02), lon = o.lon + rng.uniform(-0.02, 0.02);
  double v = 0, heading = rng.uniform(0, 360), target = 12, yaw_rate = 0;
  int64_t next_target = 0, next_turn = 0;
  Motion m;
  const int64_t n = duration_ms / kAccPeriodMs + 1;
  m.acc.reserve(static_cast<size_t>(n));
  const double dt = kAccPeriodMs / 1000.0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t t = i * kAccPeriodMs;
    if (t >= next_target) {
      target = rng.uniform(9, 24);  // 32..86 km/h
      next_target = t + static_cast<int64_t>(rng.uniform(20000, 60000));
    }
    if (t >= next_turn) {
      yaw_rate = rng.uniform(-1, 1) < -0.6 || rng.uniform(-1, 1) > 0.6 ? rng.uniform(-8, 8) : rng.uniform(-1, 1);
      next_turn = t + static_cast<int64_t>(rng.uniform(5000, 20000));
    }
    // The drive ends parked: slow to a stop over the last 25 s.
    if (t > duration_ms - 25000) target = 0;
    double a = std::clamp((target - v) * 0.3, -1.2, 1.2);  // gentle driving, < 0.13 g
    double spike_x = 0, spike_y = 0;
    for (const auto& e : events) {
      const int64_t d = t - e.at_ms;
      if (e.kind == "hard-brake") {
        if (d >= -15000 && d < 0) a = std::clamp((20 - v) * 0.3, -1.2, 1.5);  // up to speed first
        if (d >= 0 && d < 1600 && v > 0.5) a = -5.4 * std::min(1.0, (static_cast<double>(d) + 20) / 100.0);
      } else if (e.kind == "collision") {
        if (d >= -15000 && d < 0) a = std::clamp((15 - v) * 0.3, -1.2, 1.5);
        if (d >= 0 && d < 80) {
          const double tri = 1.0 - std::fabs(static_cast<double>(d) - 40) / 40.0;
          spike_x = -2.9 * tri;
          spike_y = 1.1 * tri;
        }
        if (d >= 80 && d < 2500 && v > 0.5) a = -3.0;
      }
    }
    v = std::max(0.0, v + a * dt);
    const double yaw = v > 1 ? yaw_rate : 0;
    heading = std::fmod(heading + yaw * dt + 360.0, 360.0);
    const double dist = v * dt, hr = heading * M_PI / 180.0;
    lat += dist * std::cos(hr) / 111320.0;
    lon += dist * std::sin(hr) / (111320.0 * std::cos(lat * M_PI / 180.0));
    AccSample s;
    s.ms = t;
    s.x = a / kG + spike_x + rng.normal(0.015);
    s.y = v * (yaw * M_PI / 180.0) / kG + spike_y + rng.normal(0.015);
    s.z = 1.0 + rng.normal(0.02);
    m.acc.push_back(s);
    m.lat.push_back(lat);
    m.lon.push_back(lon);
    m.speed.push_back(v * 3.6);
    m.course.push_back(heading);
  }
  return m;
}

void validate_event_kinds(const std::vector<PlannedEvent>& evs, bool parking, int64_t duration) {
  for (const auto& e : evs) {
    const bool ok = parking ? (e.kind == "impact" || e.kind == "motion")
                            : (e.kind == "hard-brake" || e.kind == "collision");
    if (!ok)
      throw UsageError("unknown " + std::string(parking ? "incident" : "event") + " kind '" + e.kind + "'",
                       parking ? "use impact@TIME or motion@TIME" : "use hard-brake@TIME or collision@TIME");
    if (e.at_ms < 0 || e.at_ms >= duration)
      throw UsageError(e.kind + "@" + format_duration(e.at_ms) + " lies outside the " + format_duration(duration) +
                       (parking ? " parking period" : " drive"));
  }
}

// The camera's stream profiles in its recording format (camera.yaml).
StreamProfile road_of(const CameraIdentity& id) { return with_format(road_profile(), id.format); }
StreamProfile interior_of(const CameraIdentity& id, bool night) {
  return with_format(interior_profile(night), id.format);
}
// Video files' extension: "" (the default, .mp4) or "MOV" as Novatek-based cameras write it.
std::string video_ext(const CameraIdentity& id) {
  return id.format.container == Container::Mov ? "MOV" : "";
}

SegmentMeta segment_meta(const CameraIdentity& id, LocalTime start, double lat, double lon) {
  SegmentMeta m;
  m.start = start;
  m.utc_offset_min = id.utc_offset_min;
  m.lat = lat;
  m.lon = lon;
  m.model = id.profile().name;
  return m;
}

// Tear the tail of a sidecar the way a power cut does: mid-line.
std::string torn(std::string text, double keep) {
  if (text.empty()) return text;
  size_t cut = static_cast<size_t>(static_cast<double>(text.size()) * keep);
  cut = std::min(cut, text.size() - 1);
  if (cut > 0 && text[cut - 1] == '\n') ++cut;  // make sure the last line is incomplete
  text.resize(std::min(cut, text.size()));
  return text;
}

}  // namespace

double parse_pace(std::string_view s) {
  std::string t(s);
  if (!t.empty() && (t.back() == 'x' || t.back() == 'X')) t.pop_back();
  char* end = nullptr;
  const double v = t.empty() ? 0 : std::strtod(t.c_str(), &end);
  if (t.empty() || !end || *end || !std::isfinite(v) || v <= 0 || v > 1000)
    throw UsageError("bad pace '" + std::string(s) + "'", "a factor of real time: 1x, 10x, 20x (at most 1000x)");
  return v;
}

PlannedEvent parse_planned_event(const std::string& spec) {
  const auto at = spec.find('@');
  if (at == std::string::npos || at == 0)
    throw UsageError("bad event '" + spec + "'", "write KIND@TIME, e.g. hard-brake@6m or impact@2h");
  PlannedEvent e;
  e.kind = spec.substr(0, at);
  const auto d = parse_duration(spec.substr(at + 1));
  if (!d) throw UsageError("bad time in '" + spec + "'", "times are durations from the start: 90s, 6m, 1h10m");
  e.at_ms = *d;
  return e;
}

void init_card(const InitOptions& o, const Context& ctx) {
  const ModelProfile* model = find_model(o.model);
  if (!model) throw UsageError("unknown model '" + o.model + "'", "known models: " + model_ids_joined());
  if (o.capacity < (64ull << 20)) throw UsageError("capacity " + format_size(o.capacity) + " is too small", "give at least 64M");
  if (const std::string why = format_problem(o.format); !why.empty()) throw UsageError(why);
  std::error_code ec;
  if (fs::exists(o.card / "camera.yaml", ec))
    throw UsageError(o.card.string() + ": card is already initialised", "use a new folder");
  if (fs::exists(o.card, ec) && !fs::is_directory(o.card, ec)) throw UsageError(o.card.string() + ": not a folder");
  fs::create_directories(o.card, ec);
  if (ec) throw IoError(o.card.string() + ": cannot create: " + ec.message());
  require_writable(o.card);
  CameraIdentity id;
  id.model = model->id;
  id.capacity = o.capacity;
  id.utc_offset_min = o.utc_offset_min;
  id.firmware = o.firmware;
  if (o.sos_quota) id.sos_quota = *o.sos_quota;
  id.format = o.format;
  if (o.serial.empty()) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%08llX",
                  static_cast<unsigned long long>(fnv1a(model->id + fs::absolute(o.card).filename().string()) & 0xffffffffu));
    std::string up = model->id;
    for (auto& c : up) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    id.serial = up + "-" + buf;
  } else {
    for (char c : o.serial)
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_')
        throw UsageError("serial '" + o.serial + "' has characters other than letters, digits, - and _");
    id.serial = o.serial;
  }
  for (const char* d : {"drive", "sos"}) {
    if (std::string(d) == "sos" && !model->has_sos()) continue;
    fs::create_directory(o.card / d, ec);
    if (ec) throw IoError((o.card / d).string() + ": " + ec.message());
  }
  write_file_atomic(o.card / "camera.yaml", format_camera_yaml(id));
  ctx.log->info("initialised {} card {} ({}), serial {}", model->name, o.card.string(), format_size(o.capacity),
                id.serial);
}

RunReport simulate_drive(const DriveOptions& o, const Context& ctx) {
  if (o.duration_ms <= 0) throw UsageError("drive duration must be positive");
  if (o.duration_ms > 48ll * 3600 * 1000) throw UsageError("drive duration over 48h");
  validate_event_kinds(o.events, false, o.duration_ms);
  CardState card(o.card, ctx);
  require_writable(o.card / "drive");
  const CameraIdentity& id = card.id();
  const ModelProfile& model = card.model();
  if (o.interior && !model.interior_camera) throw UsageError(model.name + " has no interior camera");

  LocalTime start;
  if (o.clock_reset) {
    const auto prev = card.newest_end(true);
    start = prev ? *prev + 60000 : from_civil({2000, 1, 1, 0, 0, 0, 0});
  } else if (o.start) {
    start = *o.start;
    const auto prev = card.newest_end(false);
    if (prev && start < *prev)
      throw UsageError("the card already has footage until " + format_iso(*prev),
                       "start the drive later (--start) or use a new card");
  } else {
    const auto prev = card.newest_end(false);
    if (!prev) throw UsageError("--start is required on an empty card");
    start = *prev + 60000;
  }
  // The true time, for the GPS receiver (a reset clock does not fool the GPS).
  const LocalTime true_start = o.start ? *o.start : start;
  start = LocalTime{start.ms / 1000 * 1000};

  Progress progress(ctx, "recording", static_cast<uint64_t>(o.duration_ms));
  const fs::path road_t = ensure_template(road_of(id), o.cache_dir);
  fs::path interior_t;
  if (o.interior) interior_t = ensure_template(interior_of(id, o.night), o.cache_dir);

  const Motion motion = simulate_motion(o.duration_ms, o.events, o.seed);
  EventDetector detector;
  RunReport rep;
  rep.start = start;
  const fs::path drive_dir = o.card / "drive";
  const int64_t nseg = (o.duration_ms + o.segment_ms - 1) / o.segment_ms;
  for (int64_t i = 0; i < nseg; ++i) {
    ctx.check_interrupt();
    // (--pace: each segment is open for its own length in paced time from
    // when it opens: a camera held up, e.g. stopped by a test, goes on in
    // real time after it, and does not catch up by closing segments at once)
    const auto opened_at = std::chrono::steady_clock::now();
    const int64_t off = i * o.segment_ms;
    const int64_t len = std::min(o.segment_ms, o.duration_ms - off);
    const bool cut = o.power_cut && i == nseg - 1;
    const double keep = 0.5;
    const int64_t recorded = cut ? static_cast<int64_t>(static_cast<double>(len) * keep) : len;
    const LocalTime seg_start = start + off;
    const size_t tick0 = static_cast<size_t>(off / kAccPeriodMs);
    const double lat0 = motion.lat[tick0], lon0 = motion.lon[tick0];

    PendingInstant pending(drive_dir);
    FileName fn{seg_start, model.tag_for(Camera::Road, false), FileKind::Video, video_ext(id)};
    write_segment(road_t, pending.add(format_file_name(fn)), len, segment_meta(id, seg_start, lat0, lon0));
    const std::string road_name = format_file_name(fn);
    std::string interior_name;
    if (o.interior) {
      fn.tag = model.tag_for(Camera::Interior, false);
      interior_name = format_file_name(fn);
      write_segment(interior_t, pending.add(interior_name), len, segment_meta(id, seg_start, lat0, lon0));
    }
    // Thumbnail of the road view.
    fn.tag = model.tag_for(Camera::Road, false);
    fn.kind = FileKind::Thumbnail;
    fn.ext.clear();
    ThumbnailMeta tm{seg_start, lat0, lon0, "Nexar", model.name};
    write_text(pending.add(format_file_name(fn)), make_thumbnail_jpeg(tm));
    // Sidecars: the 50 Hz G-sensor and 1 Hz NMEA for this segment.
    std::vector<AccSample> acc;
    std::vector<GpsFix> fixes;
    for (size_t k = tick0; k < motion.acc.size() && motion.acc[k].ms < off + len; ++k) {
      AccSample s = motion.acc[k];
      s.ms -= off;
      acc.push_back(s);
      if (s.ms % 1000 == 0) {
        GpsFix g;
        g.utc = true_start + motion.acc[k].ms - static_cast<int64_t>(id.utc_offset_min) * 60000;
        g.lat = motion.lat[k];
        g.lon = motion.lon[k];
        g.speed_kmh = motion.speed[k];
        g.course = motion.course[k];
        g.alt = 35.0 + 5.0 * std::sin(static_cast<double>(motion.acc[k].ms) / 60000.0);
        fixes.push_back(g);
      }
    }
    FileName side{seg_start, 0, FileKind::Gps, {}};
    std::string gps_text = format_nmea(fixes), acc_text = format_acc(acc);
    if (cut) gps_text = torn(gps_text, keep), acc_text = torn(acc_text, keep);
    write_text(pending.add(format_file_name(side)), gps_text);
    side.kind = FileKind::Accel;
    write_text(pending.add(format_file_name(side)), acc_text);
    if (cut) {
      // The power went: the videos lose their index.
      for (const auto& name : {road_name, interior_name})
        if (!name.empty()) cut_power(temp_path_for(drive_dir / name), keep);
    }

    if (o.pace > 0) {
      // The segment stays open (temporary names) until its end in paced time.
      const auto close_at = opened_at + std::chrono::microseconds(static_cast<int64_t>(
                                             static_cast<double>(len) * 1000.0 / o.pace));
      while (std::chrono::steady_clock::now() < close_at) {
        ctx.check_interrupt();
        std::this_thread::sleep_until(std::min(close_at, std::chrono::steady_clock::now() + std::chrono::milliseconds(20)));
      }
    }
    const uint64_t bytes = pending.bytes();
    rep.recordings_deleted += card.make_room("drive", bytes, seg_start, pending.finals());
    pending.commit();
    rep.recordings_written++;
    rep.bytes_written += bytes;

    // The camera's detector runs on what it recorded.
    std::vector<Event> found;
    for (const auto& s : acc) {
      if (s.ms >= recorded) break;
      auto v = detector.feed(seg_start + s.ms, s);
      found.insert(found.end(), v.begin(), v.end());
    }
    if (i == nseg - 1) {
      auto v = detector.finish();
      found.insert(found.end(), v.begin(), v.end());
    }
    for (auto& e : found) {
      // An event may have started in the previous segment.
      const int64_t rel = e.time - start;
      const int64_t seg_i = rel / o.segment_ms;
      e.segment = format_compact(start + seg_i * o.segment_ms);
      e.offset_ms = rel - seg_i * o.segment_ms;
      const size_t tick = std::min(motion.lat.size() - 1, static_cast<size_t>(rel / kAccPeriodMs));
      e.lat = motion.lat[tick];
      e.lon = motion.lon[tick];
      e.speed_kmh = motion.speed[tick > 50 ? tick - 50 : 0];  // speed just before onset
      append_event(o.card / "events.ndjson", e);
      ctx.log->info("event {} at {} (peak {:.2f} g)", to_string(e.kind), format_iso(e.time, true), e.peak_g);
      rep.events.push_back(e);
    }
    progress.update(static_cast<uint64_t>(off + len));
  }
  rep.end = start + o.duration_ms;
  return rep;
}

RunReport simulate_park(const ParkOptions& o, const Context& ctx) {
  if (o.duration_ms <= 0) throw UsageError("parking duration must be positive");
  validate_event_kinds(o.incidents, true, o.duration_ms);
  if (o.clip_ms < 1000 || o.clip_ms > 60000) throw UsageError("parking clip length must be 1s..60s");
  CardState card(o.card, ctx);
  const CameraIdentity& id = card.id();
  const ModelProfile& model = card.model();
  LocalTime start;
  if (o.start) {
    start = *o.start;
    const auto prev = card.newest_end(false);
    if (prev && start < *prev)
      throw UsageError("the card already has footage until " + format_iso(*prev), "park later (--start)");
  } else {
    const auto prev = card.newest_end(false);
    if (!prev) throw UsageError("--start is required on an empty card");
    start = *prev;
  }
  start = LocalTime{(start.ms + 999) / 1000 * 1000};
  const fs::path dir = o.card / model.parking_dir;
  std::error_code ec;
  fs::create_directories(dir, ec);
  require_writable(dir);
  const fs::path road_t = ensure_template(road_of(id), o.cache_dir);

  std::vector<PlannedEvent> incidents = o.incidents;
  std::sort(incidents.begin(), incidents.end(), [](auto& a, auto& b) { return a.at_ms < b.at_ms; });
  Rng rng(o.seed * 0x9E3779B97F4A7C15ull + 3);
  RunReport rep;
  rep.start = start;
  std::optional<LocalTime> last_clip_end;
  for (const auto& inc : incidents) {
    ctx.check_interrupt();
    const LocalTime at = start + inc.at_ms;
    // The camera wakes on what its sensors say: a G-sensor jolt for an
    // impact, a frame-difference score for motion.
    std::vector<Event> found;
    if (inc.kind == "impact") {
      EventDetector det({}, /*parked=*/true);
      const double peak = rng.uniform(0.3, 0.8);
      for (int64_t t = -1000; t <= 1000; t += kAccPeriodMs) {
        AccSample s;
        const double k = t >= 0 && t < 120 ? peak * (1.0 - std::fabs(static_cast<double>(t) - 60) / 60.0) : 0.0;
        s.x = k * 0.8 + rng.normal(0.01);
        s.y = k * 0.6 + rng.normal(0.01);
        s.z = 1.0 + rng.normal(0.01);
        auto v = det.feed(at + t, s);
        found.insert(found.end(), v.begin(), v.end());
      }
      auto v = det.finish();
      found.insert(found.end(), v.begin(), v.end());
    } else {
      // Frame-difference motion score (0..1); the camera triggers at 0.15.
      for (int64_t t = 0; t < 3000; t += 100) {
        const double score = t >= 500 && t < 2500 ? rng.uniform(0.2, 0.6) : rng.uniform(0.0, 0.05);
        if (score >= 0.15) {
          Event e;
          e.kind = EventKind::ParkingMotion;
          e.time = at + t;
          e.id = make_event_id(e.time, e.kind);
          e.peak_g = 0;
          e.duration_ms = 2000;
          found.push_back(e);
          break;
        }
      }
    }
    for (auto& e : found) {
      // One clip per trigger; a trigger during a clip extends nothing.
      LocalTime clip_start{e.time.ms / 1000 * 1000};
      if (last_clip_end && clip_start < *last_clip_end) clip_start = *last_clip_end;
      const int64_t len = std::min(o.clip_ms, start + o.duration_ms - clip_start);
      if (len < 1000) continue;
      const CivilTime c = to_civil(clip_start);
      const bool night = c.hour < 7 || c.hour >= 19;
      PendingInstant pending(dir);
      FileName fn{clip_start, model.parking_road_tag, FileKind::Video, video_ext(id)};
      const SegmentMeta meta = segment_meta(id, clip_start, 0, 0);
      SegmentMeta m2 = meta;
      m2.lat.reset(), m2.lon.reset();
      write_segment(road_t, pending.add(format_file_name(fn)), len, m2);
      if (model.parking_interior_tag && model.interior_camera) {
        fn.tag = model.parking_interior_tag;
        write_segment(ensure_template(interior_of(id, night), o.cache_dir), pending.add(format_file_name(fn)), len, m2);
      }
      fn.tag = model.parking_road_tag;
      fn.kind = FileKind::Thumbnail;
      fn.ext.clear();
      write_text(pending.add(format_file_name(fn)), make_thumbnail_jpeg({clip_start, {}, {}, "Nexar", model.name}));
      const uint64_t bytes = pending.bytes();
      rep.recordings_deleted += card.make_room(model.parking_dir, bytes, clip_start, pending.finals());
      pending.commit();
      rep.recordings_written++;
      rep.bytes_written += bytes;
      last_clip_end = clip_start + len;
      e.segment = format_compact(clip_start);
      e.offset_ms = e.time - clip_start;
      append_event(o.card / "events.ndjson", e);
      ctx.log->info("parking {} at {}", to_string(e.kind), format_iso(e.time, true));
      rep.events.push_back(e);
    }
  }
  rep.end = start + o.duration_ms;
  return rep;
}

std::vector<StreamProfile> camera_templates(const std::optional<CameraIdentity>& id) {
  if (!id) return {road_profile(), interior_profile(false), interior_profile(true)};
  return {road_of(*id), interior_of(*id, false), interior_of(*id, true)};
}

}  // namespace nex::sim
