// The plan: what a card holds for the backup, in upload order, and the quota
// rule that decides what stays at the destination.
#include <algorithm>
#include <map>

#include "nex/cut.hpp"
#include "nex/error.hpp"
#include "nex/fsutil.hpp"
#include "nex/listing.hpp"
#include "nex/naming.hpp"
#include "sync/internal.hpp"

namespace nex::sync {

uint64_t PlanItem::bytes() const {
  uint64_t n = 0;
  for (const auto& f : files) n += f.size;
  return n;
}

bool PlanItem::estimated() const {
  return std::any_of(files.begin(), files.end(), [](const PlanFile& f) { return f.estimated; });
}

namespace {

constexpr int64_t kGapMs = 2000;           // recordings closer than this are contiguous
constexpr int64_t kLiveMs = 90000;         // --watch: a file this fresh is still being recorded
constexpr int64_t kEventWaitMs = 10000;    // --watch: a parking clip waits this long for its event
constexpr int64_t kCloseGraceMs = 3000;    // --watch: a segment closed this recently may have a successor coming
// A 30x timelapse of the road camera re-encoded at CRF 21 holds about this
// fraction of the source bytes (every kept frame is a keyframe).
constexpr double kTimelapseRatio = 1.0 / 28.0;

int64_t dur(const Recording& r) { return r.duration_known ? r.duration_ms : 60000; }
LocalTime rec_end(const Recording& r) { return r.start + dur(r); }

const std::optional<CardFile>& cam_file(const Recording& r, Camera c) {
  return c == Camera::Road ? r.road : r.interior;
}
const Mp4Info& cam_info(const Recording& r, Camera c) {
  return c == Camera::Road ? r.road_info : r.interior_info;
}
bool cam_ok(const Recording& r, Camera c) {
  return cam_file(r, c).has_value() && cam_info(r, c).state == Mp4State::Ok;
}

ojson files_json(const std::vector<const Recording*>& recs) {
  ojson a = ojson::array();
  for (const Recording* r : recs)
    for (const auto* f : {&r->road, &r->interior})
      if (*f) a.push_back(ojson::array({(*f)->rel, (*f)->size}));
  return a;
}

std::string recipe_of(const ojson& j) { return sha256_hex(j.dump()); }

// The name a temporary ("." NAME ".tmp-" PID) will get; a temporary of a
// temporary while a camera copies into place ("..NAME.tmp-PID.tmp-PID-1")
// names NAME too. nullopt for any other name.
std::optional<std::string> temp_final(std::string_view name) {
  auto tmp = parse_temp_name(name);
  if (!tmp) return std::nullopt;
  std::string_view n = tmp->final_name;
  while (!n.empty() && n[0] == '.') n.remove_prefix(1);
  return std::string(n);
}

const ojson* find_row(const Records& r, const std::string& id) {
  for (const auto& row : r.rows())
    if (row.value("id", "") == id) return &row;
  return nullptr;
}

struct Builder {
  const CardScan& scan;
  const PlanOptions& o;
  const Context& ctx;
  std::string serial;
  Records events_view, parking_view, drives_view, segments_view;

  Builder(const CardScan& s, const PlanOptions& opts, const Context& c)
      : scan(s),
        o(opts),
        ctx(c),
        serial(s.camera ? s.camera->serial : ""),
        events_view(list_view(s, View::Events, {})),
        parking_view(list_view(s, View::Parking, {})),
        drives_view(list_view(s, View::Drives, {})),
        segments_view(list_view(s, View::Segments, {})) {}

  ItemRef ref(ItemKind k, const std::string& id) const { return {serial, category(k), id}; }

  uint64_t timelapse_estimate(uint64_t source_bytes) const {
    return std::max<uint64_t>(1, static_cast<uint64_t>(static_cast<double>(source_bytes) * kTimelapseRatio * 30.0 /
                                                       std::max(1, o.timelapse)));
  }

  bool fresh(const fs::path& p, int64_t window_ms) const {
    if (!o.watch) return false;
    auto st = stamp(p);
    return st && o.now_ms - st->mtime_ns / 1000000 < window_ms;
  }

  int64_t age_ms(int64_t ns) const { return o.now_ms - ns / 1000000; }

