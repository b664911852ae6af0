// nexls DEST/ITEM --report: the incident page of an item of a backup
// (nex/report.hpp). The item comes back through nexsync pull into a
// temporary folder (verified against its manifest), and a scan-like view of
// it feeds the same Page and renderer as a card (report/page.hpp): its clips
// are recordings that start at the manifest's "from" (a copied recording at
// its card name's instant), its sidecars recordings at theirs.
#include <stdlib.h>

#include <algorithm>
#include <map>

#include "cut/overlay.hpp"
#include "media/ffmpeg_util.hpp"
#include "nex/error.hpp"
#include "nex/fsutil.hpp"
#include "nex/manifest.hpp"
#include "nex/models.hpp"
#include "nex/naming.hpp"
#include "nex/report.hpp"
#include "nex/sync.hpp"
#include "report/page.hpp"

namespace nex::report {

namespace fs = std::filesystem;

namespace {

// A temporary folder, removed with everything in it when it goes out of scope.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / ".nex-report-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw IoError("cannot create a temporary folder in " + fs::temp_directory_path().string());
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
};

// The capture time of a cut clip's first frame: nexcut writes it as the
// clip's creation_time (UTC, to the millisecond, udta/meta).
std::optional<LocalTime> clip_start(const fs::path& file, int utc_offset_min) {
  try {
    const media::InputFormatPtr fmt = media::open_input(file, false);
    const AVDictionaryEntry* e = av_dict_get(fmt->metadata, "creation_time", nullptr, 0);
    std::string s = e ? e->value : "";
    if (s.size() > 23) s.resize(23);  // "2026-11-20T06:12:39.066"
    if (auto t = parse_iso(s)) return *t + static_cast<int64_t>(utc_offset_min) * 60'000;
  } catch (const Error&) {
  }
  return std::nullopt;
}

// The instant a backed-up video starts at: a recording copied as it was at
// its card name's instant; a clip at its first frame's capture time (the
// manifest's "from" when the UTC offset is not recorded: up to a frame early).
std::optional<LocalTime> file_start(const sync::Manifest& m, const sync::ManifestFile& f, const fs::path& path) {
  if (auto fn = parse_file_name(fs::path(f.source).filename().string())) return fn->time;
  if (m.utc_offset_min)
    if (auto t = clip_start(path, *m.utc_offset_min)) return t;
  return m.from;
}

}  // namespace

