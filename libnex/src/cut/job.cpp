// The nexcut job: a selection (times, an event, a drive, nexls items) turned
// into windows, and the clips, stills and telemetry written for them.
#include <fstream>
#include <iostream>

#include "cut/internal.hpp"
#include "nex/error.hpp"
#include "nex/listing.hpp"

namespace nex::cut {

using namespace detail;

namespace {

bool is_time_of_day(std::string_view s) { return s.size() >= 5 && s[2] == ':' && !parse_iso(s); }

// A time argument. Absolute ISO times stand alone; a time of day is looked up
// in the drives (newest first) unless a reference drive is given; relative
// times count from the reference.
LocalTime time_arg(const CardScan& scan, const std::string& s, const Drive* ref, const char* what) {
  auto bad = [&] {
    return UsageError(std::string("bad ") + what + " '" + s + "'",
                      "use ISO 8601 (2026-11-20T08:12:30), a time of day (08:12:30) or a relative time (+90s)");
  };
  if (auto t = parse_iso(s)) return *t;
  if (is_time_of_day(s) && !ref) {
    for (auto it = scan.drives.rbegin(); it != scan.drives.rend(); ++it) {
      auto t = parse_time_arg(s, it->start);
      if (!t) throw bad();
      if (*t >= it->start && *t <= it->end) return *t;
    }
  }
  if (!ref && scan.drives.empty()) {
    if (!parse_time_arg(s, LocalTime{})) throw bad();
    throw InputError("the card has no drive footage to resolve '" + s + "' against", "give an ISO 8601 time");
  }
  const LocalTime base = ref ? ref->start : scan.drives.back().start;
  auto t = parse_time_arg(s, base);
  if (!t) throw bad();
  return *t;
}

int64_t duration_arg(const std::string& s, const char* what) {
  auto d = parse_duration(s);
  if (!d || *d < 0) throw UsageError(std::string("bad ") + what + " '" + s + "'", "e.g. 20s, 1m30s, 500ms");
  return *d;
}

const Event* find_event(const CardScan& scan, const std::string& id) {
  for (const auto& e : scan.events)
    if (e.id == id) return &e;
  return nullptr;
}

}  // namespace

Window window_for_item(const CardScan& scan, const std::string& type, const std::string& id, int64_t before_ms,
                       int64_t after_ms) {
  if (type == "event") {
    const Event* e = find_event(scan, id);
    if (!e) throw InputError("no event '" + id + "' on " + scan.where(), "list events with 'nexls CARD --events'");
    if (is_parking(e->kind)) {
      for (const auto& p : scan.parking)
        if (p.key == e->segment) return {p.start, p.end(), id};
    }
    return {e->time - before_ms, e->time + after_ms, id};
  }
  if (type == "drive") {
    const Drive* d = find_drive(scan, id);
    if (!d) throw InputError("no drive '" + id + "' on " + scan.where(), "list drives with 'nexls CARD'");
    return {d->start, d->end, "drive_" + d->id};
  }
  if (type == "segment") {
    for (const auto& r : scan.recordings)
      if (r.key == id) return {r.start, r.start + (r.duration_known ? r.duration_ms : 60000), "segment_" + id};
    throw InputError("no segment '" + id + "' on " + scan.where(), "list segments with 'nexls CARD --segments'");
  }
  if (type == "parking") {
    for (const auto& r : scan.parking)
      if (r.key == id) return {r.start, r.start + (r.duration_known ? r.duration_ms : 20000), "parking_" + id};
    throw InputError("no parking clip '" + id + "' on " + scan.where(), "list them with 'nexls CARD --parking'");
  }
  throw InputError("unknown item type '" + type + "'", "nexcut reads drive, segment, event and parking lines");
}

Window resolve_selection(const CardScan& scan, const Selection& s) {
  const Drive* ref = nullptr;
  if (!s.drive.empty()) {
    ref = find_drive(scan, s.drive);
    if (!ref) throw InputError("no drive '" + s.drive + "' on " + scan.where(), "list drives with 'nexls CARD'");
  }
  const int ways = !s.from.empty() + !s.at.empty() + !s.event.empty();
  if (ways > 1) throw UsageError("give one of --from/--to, --at or --event");
  if (!s.to.empty() && s.from.empty()) throw UsageError("--to needs --from");
  const int64_t before = duration_arg(s.before, "--before"), after = duration_arg(s.after, "--after");
  if (!s.event.empty()) return window_for_item(scan, "event", s.event, before, after);
  if (!s.at.empty()) {
    const LocalTime t = time_arg(scan, s.at, ref, "--at");
    return {t - before, t + after, "clip_" + format_compact(t)};
  }
  if (!s.from.empty()) {
    if (s.to.empty()) throw UsageError("--from needs --to", "e.g. --from 08:13:00 --to +30s");
    const LocalTime from = time_arg(scan, s.from, ref, "--from");
    LocalTime to;
    if (parse_iso(s.to)) to = *parse_iso(s.to);
    else if (auto t = parse_time_arg(s.to, from)) to = *t;
    else throw UsageError("bad --to '" + s.to + "'", "ISO 8601, a time of day or a duration after --from (+30s)");
    if (to <= from) throw UsageError("--to " + s.to + " is not after --from " + s.from);
    return {from, to, "clip_" + format_compact(from)};
  }
  if (ref) return {ref->start, ref->end, "drive_" + ref->id};
  throw UsageError("nothing selected", "give --from/--to, --at, --event, --drive or --items");
}

fs::path camera_file(const fs::path& out, Camera cam) {
  fs::path p = out;
  p.replace_filename(out.stem().string() + "_" + to_string(cam) + out.extension().string());
  return p;
}

namespace {

std::vector<ClipResult> clips_for(const CardScan& scan, const Window& w, const fs::path& out, const Options& o,
                                  const Context& ctx) {
  std::vector<ClipResult> res;
  if (!o.still.empty()) {
    const Drive* ref = o.selection.drive.empty() ? nullptr : find_drive(scan, o.selection.drive);
    const LocalTime t = time_arg(scan, o.still, ref, "--still");
    if (o.cameras == Cameras::Both) {
      res.push_back(make_still(scan, t, Camera::Road, camera_file(out, Camera::Road), ctx, o.clip.overwrite));
      res.push_back(make_still(scan, t, Camera::Interior, camera_file(out, Camera::Interior), ctx, o.clip.overwrite));
    } else {
      const Camera c = o.cameras == Cameras::Interior ? Camera::Interior : Camera::Road;
      res.push_back(make_still(scan, t, c, out, ctx, o.clip.overwrite));
    }
    return res;
  }
  if (o.cameras == Cameras::Both && o.layout != Layout::None) {
    res.push_back(make_composite(scan, w.from, w.to, o.layout, out, ctx, o.clip));
  } else if (o.cameras == Cameras::Both) {
    for (Camera c : {Camera::Road, Camera::Interior}) {
      const fs::path f = camera_file(out, c);
      check_output(f, o.clip.overwrite);
    }
    for (Camera c : {Camera::Road, Camera::Interior})
      res.push_back(make_clip(scan, w.from, w.to, c, o.clip.mode, camera_file(out, c), ctx, o.clip));
  } else {
    const Camera c = o.cameras == Cameras::Interior ? Camera::Interior : Camera::Road;
    res.push_back(make_clip(scan, w.from, w.to, c, o.clip.mode, out, ctx, o.clip));
  }
  if (o.telemetry) {
    const ClipResult& first = res.front();
    auto files = write_telemetry(scan, first.start, first.end, out, o.clip.overwrite);
    res.front().sidecars = files;
  }
  return res;
}

}  // namespace

Report run(const Options& o, const Context& ctx) {
  if (o.output.empty()) throw UsageError("no output given", "use -o FILE (a folder with --items)");
  if (o.layout != Layout::None && o.cameras != Cameras::Both)
    throw UsageError("--layout combines both cameras", "add --camera both");
  if (o.clip.mode == Mode::Timelapse && o.cameras == Cameras::Both && o.layout != Layout::None)
    throw UsageError("--timelapse works on one camera at a time");
  ScanOptions so;
  so.read_gps = false;
  const CardScan scan = scan_card(o.card, so, ctx);
  // Over a camera, what the cut cost the link (bench/camera.sh reads it).
  auto log_traffic = [&] {
    if (scan.source && scan.source->remote())
      ctx.log->info("read {} bytes from {}", scan.source->bytes_read(), scan.where());
  };
  Report rep;
  if (!o.items) {
    Window w{};
    if (o.still.empty()) w = resolve_selection(scan, o.selection);
    auto v = clips_for(scan, w, o.output, o, ctx);
    rep.clips.insert(rep.clips.end(), v.begin(), v.end());
    log_traffic();
    return rep;
  }
  // -o names the folder the clips go to (`-o clips/`): made when missing.
  std::error_code ec;
  if (!fs::exists(o.output, ec)) {
    fs::create_directories(o.output, ec);
    if (ec) throw IoError("cannot create " + o.output.string() + ": " + ec.message());
  }
  if (!fs::is_directory(o.output, ec))
    throw IoError("with --items, -o must be a folder: " + o.output.string(), "name a folder; it is made when missing");
  std::ifstream file;
  std::istream* in = o.items_in;
  if (*o.items != "-") {
    file.open(*o.items);
    if (!file) throw IoError("cannot read " + o.items->string());
    in = &file;
  }
  if (!in) throw UsageError("--items - needs standard input");
  const int64_t before = duration_arg(o.selection.before, "--before"), after = duration_arg(o.selection.after, "--after");
  std::string line;
  size_t lineno = 0, items = 0;
  while (std::getline(*in, line)) {
    ++lineno;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    ++items;
    std::string label = "line " + std::to_string(lineno);
    try {
      ctx.check_interrupt();
      ojson j;
      try {
        j = ojson::parse(line);
      } catch (const std::exception&) {
        throw InputError("not a JSON object");
      }
      if (!j.is_object() || !j.contains("type") || !j.contains("id") || !j["type"].is_string() || !j["id"].is_string())
        throw InputError("needs string fields \"type\" and \"id\" (nexls --format ndjson)");
      label = j["type"].get<std::string>() + " " + j["id"].get<std::string>();
      const Window w = window_for_item(scan, j["type"].get<std::string>(), j["id"].get<std::string>(), before, after);
      auto v = clips_for(scan, w, o.output / (w.name + ".mp4"), o, ctx);
      rep.clips.insert(rep.clips.end(), v.begin(), v.end());
    } catch (const Interrupted&) {
      throw;
    } catch (const UsageError&) {
      throw;
    } catch (const Error& e) {
      ctx.log->error("{}: {}", label, e.what());
      rep.failed.push_back(label + ": " + e.what());
    }
  }
  if (items == 0) throw InputError("no items in " + o.items->string(), "feed it 'nexls CARD --format ndjson' lines");
  log_traffic();
  return rep;
}

}  // namespace nex::cut