  // Whether the camera is still recording the drive that ends with `last`:
  // - it is writing the file that follows `last` (a camera lists it as
  //   incomplete; on a card it has a temporary name ".NAME.tmp-PID", as
  //   nexsim and cameras that rename at the close write it; a temporary
  //   that a dead writer left behind stops counting once it is old);
  // - --watch: the last video is still growing without its index (a camera
  //   that writes under the final name), or it closed a moment ago and the
  //   next segment has not been opened yet.
  bool still_recording(const Recording& last) const {
    const LocalTime lo = last.start, hi = rec_end(last) + kGapMs;
    auto follows = [&](std::string_view name) {
      auto fn = parse_file_name(name);
      return fn && !fn->parking() && fn->kind == FileKind::Video && lo <= fn->time && fn->time <= hi;
    };
    // (a camera lists what it writes by its temporary name, as a card holds
    // it, or by the final name)
    for (const auto* list : {&scan.recording_now, &o.recording_now})
      for (const auto& rel : *list)
        if (follows(temp_final(fs::path(rel).filename().string()).value_or(fs::path(rel).filename().string())))
          return true;
    if (!scan.root.empty())
      for (const auto& rel : scan.unknown_files) {
        auto final_name = temp_final(fs::path(rel).filename().string());
        if (!final_name || !follows(*final_name)) continue;
        // ctime: a camera may date its files by its own clock (nexsim does),
        // but the kernel dates the last change of the file by the machine's.
        auto st = stamp(scan.root / rel);
        if (st && age_ms(std::max(st->mtime_ns, st->ctime_ns)) < kLiveMs + dur(last)) return true;
      }
    if (!o.watch) return false;
    // A camera records one file at a time: once it has recorded something
    // later, a last video without its index is one a power loss cut short,
    // not one still growing.
    const bool later = std::any_of(scan.recordings.begin(), scan.recordings.end(),
                                   [&](const Recording& r) { return r.start > last.start; }) ||
                       std::any_of(scan.parking.begin(), scan.parking.end(),
                                   [&](const Recording& r) { return r.start > last.start; }) ||
                       std::any_of(scan.unknown_files.begin(), scan.unknown_files.end(), [&](const std::string& rel) {
                         auto n = temp_final(fs::path(rel).filename().string());
                         auto fn = n ? parse_file_name(*n) : std::nullopt;
                         return fn && fn->kind == FileKind::Video && fn->time > hi;
                       });
    for (Camera c : {Camera::Road, Camera::Interior}) {
      const auto& f = cam_file(last, c);
      if (!f) continue;
      auto st = stamp(f->path);
      if (!st) continue;
      if (cam_info(last, c).state != Mp4State::Ok && !later && age_ms(std::max(st->mtime_ns, st->ctime_ns)) < kLiveMs)
        return true;
      if (age_ms(std::max(st->mtime_ns, st->ctime_ns)) < kCloseGraceMs) return true;
    }
    return false;
  }

  // The drive recordings contiguous with `center` that overlap [from, to).
  std::vector<const Recording*> span(const Recording& center, LocalTime from, LocalTime to,
                                     const std::function<bool(const Recording&)>& usable) const {
    const auto& recs = scan.recordings;
    size_t ci = static_cast<size_t>(&center - recs.data());
    std::vector<const Recording*> out{&center};
    for (size_t i = ci; i-- > 0;) {
      const Recording& r = recs[i];
      if (rec_end(r) <= from || rec_end(r) + kGapMs < out.front()->start || !usable(r)) break;
      out.insert(out.begin(), &r);
    }
    for (size_t i = ci + 1; i < recs.size(); ++i) {
      const Recording& r = recs[i];
      if (r.start >= to || r.start > rec_end(*out.back()) + kGapMs || !usable(r)) break;
      out.push_back(&r);
    }
    return out;
  }

  const Recording* drive_recording_at(LocalTime t) const {
    for (const auto& r : scan.recordings)
      if (t >= r.start && t < rec_end(r)) return &r;
    return nullptr;
  }

