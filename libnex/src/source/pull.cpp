// nexsync's first half for a camera: pull its card into a local mirror
// (nex/camera_pull.hpp).
#include <algorithm>
#include <chrono>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>

#include "nex/camera_pull.hpp"
#include "nex/card.hpp"
#include "nex/error.hpp"
#include "nex/fsutil.hpp"
#include "nex/mp4.hpp"
#include "nex/units.hpp"

namespace fs = std::filesystem;

namespace nex {

ojson CameraPullReport::to_json() const {
  ojson j;
  j["type"] = "camera";
  j["serial"] = serial;
  j["pulled"] = pulled;
  j["resumed"] = resumed;
  j["present"] = present;
  j["deferred"] = deferred;
  j["bytes"] = bytes;
  j["gone"] = gone;
  j["failed"] = failed;
  j["camera_lost"] = camera_lost;
  j["seconds"] = std::round(seconds * 1000.0) / 1000.0;
  return j;
}

namespace {

// Every file of a recording, videos first.
std::vector<const CardFile*> files_of(const Recording& r) {
  std::vector<const CardFile*> v;
  for (const auto* f : {&r.road, &r.interior, &r.gps, &r.acc, &r.road_thumb, &r.interior_thumb})
    if (f->has_value()) v.push_back(&**f);
  return v;
}

// The pull order of DESIGN.md §3: parking clips and event footage newest
// first, then drives oldest first.
std::vector<const Recording*> pull_order(const CardScan& scan, int64_t before_ms, int64_t after_ms) {
  std::vector<const Recording*> out;
  std::set<const Recording*> taken;
  auto take = [&](const Recording* r) {
    if (taken.insert(r).second) out.push_back(r);
  };
  struct Urgent {
    LocalTime t;
    std::vector<const Recording*> recs;
  };
  std::vector<Urgent> urgent;
  for (const auto& p : scan.parking) urgent.push_back({p.start, {&p}});
  for (const auto& e : scan.events) {
    if (is_parking(e.kind)) continue;
    Urgent u{e.time, {}};
    for (const auto& r : scan.recordings) {
      const int64_t dur = r.duration_known ? r.duration_ms : 60000;
      if (r.start <= e.time + after_ms && r.start + dur >= e.time - before_ms) u.recs.push_back(&r);
    }
    urgent.push_back(std::move(u));
  }
  std::stable_sort(urgent.begin(), urgent.end(), [](const Urgent& a, const Urgent& b) { return b.t < a.t; });
  for (const auto& u : urgent)
    for (const auto* r : u.recs) take(r);
  for (const auto& r : scan.recordings) take(&r);
  return out;
}

}  // namespace

static CameraPullReport pull_body(const CameraPullOptions& o, const Context& ctx) {
  std::shared_ptr<Source> src = open_source(o.url, ctx, o.client);
  auto* cam = dynamic_cast<CameraSource*>(src.get());
  if (!cam) throw UsageError(o.url + " is not a camera address", "give http://HOST[:PORT]");
  CameraPullReport rep;
  rep.serial = cam->info().serial;

  ScanOptions so;
  so.probe_media = false;  // names and sizes are enough to order the pull
  so.read_gps = false;
  const CardScan scan = scan_card(src, so, ctx, /*require_identity=*/true);
  rep.deferred = scan.recording_now.size();
  rep.recording = scan.recording_now;
  for (const auto& rel : scan.recording_now) ctx.log->debug("{}: being recorded; left for the next run", rel);

  std::map<std::string, std::string> etags;
  for (const auto& f : cam->listing().files) etags[f.path] = f.etag;

  if (!o.dry_run) {
    fs::create_directories(o.mirror / "drive");
    fs::create_directories(o.partial_dir);
    // Identity and the event log: small, replaced whole (the camera's copy
    // is the truth and only grows).
    for (const char* name : {"camera.yaml", "events.ndjson"}) {
      auto text = src->read_file(name);
      if (text) write_file_atomic(o.mirror / name, *text);
    }
  }

  // The renames are made durable with one fsync a folder, before the pull
  // reports anything saved (and on the way out of an interrupted one).
  std::set<fs::path> renamed_into;
  struct SyncDirs {
    std::set<fs::path>& dirs;
    ~SyncDirs() {
      for (const auto& d : dirs) try {
          fsync_path(d);
        } catch (const IoError&) {
        }
    }
  } sync_dirs{renamed_into};
  for (const Recording* r : pull_order(scan, o.before_ms, o.after_ms)) {
    for (const CardFile* f : files_of(*r)) {
      if (rep.camera_lost) break;
      ctx.check_interrupt();
      const fs::path final_path = o.mirror / f->rel;
      std::error_code ec;
      if (fs::exists(final_path, ec) && fs::file_size(final_path, ec) == f->size) {
        ++rep.present;
        continue;
      }
      if (o.dry_run) {
        ctx.log->info("would pull {} ({})", f->rel, f->size);
        continue;
      }
      const std::string etag = etags[f->rel];
      const fs::path part = o.partial_dir / (f->rel + ".part");
      const fs::path tag = o.partial_dir / (f->rel + ".etag");
      fs::create_directories(part.parent_path());
      // A partial download of another version of the file cannot be resumed.
      std::string old_tag;
      try {
        if (fs::exists(tag, ec)) old_tag = read_file(tag);
      } catch (const IoError&) {
      }
      if (old_tag != etag) {
        // The tag is only as durable as the part beside it (fsync'd once
        // whole): a tag lost to a power cut costs a download from the
        // start, never a resume of the wrong version. Two fsyncs a file
        // were a third of a pull's time on loopback.
        fs::remove(part, ec);
        std::ofstream t(tag, std::ios::binary | std::ios::trunc);
        t << etag;
        if (!t.flush()) throw IoError(tag.string() + ": cannot write");
      }
      auto res = cam->fetch(f->rel, part, etag);
      rep.bytes += res.received;
      using F = CameraSource::Fetch;
      if (res.status == F::Gone) {
        rep.gone.push_back(f->rel);
        ctx.log->warn("{}: overwritten on the camera before it could be saved", f->rel);
        fs::remove(part, ec);
        fs::remove(tag, ec);
        continue;
      }
      if (res.status == F::Failed) {
        // The camera's link is gone (or it refuses): the rest waits for the
        // next run, which resumes from the partial file.
        rep.failed.push_back(f->rel + ": " + res.error);
        ctx.log->warn("{}: {} (kept {} for the next run)", f->rel, res.error, format_size(fs::file_size(part, ec)));
        rep.camera_lost = true;
        break;
      }
      if (res.size != f->size)
        ctx.log->warn("{}: the listing said {} bytes, the file has {}", f->rel, f->size, res.size);
      if (f->name.kind == FileKind::Video) {
        const Mp4Info info = read_mp4_info(part);
        if (info.state != Mp4State::Ok) {
          rep.failed.push_back(f->rel + ": downloaded but not a playable MP4 (" + info.problem + ")");
          fs::remove(part, ec);
          continue;
        }
      }
      fs::create_directories(final_path.parent_path());
      if (::rename(part.c_str(), final_path.c_str()) != 0)
        throw IoError(final_path.string() + ": rename: " + errno_text(errno));
      renamed_into.insert(final_path.parent_path());
      fs::remove(tag, ec);
      ++rep.pulled;
      if (res.resumed_from > 0) ++rep.resumed;
      ctx.log->debug("pulled {} ({}{})", f->rel, format_size(res.size),
                     res.resumed_from ? ", resumed at " + format_size(res.resumed_from) : "");
    }
    if (rep.camera_lost) break;
  }
  for (const auto& dir : renamed_into) fsync_path(dir);
  renamed_into.clear();
  return rep;
}

CameraPullReport pull_camera(const CameraPullOptions& o, const Context& ctx) {
  const auto t0 = std::chrono::steady_clock::now();
  CameraPullReport r = pull_body(o, ctx);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace nex
