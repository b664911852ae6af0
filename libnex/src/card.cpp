#include "nex/card.hpp"

#include <algorithm>
#include <cmath>
#include <map>

#include "nex/error.hpp"
#include "nex/fsutil.hpp"
#include "nex/source.hpp"

namespace fs = std::filesystem;

namespace nex {

const char* to_string(Severity s) {
  switch (s) {
    case Severity::Info: return "info";
    case Severity::Warning: return "warning";
    case Severity::Problem: return "problem";
  }
  return "";
}

ojson Finding::to_json() const {
  ojson j;
  j["severity"] = to_string(severity);
  j["code"] = code;
  j["path"] = path;
  j["message"] = message;
  return j;
}

bool is_clock_reset(LocalTime t) { return t < from_civil({2001, 1, 1, 0, 0, 0, 0}); }

int drive_score(int hard_brakes, int collisions, double distance_m) {
  const double km = std::max(distance_m / 1000.0, 10.0);
  const double s = 100.0 - 25.0 * collisions - 10.0 * hard_brakes * 10.0 / km;
  return static_cast<int>(std::lround(std::clamp(s, 0.0, 100.0)));
}

std::string CardScan::where() const { return source ? source->describe() : root.string(); }

std::string CardScan::read(const CardFile& f) const {
  if (!source) return read_file(f.path);
  auto text = source->read_file(f.rel);
  if (!text) throw IoError(f.rel + ": no longer on the card");
  return std::move(*text);
}

const Recording* CardScan::recording_at(LocalTime t) const {
  for (const auto* list : {&recordings, &parking})
    for (const auto& r : *list)
      if (t >= r.start && t < r.start + std::max<int64_t>(r.duration_ms, 1)) return &r;
  return nullptr;
}

namespace {

struct Scanner {
  CardScan& scan;
  const ScanOptions& opts;
  const Context& ctx;
  Source& src;

  std::string text_of(const CardFile& f) {
    auto t = src.read_file(f.rel);
    if (!t) throw IoError(f.rel + ": gone");
    return std::move(*t);
  }

  void add(Severity sev, std::string code, std::string path, std::string msg) {
    scan.findings.push_back({sev, std::move(code), std::move(path), std::move(msg)});
  }

  void probe(Recording& r, Camera cam) {
    const auto& f = cam == Camera::Road ? r.road : r.interior;
    Mp4Info& info = cam == Camera::Road ? r.road_info : r.interior_info;
    try {
      if (auto local = src.local_path(f->rel))
        info = read_mp4_info(*local);
      else
        info = read_mp4_info([&](void* buf, size_t n, uint64_t off) { return src.read_at(f->rel, off, buf, n); },
                             f->size);
    } catch (const IoError& e) {
      info.state = Mp4State::Malformed;
      info.problem = e.what();
      add(Severity::Problem, "unreadable", f->rel, std::string("cannot be read: ") + e.what());
      return;
    }
    switch (info.state) {
      case Mp4State::Ok: break;
      case Mp4State::Empty:
        add(Severity::Problem, "zero-byte", f->rel, "0-byte recording (power cut before the first write?)");
        break;
      case Mp4State::NoMoov:
        add(Severity::Problem, "truncated", f->rel, info.problem + "; 'nexcut salvage' can rebuild it");
        break;
      case Mp4State::Malformed:
        add(Severity::Problem, "unreadable", f->rel, "not a playable MP4: " + info.problem);
        break;
    }
  }

  void sidecar_check(Recording& r) {
    if (!r.acc || r.acc->size == 0) return;
    // Only the tail matters for a torn line: read the last byte (over a
    // camera, the whole file would be a request of its own per segment).
    try {
      char last = '\n';
      if (src.read_at(r.acc->rel, r.acc->size - 1, &last, 1) != 1) throw IoError("shorter than listed");
      if (last != '\n')
        add(Severity::Warning, "torn-sidecar", r.acc->rel, "last G-sensor line is torn (recording cut short)");
    } catch (const IoError& e) {
      add(Severity::Problem, "unreadable", r.acc->rel, std::string("cannot be read: ") + e.what());
    }
  }

  std::vector<GpsFix> read_gps(const Recording& r) {
    if (!r.gps) return {};
    try {
      ParseStats st;
      auto fixes = parse_nmea(text_of(*r.gps), &st);
      if (st.torn_tail) add(Severity::Warning, "torn-sidecar", r.gps->rel, "last GPS line is torn (recording cut short)");
      if (st.bad_lines)
        add(Severity::Warning, "corrupt-sidecar", r.gps->rel,
            std::to_string(st.bad_lines) + " corrupt NMEA line(s) (bad checksum or fields)");
      return fixes;
    } catch (const IoError& e) {
      add(Severity::Problem, "unreadable", r.gps->rel, std::string("cannot be read: ") + e.what());
      return {};
    }
  }