  // Clip files (road, interior) of [from, to) around `center`.
  void add_clip_files(PlanItem& it, const Recording& center, LocalTime from, LocalTime to) {
    ojson cams = ojson::array();
    std::vector<const Recording*> all_used;
    for (Camera cam : {Camera::Road, Camera::Interior}) {
      const char* name = cam == Camera::Road ? "road.mp4" : "interior.mp4";
      if (!cam_file(center, cam)) continue;
      PlanFile f;
      f.name = name;
      f.rel = it.ref.rel_folder() + "/" + name;
      f.camera = to_string(cam);
      if (!cam_ok(center, cam)) {
        // Truncated or unreadable: keep the evidence as the camera left it.
        f.make = PlanFile::Make::Copy;
        f.path = cam_file(center, cam)->path;
        f.source = cam_file(center, cam)->rel;
        f.size = cam_file(center, cam)->size;
        it.note = "the " + std::string(to_string(cam)) + " recording is damaged: copied as the camera left it";
        all_used.push_back(&center);
      } else {
        auto recs = span(center, from, to, [&](const Recording& r) { return cam_ok(r, cam); });
        LocalTime f0 = std::max(from, recs.front()->start), t0 = std::min(to, rec_end(*recs.back()));
        f.make = PlanFile::Make::Clip;
        f.source = "clip";
        f.from = f0;
        f.to = t0;
        double bytes = 0;
        for (const Recording* r : recs) {
          const int64_t a = std::max(f0.ms, r->start.ms), b = std::min(t0.ms, rec_end(*r).ms);
          if (b > a) bytes += static_cast<double>(cam_file(*r, cam)->size) * static_cast<double>(b - a) /
                              static_cast<double>(dur(*r));
          all_used.push_back(r);
        }
        f.size = static_cast<uint64_t>(bytes);
        f.estimated = true;
        if (!it.from || f0 < *it.from) it.from = f0;
        if (!it.to || t0 > *it.to) it.to = t0;
      }
      cams.push_back(f.camera);
      it.files.push_back(std::move(f));
    }
    std::sort(all_used.begin(), all_used.end());
    all_used.erase(std::unique(all_used.begin(), all_used.end()), all_used.end());
    std::sort(all_used.begin(), all_used.end(), [](auto* a, auto* b) { return a->start < b->start; });
    add_sidecars(it, all_used);
    ojson r;
    r["v"] = 1;
    r["t"] = to_string(it.kind);
    r["from"] = format_iso(from, true);
    r["to"] = format_iso(to, true);
    r["cams"] = cams;
    r["src"] = files_json(all_used);
    it.recipe = recipe_of(r);
  }

  void copy_file(PlanItem& it, const CardFile& cf, const std::string& name, const std::string& rel,
                 const std::string& camera) {
    PlanFile f;
    f.name = name;
    f.rel = rel;
    f.make = PlanFile::Make::Copy;
    f.path = cf.path;
    f.source = cf.rel;
    f.camera = camera;
    f.size = cf.size;
    it.files.push_back(std::move(f));
  }

  // The untouched .gps and .acc sidecars of the card segments an event or
  // clip is made of, under their card names (camera "", source the card
  // file): nexls DEST/ITEM --report draws its charts and track from them.
  // Not part of the recipe: an item backed up before they were sent stays
  // up to date as it is (docs/nexsync.md).
  void add_sidecars(PlanItem& it, const std::vector<const Recording*>& recs) {
    for (const Recording* r : recs)
      for (const auto* f : {&r->gps, &r->acc})
        if (*f) {
          const std::string name = fs::path((*f)->rel).filename().string();
          copy_file(it, **f, name, it.ref.rel_folder() + "/" + name, "");
        }
  }

  // A clip item that is a recording's files as they are (parking clips, segments).
  void add_copied_recording(PlanItem& it, const Recording& rec) {
    if (rec.road) copy_file(it, *rec.road, "road.mp4", it.ref.rel_folder() + "/road.mp4", "road");
    if (rec.interior)
      copy_file(it, *rec.interior, "interior.mp4", it.ref.rel_folder() + "/interior.mp4", "interior");
    add_sidecars(it, {&rec});
    it.from = rec.start;
    it.to = rec_end(rec);
    ojson r;
    r["v"] = 1;
    r["t"] = to_string(it.kind);
    r["src"] = files_json({&rec});
    it.recipe = recipe_of(r);
  }