Result write_backup_report(const std::string& backup, const std::string& item, const Options& o, const Config& cfg,
                           const Context& ctx) {
  if (o.output.empty()) throw UsageError("--report needs -o FILE.html");
  if (item.empty())
    throw UsageError("--report of a backup needs an item",
                     "give its location (.../SERIAL/events/ID) or --report ID (ids: 'nexls " + backup + " --events')");

  // Pull it, verified, into a folder of our own.
  TempDir tmp;
  sync::PullOptions po;
  if (backup.empty()) po.selection.specs = {item};
  else po.selection.specs = {item}, po.selection.from = backup;
  po.to = tmp.path;
  po.accept = [&](const sync::Manifest& m) {
    if (m.kind == sync::ItemKind::Drive)
      throw UsageError(m.ref().folder() + " is a drive: a report covers an event or a clip",
                       "report an event of it ('nexls BACKUP --events'), or back up a clip of the window "
                       "(nexsync --clip FROM/TO) and report that");
  };
  // The pull's own error lines stay quiet: its failure is this report's one error.
  Context quiet = Context::quiet();
  quiet.interrupted = ctx.interrupted;
  const sync::PullReport pulled = sync::run_pull(po, cfg, quiet);
  if (pulled.items.size() != 1) throw InputError("'" + item + "' names " + std::to_string(pulled.items.size()) + " items");
  const sync::ItemResult& row = pulled.items.front();
  if (row.action == "failed") throw InputError(row.note);
  const std::string location = row.note;  // where it was pulled from
  const fs::path item_dir = tmp.path / row.ref.folder();
  const sync::Manifest m =
      sync::Manifest::parse(read_file(item_dir / sync::manifest_name(row.kind)));

  // The item as a card: its videos and sidecars where they were recorded.
  CardScan scan;
  scan.root = item_dir;
  CameraIdentity id;
  id.model = m.model;
  id.serial = m.serial;
  id.firmware = m.firmware;
  id.utc_offset_min = m.utc_offset_min.value_or(0);
  scan.camera = id;
  scan.model = find_model(m.model);
  std::map<int64_t, Recording> videos, sidecars;
  bool gps = false, acc = false;
  for (const auto& f : m.files) {
    CardFile cf{tmp.path / m.serial / f.key, f.key, f.size, {}};
    if (f.camera == "road" || f.camera == "interior") {
      const auto start = file_start(m, f, cf.path);
      if (!start) continue;
      Recording& r = videos[start->ms];
      r.key = format_compact(*start);
      r.start = *start;
      r.dir = "drive";
      const Mp4Info info = read_mp4_info(cf.path);
      if (info.state == Mp4State::Ok && info.duration_ms > r.duration_ms)
        r.duration_ms = info.duration_ms, r.duration_known = true;
      if (f.camera == "road") r.road = cf, r.road_info = info;
      else r.interior = cf, r.interior_info = info;
      continue;
    }
    const auto fn = parse_file_name(f.name);
    if (!fn || (fn->kind != FileKind::Gps && fn->kind != FileKind::Accel)) continue;
    Recording& r = sidecars[fn->time.ms];
    r.key = format_compact(fn->time);
    r.start = fn->time;
    cf.name = *fn;
    if (fn->kind == FileKind::Gps) r.gps = cf, gps = true;
    else r.acc = cf, acc = true;
  }
  if (videos.empty() || !m.from || !m.to)
    throw InputError(location + " holds no footage (the card had overwritten it before it was backed up)",
                     "its record: 'nexls " + (backup.empty() ? location : backup) + " --events'");
  for (auto& [t, r] : videos) scan.recordings.push_back(std::move(r));
  std::vector<const Recording*> video_recs, sidecar_recs;
  for (const Recording& r : scan.recordings) video_recs.push_back(&r);
  for (const auto& [t, r] : sidecars) sidecar_recs.push_back(&r);

  detail::Page p;
  if (auto ev = m.records.find("events"); ev != m.records.end()) p.event = Event::from_json(*ev);
  p.from = *m.from;
  p.to = *m.to;
  p.utc_offset_min = m.utc_offset_min;
  // (A parking clip records none; an item backed up before nexsync kept them has none.)
  if (!gps) p.no_gps = "no telemetry in this backup: the item holds no .gps sidecar";
  if (!acc) p.no_acc = "no telemetry in this backup: the item holds no .acc sidecar";
  detail::add_telemetry(p, cut::detail::Telemetry::load(scan, sidecar_recs, p.from, p.to));
  const ModelProfile* model = scan.model;
  p.facts.push_back({"camera",
                     (model ? model->name : m.model) + ", serial " + m.serial + ", firmware " +
                         (m.firmware.empty() ? "not recorded in this backup" : m.firmware),
                     "camera"});
  p.facts.push_back({"backup", location + " (backed up " + m.created + ")", "backup"});
  p.findings_note =
      "not known: a backup holds no scan of the card (gaps, truncated files and clock resets are found by "
      "'nexls CARD --check' on the card itself)";
  for (const auto& f : m.files) p.files.push_back({f.key, f.size, f.sha256});
  p.generated_by = "nexls --report of a backed-up item; every file checked against its manifest's SHA-256";
  detail::add_stills(p, scan, video_recs, ctx);

  Result res;
  detail::write_page(p, o, res, ctx);
  return res;
}

}  // namespace nex::report