  void list_dir(const std::string& dir, std::map<std::pair<std::string, bool>, Recording>& by_key) {
    std::vector<SourceEntry> entries;
    try {
      entries = src.list(dir);
    } catch (const InputError& e) {
      add(Severity::Problem, "unreadable", dir + "/", std::string("folder cannot be listed: ") + e.what());
      return;
    }
    for (const auto& ent : entries) {
      const std::string& name = ent.name;
      const std::string& rel = ent.rel;
      const bool regular = ent.regular;
      const uint64_t size = ent.size;
      if (regular) scan.used_bytes += size, (dir == "sos" ? scan.sos_bytes : scan.drive_bytes) += size;
      if (!regular) {
        scan.unknown_files.push_back(rel);
        add(Severity::Warning, "unknown-file", rel, "not a recording (a folder or special file)");
        continue;
      }
      if (!ent.complete) {
        scan.recording_now.push_back(rel);
        add(Severity::Info, "recording", rel, "being recorded now (left for when it is closed)");
        continue;
      }
      const auto fname = parse_file_name(name);
      if (!fname) {
        scan.unknown_files.push_back(rel);
        if (name.find(".tmp-") != std::string::npos)
          add(Severity::Warning, "leftover-temp", rel, "unfinished write left behind (interrupted recording)");
        else
          add(Severity::Warning, "bad-name", rel, "name does not follow YYYYMMDD_HHMMSS_T.ext (unknown file)");
        continue;
      }
      if (fname->tag && scan.model && !scan.model->uses_tag(fname->tag)) {
        add(Severity::Warning, "foreign-tag", rel,
            std::string("tag '") + fname->tag + "' is not used by " + scan.model->name);
      }
      const bool parking = fname->parking();
      const auto local = src.local_path(rel);
      CardFile cf{local.value_or(fs::path()), rel, size, *fname};
      // Untagged sidecars belong to the drive recording of that instant.
      auto& rec = by_key[{format_compact(fname->time) + "/" + dir, fname->tag ? parking : false}];
      rec.key = format_compact(fname->time);
      rec.start = fname->time;
      rec.dir = dir;
      rec.parking = fname->tag ? parking : rec.parking;
      rec.bytes += size;
      rec.files.push_back(local.value_or(fs::path(rel)));
      const auto cam = fname->camera();
      switch (fname->kind) {
        case FileKind::Video: (cam == Camera::Road ? rec.road : rec.interior) = cf; break;
        case FileKind::Thumbnail: (cam == Camera::Road ? rec.road_thumb : rec.interior_thumb) = cf; break;
        case FileKind::Gps: rec.gps = cf; break;
        case FileKind::Accel: rec.acc = cf; break;
      }
    }
  }
};

}  // namespace

CardScan scan_card(const fs::path& card, const ScanOptions& opts, const Context& ctx, bool require_identity) {
  std::shared_ptr<Source> src = open_source(card.string(), ctx);
  return scan_card(src, opts, ctx, require_identity);
}

CardScan scan_card(const std::shared_ptr<Source>& src, const ScanOptions& opts, const Context& ctx,
                   bool require_identity) {
  CardScan scan;
  scan.source = src;
  const std::string where = src->describe();
  if (!src->remote()) scan.root = where;
  Scanner s{scan, opts, ctx, *src};
  try {
    auto text = src->read_file("camera.yaml");
    if (!text) throw InputError(where + ": no camera.yaml", "is this a card folder? 'nexsim init' creates one");
    scan.camera = parse_camera_yaml(*text);
    scan.model = &scan.camera->profile();
  } catch (const Error& e) {
    if (require_identity) throw;
    s.add(Severity::Problem, "bad-identity", "camera.yaml", e.what());
  }

  // Root level: only camera.yaml, events.ndjson, drive/ and sos/ belong here.
  for (const auto& ent : src->list("")) {
    const std::string& name = ent.name;
    if (ent.regular && name != "drive" && name != "sos") scan.used_bytes += ent.size;
    if (name == "camera.yaml" || name == "events.ndjson" || name == "drive" || name == "sos") continue;
    scan.unknown_files.push_back(name);
    s.add(Severity::Info, "unknown-file", name, "not part of the card layout (ignored)");
  }

  std::map<std::pair<std::string, bool>, Recording> by_key;
  s.list_dir("drive", by_key);
  s.list_dir("sos", by_key);

  for (auto& [key, rec] : by_key) {
    if (rec.road && opts.probe_media) s.probe(rec, Camera::Road);
    if (rec.interior && opts.probe_media) s.probe(rec, Camera::Interior);
    if (rec.road_info.state == Mp4State::Ok) {
      rec.duration_ms = rec.road_info.duration_ms, rec.duration_known = true;
    } else if (rec.interior_info.state == Mp4State::Ok) {
      rec.duration_ms = rec.interior_info.duration_ms, rec.duration_known = true;
    }
    if (opts.probe_media) s.sidecar_check(rec);
    if (!rec.road && !rec.interior) {
      // Sidecars take their names before the videos do (the video is the
      // commit point): a video of this instant still under a temporary name
      // means the write was cut short between the renames, not that footage
      // went missing; nexsim's next run gives the video its name.
      const std::string temp_prefix = rec.dir + "/." + rec.key;
      bool interrupted = false;
      for (const auto& u : scan.unknown_files)
        if (u.rfind(temp_prefix, 0) == 0 && u.find(".tmp-") != std::string::npos) interrupted = true;
      for (const auto& f : rec.files) {
        const std::string rel = rec.dir + "/" + f.filename().string();
        if (interrupted)
          s.add(Severity::Warning, "leftover-temp", rel,
                "part of a write that was cut short: its video is still under a temporary name");
        else
          s.add(Severity::Warning, "orphan-sidecar", rel,
                "sidecar without a recording (its video was deleted or never written)");
      }
      continue;
    }
    (rec.parking ? scan.parking : scan.recordings).push_back(std::move(rec));
  }
  auto by_time = [](const Recording& a, const Recording& b) { return a.start < b.start; };
  std::stable_sort(scan.recordings.begin(), scan.recordings.end(), by_time);
  std::stable_sort(scan.parking.begin(), scan.parking.end(), by_time);

  // Drives: runs of consecutive segments without a gap.
  const int64_t nominal = 60000;
  std::vector<GpsFix> track;
  for (size_t i = 0; i < scan.recordings.size(); ++i) {
    Recording& r = scan.recordings[i];
    const int64_t dur = r.duration_known ? r.duration_ms : nominal;
    const bool reset = is_clock_reset(r.start);
    if (reset)
      s.add(Severity::Problem, "clock-reset", r.road ? r.road->rel : r.interior->rel,
            "camera clock was reset (recorded as " + format_iso(r.start) + ")");
    bool join = false;
    if (!scan.drives.empty()) {
      const Drive& d = scan.drives.back();
      join = r.start >= d.start && r.start - d.end <= opts.gap_tolerance_ms && d.clock_reset == reset;
    }
    if (!join) {
      if (!scan.drives.empty()) scan.drives.back().distance_m = track_length_m(track);
      track.clear();
      Drive d;
      d.id = r.key;
      d.start = r.start;
      d.end = r.start;
      d.clock_reset = reset;
      scan.drives.push_back(d);
    }
    Drive& d = scan.drives.back();
    d.segments.push_back(i);
    d.end = std::max(d.end, r.start + dur);
    d.road |= r.road.has_value();
    d.interior |= r.interior.has_value();
    d.bytes += r.bytes;
    if (opts.read_gps) {
      auto fixes = s.read_gps(r);
      track.insert(track.end(), fixes.begin(), fixes.end());
    }
  }
  if (!scan.drives.empty()) scan.drives.back().distance_m = track_length_m(track);

  // Events: attach drive events to the drive whose time span holds them.
  if (auto text = src->read_file("events.ndjson")) scan.events = parse_events(*text, &scan.events_stats);
  if (scan.events_stats.torn_tail)
    s.add(Severity::Warning, "torn-log", "events.ndjson", "last line is torn (write cut short)");
  if (scan.events_stats.bad_lines)
    s.add(Severity::Warning, "corrupt-log", "events.ndjson",
          std::to_string(scan.events_stats.bad_lines) + " corrupt line(s) skipped");
  for (size_t e = 0; e < scan.events.size(); ++e) {
    const Event& ev = scan.events[e];
    if (is_parking(ev.kind)) continue;
    for (auto& d : scan.drives)
      if (ev.time >= d.start && ev.time < d.end + opts.gap_tolerance_ms) {
        d.events.push_back(e);
        break;
      }
  }
  for (auto& d : scan.drives) {
    int hb = 0, col = 0;
    for (size_t e : d.events) {
      if (scan.events[e].kind == EventKind::HardBrake) ++hb;
      if (scan.events[e].kind == EventKind::Collision) ++col;
    }
    d.score = drive_score(hb, col, d.distance_m);
  }
  if (scan.model && !scan.model->readable)
    s.add(Severity::Info, "not-readable", "",
          scan.model->name + " keeps footage in built-in memory that a card reader cannot see; "
                             "its clips are only in the cloud");
  ctx.log->debug("scanned {}: {} segments, {} parking clips, {} events", where, scan.recordings.size(),
                 scan.parking.size(), scan.events.size());
  return scan;
}

}  // namespace nex