  std::optional<PlanItem> drive_event(const Event& e) {
    PlanItem it;
    it.kind = ItemKind::Event;
    it.ref = ref(it.kind, e.id);
    it.time = e.time;
    if (auto* row = find_row(events_view, e.id)) it.records["events"] = *row;
    const Recording* center = drive_recording_at(e.time);
    if (!center) {
      it.note = "footage overwritten on the card: the event's record only";
      ojson r{{"v", 1}, {"t", "event"}, {"gone", true}};
      it.recipe = recipe_of(r);
      return it;
    }
    const LocalTime from = e.time - o.before_ms, to = e.time + o.after_ms;
    add_clip_files(it, *center, from, to);
    if (o.watch) {
      // Footage after the event may still be recording.
      const Recording& last = scan.recordings.back();
      if (to > rec_end(last) && still_recording(last))
        it.defer = "waits for the footage after the event";
    }
    return it;
  }

  std::optional<PlanItem> parking_item(const Recording& p, const Event* e) {
    PlanItem it;
    it.kind = ItemKind::Parking;
    it.ref = ref(it.kind, e ? e->id : p.key + "_parking");
    it.time = e ? e->time : p.start;
    if (e)
      if (auto* row = find_row(events_view, e->id)) it.records["events"] = *row;
    if (auto* row = find_row(parking_view, p.key)) it.records["parking"] = *row;
    add_copied_recording(it, p);
    if (!e && p.road && fresh(p.road->path, kEventWaitMs)) it.defer = "waits for its event";
    return it;
  }

  std::optional<PlanItem> parking_event_gone(const Event& e) {
    PlanItem it;
    it.kind = ItemKind::Parking;
    it.ref = ref(it.kind, e.id);
    it.time = e.time;
    if (auto* row = find_row(events_view, e.id)) it.records["events"] = *row;
    it.note = "clip overwritten on the card: the event's record only";
    it.recipe = recipe_of(ojson{{"v", 1}, {"t", "parking"}, {"gone", true}});
    return it;
  }

  std::optional<PlanItem> clip_item(const ClipRequest& c) {
    cut::Selection sel;
    sel.from = c.from;
    sel.to = c.to;
    const cut::Window w = cut::resolve_selection(scan, sel);
    const Recording* center = nullptr;
    for (const auto& r : scan.recordings)
      if (rec_end(r) > w.from && r.start < w.to) {
        center = &r;
        break;
      }
    if (!center)
      throw InputError("no footage on the card between " + format_iso(w.from) + " and " + format_iso(w.to),
                       "list drives with 'nexls CARD'");
    PlanItem it;
    it.kind = ItemKind::Clip;
    it.ref = ref(it.kind, format_compact(w.from) + "_" + clip_slug(c.name.empty() ? "clip" : c.name));
    it.time = w.from;
    add_clip_files(it, *center, std::max(w.from, center->start), w.to);
    it.records["clips"] = clip_record(it);
    return it;
  }

  std::optional<PlanItem> segment_item(const Recording& rec) {
    PlanItem it;
    it.kind = ItemKind::Clip;
    it.ref = ref(it.kind, rec.key + "_segment");
    it.time = rec.start;
    add_copied_recording(it, rec);
    it.records["clips"] = clip_record(it);
    if (auto* row = find_row(segments_view, rec.key)) it.records["segments"] = ojson::array({*row});
    return it;
  }

  ojson clip_record(const PlanItem& it) const {
    ojson j;
    j["type"] = "clip";
    j["id"] = it.ref.id;
    j["start"] = it.from ? ojson(format_iso(*it.from)) : ojson(nullptr);
    j["end"] = it.to ? ojson(format_iso(*it.to)) : ojson(nullptr);
    const int64_t d = it.from && it.to ? *it.to - *it.from : 0;
    j["duration_s"] = static_cast<double>(d) / 1000.0;
    j["duration"] = format_duration(d);
    ojson cams = ojson::array();
    for (const auto& f : it.files)
      if (!f.camera.empty()) cams.push_back(f.camera);
    j["cameras"] = cams;
    j["name"] = it.ref.id.size() > 16 ? it.ref.id.substr(16) : "";
    return j;
  }

  std::optional<PlanItem> drive_item(const Drive& d, DrivesMode mode) {
    PlanItem it;
    it.kind = ItemKind::Drive;
    it.ref = ref(it.kind, d.id);
    it.time = d.start;
    if (auto* row = find_row(drives_view, d.id)) it.records["drives"] = *row;
    ojson recipe;
    recipe["v"] = 1;
    recipe["t"] = "drive";
    recipe["mode"] = to_string(mode);
    std::vector<const Recording*> segs;
    for (size_t i : d.segments) segs.push_back(&scan.recordings[i]);
    recipe["src"] = files_json(segs);
    const bool full = mode == DrivesMode::Full || mode == DrivesMode::Both;
    const bool lapse = mode == DrivesMode::Timelapse || mode == DrivesMode::Both;
    const bool recording = !segs.empty() && still_recording(*segs.back());
    // A drive backed up while it was recorded keeps its timelapse in one
    // part per segment: each closed segment's part goes as soon as it
    // closes, and none is made or sent twice. A drive backed up after it
    // ended has one timelapse file, as before.
    const bool parts = lapse && (recording || o.timelapse_parts.count(d.id) > 0);
    if (recording && (full || parts)) {
      // Its closed segments (and their timelapse parts) go now; with one
      // timelapse file (--drives both, never backed up in parts), the
      // timelapse goes when it ends.
      it.open = true;
      recipe["open"] = true;
      it.note = "still recording: " + std::to_string(segs.size()) + " segment(s) so far";
    }
    std::vector<std::string> salvaged;
    if (full) {
      ojson rows = ojson::array();
      for (const Recording* r : segs) {
        std::vector<const CardFile*> files;
        for (const auto* f : {&r->road, &r->interior, &r->road_thumb, &r->interior_thumb, &r->gps, &r->acc})
          if (*f) files.push_back(&**f);
        for (const CardFile* f : files) {
          std::string cam;
          if (auto c = f->name.camera(); c && f->name.kind == FileKind::Video) cam = to_string(*c);
          const std::string name = fs::path(f->rel).filename().string();
          copy_file(it, *f, name, footage_rel(r->start, name), cam);
        }
        // A video that lost power before its index is sent as the camera
        // left it (evidence first) and, once the drive has ended, salvaged
        // beside it (a playable copy of every complete frame).
        if (!it.open)
          for (Camera c : {Camera::Road, Camera::Interior}) {
            const auto& cf = cam_file(*r, c);
            if (!cf || cam_info(*r, c).state != Mp4State::NoMoov) continue;
            const fs::path orig(cf->rel);
            PlanFile f;
            f.name = orig.stem().string() + ".salvaged" + orig.extension().string();
            f.rel = footage_rel(r->start, f.name);
            f.make = PlanFile::Make::Salvage;
            f.path = cf->path;
            f.source = "salvaged from " + cf->rel + " (" + std::to_string(cf->size) + " bytes)";
            f.camera = to_string(c);
            f.size = std::max<uint64_t>(1, cf->size);
            f.estimated = true;
            salvaged.push_back(f.name);
            it.files.push_back(std::move(f));
          }
        if (auto* row = find_row(segments_view, r->key)) rows.push_back(*row);
      }
      it.records["segments"] = std::move(rows);
      if (!salvaged.empty()) {
        recipe["salvage"] = salvaged;
        std::string names;
        for (const auto& n : salvaged) names += (names.empty() ? "" : ", ") + n;
        it.note += std::string(it.note.empty() ? "" : "; ") + std::to_string(salvaged.size()) +
                   " video(s) cut short by a power loss, sent as the camera left them and salvaged (" + names + ")";
      }
    }
    if (parts) {
      size_t left_out = 0;
      ojson keys = ojson::array();
      for (const Recording* r : segs) {
        // (The segment being written under its final name has no index yet;
        // a power cut leaves one without: neither makes a part.)
        if (!cam_ok(*r, Camera::Road)) {
          ++left_out;
          continue;
        }
        PlanFile f;
        f.name = timelapse_part_name(r->key);
        f.rel = it.ref.rel_folder() + "/" + f.name;
        f.make = PlanFile::Make::Timelapse;
        // What the part is made of, exactly: a later pass keeps the part
        // the manifest lists with the same source.
        f.source = "timelapse " + std::to_string(o.timelapse) + "x of " + r->road->rel + " (" +
                   std::to_string(r->road->size) + " bytes)";
        f.camera = "road";
        f.from = r->start;
        f.to = rec_end(*r);
        f.size = timelapse_estimate(r->road->size);
        f.estimated = true;
        keys.push_back(r->key);
        it.files.push_back(std::move(f));
      }
      recipe["timelapse"] = o.timelapse;
      recipe["parts"] = std::move(keys);
      if (left_out > (it.open && !cam_ok(*segs.back(), Camera::Road) ? 1u : 0u))
        it.note += std::string(it.note.empty() ? "" : "; ") + "the timelapse leaves out " +
                   std::to_string(left_out) + " segment(s) it cannot read";
    } else if (lapse && !it.open) {
      // The first run of readable road segments (a power cut leaves the last
      // one without its index).
      size_t a = 0;
      while (a < segs.size() && !cam_ok(*segs[a], Camera::Road)) ++a;
      size_t b = a;
      while (b + 1 < segs.size() && cam_ok(*segs[b + 1], Camera::Road)) ++b;
      if (a < segs.size()) {
        PlanFile f;
        f.name = "road-timelapse.mp4";
        f.rel = it.ref.rel_folder() + "/road-timelapse.mp4";
        f.make = PlanFile::Make::Timelapse;
        f.source = "timelapse";
        f.camera = "road";
        f.from = segs[a]->start;
        f.to = rec_end(*segs[b]);
        uint64_t src = 0;
        for (size_t i = a; i <= b; ++i) src += segs[i]->road->size;
        f.size = timelapse_estimate(src);
        f.estimated = true;
        recipe["timelapse"] = o.timelapse;
        recipe["tl"] = ojson::array({format_iso(f.from, true), format_iso(f.to, true)});
        if (b + 1 < segs.size() || a > 0)
          it.note = "the timelapse covers " + format_iso(f.from) + " to " + format_iso(f.to) +
                    " (damaged segments left out)";
        it.files.push_back(std::move(f));
      }
    }
    it.from = d.start;
    it.to = d.end;
    it.recipe = recipe_of(recipe);
    if (recording && !it.open) it.defer = "still recording";
    if (it.files.empty()) return std::nullopt;
    return it;
  }
};

}  // namespace

void order_items(std::vector<PlanItem>& items) {
  auto group = [](ItemKind k) {
    switch (k) {
      case ItemKind::Event:
      case ItemKind::Parking: return 0;
      case ItemKind::Clip: return 1;
      case ItemKind::Drive: return 2;
    }
    return 3;
  };
  std::stable_sort(items.begin(), items.end(), [&](const PlanItem& a, const PlanItem& b) {
    const int ga = group(a.kind), gb = group(b.kind);
    if (ga != gb) return ga < gb;
    if (ga == 2) return a.time < b.time;  // continuous footage: oldest first
    return b.time < a.time;               // events and clips: newest first
  });
}

PlanResult build_plan(const CardScan& scan, const PlanOptions& o, const Context& ctx) {
  PlanResult res;
  Builder b(scan, o, ctx);
  auto wanted = [&](const char* type, const std::string& id) {
    if (!o.items) return true;
    return std::any_of(o.items->begin(), o.items->end(),
                       [&](const auto& p) { return p.first == type && p.second == id; });
  };
  std::set<std::pair<std::string, std::string>> matched;
  auto mark = [&](const char* type, const std::string& id) { matched.insert({type, id}); };

  std::set<std::string> parking_with_event;
  for (const auto& e : scan.events) {
    if (is_parking(e.kind)) {
      const Recording* clip = nullptr;
      for (const auto& p : scan.parking)
        if (p.key == e.segment) clip = &p;
      const bool want = wanted("event", e.id) || (clip && wanted("parking", clip->key));
      if (clip) parking_with_event.insert(clip->key);
      if (!want) continue;
      mark("event", e.id);
      if (clip) mark("parking", clip->key);
      auto it = clip ? b.parking_item(*clip, &e) : b.parking_event_gone(e);
      if (it) res.items.push_back(std::move(*it));
    } else {
      if (!wanted("event", e.id)) continue;
      mark("event", e.id);
      if (auto it = b.drive_event(e)) res.items.push_back(std::move(*it));
    }
  }
  for (const auto& p : scan.parking) {
    if (parking_with_event.count(p.key) || !wanted("parking", p.key)) continue;
    mark("parking", p.key);
    if (auto it = b.parking_item(p, nullptr)) res.items.push_back(std::move(*it));
  }
  for (const auto& c : o.clips)
    if (auto it = b.clip_item(c)) res.items.push_back(std::move(*it));
  if (o.items)
    for (const auto& r : scan.recordings)
      if (wanted("segment", r.key)) {
        mark("segment", r.key);
        if (auto it = b.segment_item(r)) res.items.push_back(std::move(*it));
      }
  for (const auto& d : scan.drives) {
    if (!wanted("drive", d.id)) continue;
    mark("drive", d.id);
    DrivesMode mode = o.drives;
    // A drive asked for by --items goes even when the policy sends none.
    if (mode == DrivesMode::None && o.items) mode = DrivesMode::Timelapse;
    if (mode == DrivesMode::None) continue;
    if (auto it = b.drive_item(d, mode)) res.items.push_back(std::move(*it));
  }
  if (o.items)
    for (const auto& [type, id] : *o.items)
      if (!matched.count({type, id}))
        res.problems.push_back(type + " " + id + ": not on the card");
  // The same item twice (e.g. an --items line and a --clip): keep the first.
  std::set<std::string> seen;
  std::vector<PlanItem> unique;
  for (auto& it : res.items)
    if (seen.insert(it.ref.folder()).second) unique.push_back(std::move(it));
  res.items = std::move(unique);
  order_items(res.items);
  return res;
}

QuotaDecision plan_quota(const std::vector<QuotaItem>& pending, const std::vector<QuotaItem>& existing,
                         uint64_t used, uint64_t quota) {
  QuotaDecision d;
  d.pending_verdict.assign(pending.size(), "");
  // What may roll over: continuous footage at the destination, not starred.
  uint64_t rollable = 0;
  for (const auto& e : existing)
    if (is_continuous(e.kind) && !e.starred) rollable += e.bytes;
  uint64_t fixed = used - std::min(used, rollable);
  d.over = fixed > quota;
  // Events and clips first, in upload order.
  for (size_t i = 0; i < pending.size(); ++i) {
    if (is_continuous(pending[i].kind)) continue;
    if (fixed + pending[i].bytes <= quota) fixed += pending[i].bytes;
    else d.pending_verdict[i] = "left out";
  }
  // Continuous footage: the newest that fits stays (FIFO).
  struct Cand {
    LocalTime time;
    uint64_t bytes;
    bool existing;
    size_t index;
  };
  std::vector<Cand> c;
  for (size_t i = 0; i < existing.size(); ++i)
    if (is_continuous(existing[i].kind) && !existing[i].starred)
      c.push_back({existing[i].time, existing[i].bytes, true, i});
  for (size_t i = 0; i < pending.size(); ++i)
    if (is_continuous(pending[i].kind)) c.push_back({pending[i].time, pending[i].bytes, false, i});
  std::stable_sort(c.begin(), c.end(), [](const Cand& a, const Cand& b) { return b.time < a.time; });
  const uint64_t budget = quota > fixed ? quota - fixed : 0;
  uint64_t taken = 0;
  bool full = false, kept_any = false;
  std::vector<size_t> victims;
  for (const Cand& x : c) {
    if (!full && taken + x.bytes <= budget) {
      taken += x.bytes;
      kept_any = true;
      continue;
    }
    full = true;
    if (x.existing) victims.push_back(x.index);
    else d.pending_verdict[x.index] = kept_any ? "rolled over" : "left out";
  }
  // Oldest first.
  std::sort(victims.begin(), victims.end(),
            [&](size_t a, size_t b) { return existing[a].time < existing[b].time; });
  for (size_t v : victims) d.victims.push_back(existing[v].ref);
  return d;
}

}  // namespace nex::sync
