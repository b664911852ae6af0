// Building an evidence bundle: the clip(s) as nexcut makes them, the source
// segments and sidecars they were cut from (copied and hashed in one read),
// the window's telemetry, evidence.json, its Ed25519 signature, SHA256SUMS.
// Everything goes into a temporary folder beside DIR, renamed at the end.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <future>
#include <chrono>
#include <map>

#include "evidence/internal.hpp"
#include "nex/card.hpp"
#include "nex/error.hpp"
#include "nex/fsutil.hpp"
#include "nex/version.hpp"

namespace nex::evidence {
namespace {

using namespace detail;

// The recording a segment file belongs to (drive recordings, then parking).
const Recording* recording_of(const CardScan& scan, const fs::path& file) {
  for (const auto* list : {&scan.recordings, &scan.parking})
    for (const auto& r : *list)
      for (const auto* f : {&r.road, &r.interior})
        if (*f && (f->value().path == file || (!f->value().rel.empty() && file.string().size() >= f->value().rel.size() &&
                                                file.string().compare(file.string().size() - f->value().rel.size(),
                                                                      f->value().rel.size(), f->value().rel) == 0)))
          return &r;
  return nullptr;
}

void fsync_tree(const fs::path& root) {
  std::error_code ec;
  for (fs::recursive_directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec))
    if (it->is_directory(ec)) fsync_path(it->path());
  fsync_path(root);
}

}  // namespace

namespace detail {

std::string utc_iso(LocalTime local, int offset_min) {
  return format_iso(LocalTime{local.ms - int64_t{offset_min} * 60000}, true) + "Z";
}

std::string now_utc() {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  return format_iso(LocalTime{ms - ms % 1000}) + "Z";
}

TempDir::~TempDir() {
  if (path.empty()) return;
  std::error_code ec;
  fs::remove_all(path, ec);
}

fs::path temp_beside(const fs::path& dir) {
  std::error_code ec;
  if (fs::exists(fs::symlink_status(dir, ec)))
    throw InputError("evidence folder " + dir.string() + " already exists", "give a new folder: a bundle is never changed");
  const fs::path parent = dir.has_parent_path() ? dir.parent_path() : fs::path(".");
  fs::create_directories(parent, ec);
  if (ec) throw IoError("cannot create " + parent.string() + ": " + ec.message());
  const fs::path tmp = parent / ("." + dir.filename().string() + ".tmp-" + std::to_string(::getpid()));
  fs::remove_all(tmp, ec);
  fs::create_directories(tmp, ec);
  if (ec) throw IoError("cannot create " + tmp.string() + ": " + ec.message());
  return tmp;
}

uint64_t seal_bundle(ojson doc, const std::map<std::string, FileEntry>& files, EVP_PKEY* key, const KeyInfo& info,
                     const fs::path& tmp, const fs::path& dir) {
  ojson list = ojson::array();
  for (const auto& [rel, f] : files)
    list.push_back({{"path", f.path}, {"role", f.role}, {"size", f.size}, {"sha256", f.sha256}});
  doc["files"] = list;
  if (key)
    doc["signature"] = {{"algorithm", "Ed25519"}, {"file", kSignatureName}, {"public_key_sha256", info.fingerprint},
                        {"public_key", info.public_pem}};
  else
    doc["signature"] = nullptr;
  const std::string text = doc.dump(2) + "\n";
  write_file_atomic(tmp / kManifestName, text);
  std::map<std::string, std::string> sums;  // path -> sha256
  for (const auto& [rel, f] : files) sums[rel] = f.sha256;
  sums[std::string(kManifestName)] = sha256_of(text);
  if (key) {
    const std::string sig = sign(key, text);
    write_file_atomic(tmp / kSignatureName, sig);
    sums[std::string(kSignatureName)] = sha256_of(sig);
  }
  std::string sumtext;
  for (const auto& [rel, sha] : sums) sumtext += sha + "  " + rel + "\n";
  write_file_atomic(tmp / kSumsName, sumtext);
  fsync_tree(tmp);
  commit_rename(tmp, dir);
  return text.size() + sumtext.size() + (key ? 64 : 0);
}

fs::path new_bundle_dir(const fs::path& d) {
  if (d.empty()) throw UsageError("--evidence needs a folder");
  fs::path dir = d.lexically_normal();
  if (dir.filename().empty()) dir = dir.parent_path();
  std::error_code ec;
  if (fs::exists(fs::symlink_status(dir, ec)))
    throw InputError("evidence folder " + dir.string() + " already exists", "give a new folder: a bundle is never changed");
  return dir;
}

}  // namespace detail

Report build(const Options& o, const Context& ctx) {
  const cut::Options& in = o.cut;
  if (in.items) throw UsageError("--evidence takes one selection, not --items", "make one bundle per item");
  if (!in.still.empty()) throw UsageError("--evidence makes clips, not --still");
  const fs::path dir = new_bundle_dir(o.dir);

  // The key first: a bad key costs no work.
  PkeyPtr key;
  KeyInfo info;
  if (o.sign_key) {
    key = load_private_key(*o.sign_key);
    info = key_info(key.get());
  }

  CardScan scan = scan_card(in.card, {}, ctx, true);
  if (scan.root.empty()) throw UsageError("--evidence reads a card folder", "pull the camera's card first");
  const cut::Window win = cut::resolve_selection(scan, in.selection);

  cut::Options co = in;
  co.telemetry = true;
  co.items.reset();
  co.items_in = nullptr;
  co.clip.overwrite = false;
  if (!o.cameras_given && co.layout == cut::Layout::None) {
    bool interior = false;
    for (const auto& r : scan.recordings)
      if (r.interior && r.start < win.to && r.end() > win.from) interior = true;
    for (const auto& r : scan.parking)
      if (r.interior && r.start < win.to && r.end() > win.from) interior = true;
    co.cameras = interior ? cut::Cameras::Both : cut::Cameras::Road;
  }
  std::string name = !in.selection.event.empty() ? in.selection.event
                     : !win.name.empty()         ? win.name
                                                 : format_compact(win.from);
  if (!safe_path(name) || name.find('/') != std::string::npos) name = "clip";

  TempDir tmp{temp_beside(dir)};
  std::error_code ec;
  fs::create_directories(tmp.path / "clips", ec);
  if (ec) throw IoError("cannot create " + tmp.path.string() + ": " + ec.message());
  co.output = tmp.path / "clips" / (name + ".mp4");

  // The sources the cut is going to read, copied and hashed (one read) while
  // it runs; whatever the cut used beyond them is copied afterwards.
  std::vector<const CardFile*> expected;
  const bool want_road = co.layout != cut::Layout::None || co.cameras != cut::Cameras::Interior;
  const bool want_interior = co.layout != cut::Layout::None || co.cameras != cut::Cameras::Road;
  for (const auto* list : {&scan.recordings, &scan.parking})
    for (const auto& r : *list) {
      if (!r.duration_known || !(r.start < win.to && r.end() > win.from)) continue;
      if (want_road && r.road) expected.push_back(&*r.road);
      if (want_road && r.road_thumb) expected.push_back(&*r.road_thumb);
      if (want_interior && r.interior) expected.push_back(&*r.interior);
      if (want_interior && r.interior_thumb) expected.push_back(&*r.interior_thumb);
      for (const auto* side : {&r.gps, &r.acc})
        if (*side) expected.push_back(&**side);
    }
  std::atomic<bool> stop{false};
  const fs::path root = tmp.path;
  // (declared after tmp: joined before the temporary folder goes)
  std::future<std::map<std::string, Hashed>> prefetch =
      std::async(std::launch::async, [&stop, &ctx, root, expected]() {
        std::map<std::string, Hashed> out;
        for (const CardFile* f : expected) {
          if (stop.load()) break;
          const std::string rel = "source/" + f->rel;
          if (!safe_path(rel) || out.count(rel)) continue;
          std::error_code e;
          fs::create_directories((root / rel).parent_path(), e);
          if (e) throw IoError("cannot create " + (root / rel).parent_path().string() + ": " + e.message());
          out[rel] = copy_hashed(f->path, root / rel, ctx);
        }
        return out;
      });
  struct StopGuard {
    std::atomic<bool>& s;
    ~StopGuard() { s.store(true); }
  } stop_on_error{stop};

  Report rep;
  rep.clips = cut::run(co, ctx).clips;

  const int offset = scan.camera ? scan.camera->utc_offset_min : 0;
  std::map<std::string, FileEntry> files;  // by bundle path
  auto add = [&](const std::string& rel, const std::string& role, const Hashed& h) {
    files[rel] = FileEntry{rel, role, h.size, h.sha256};
  };
  // clips and telemetry: hashed where they are, one file per thread
  std::vector<std::pair<std::string, std::future<Hashed>>> hashing;
  for (fs::directory_iterator it(tmp.path / "clips", ec), end; !ec && it != end; it.increment(ec))
    hashing.emplace_back(it->path().filename().string(),
                         std::async(std::launch::async, [&ctx, p = it->path()] { return hash_file(p, ctx); }));
  if (ec) throw IoError("cannot list " + (tmp.path / "clips").string() + ": " + ec.message());
  for (auto& [fname, h] : hashing)
    add("clips/" + fname, fs::path(fname).extension() == ".mp4" ? "clip" : "telemetry", h.get());
  for (const auto& [rel, h] : prefetch.get()) add(rel, "source", h);

  // sources: each segment a clip was cut from, with its sidecars, copied and hashed in one read
  std::map<fs::path, std::string> source_rel;  // card path -> bundle path
  auto copy_source = [&](const CardFile& f, const std::string& role) {
    const std::string rel = "source/" + f.rel;
    if (files.count(rel)) return rel;
    if (!safe_path(rel)) throw InputError("card file " + f.rel + ": a name a bundle cannot hold");
    const fs::path to = tmp.path / rel;
    fs::create_directories(to.parent_path(), ec);
    if (ec) throw IoError("cannot create " + to.parent_path().string() + ": " + ec.message());
    add(rel, role, copy_hashed(f.path, to, ctx));
    return rel;
  };
  for (const auto& c : rep.clips) {
    for (const auto& s : c.sources) {
      if (source_rel.count(s)) continue;
      const Recording* rec = recording_of(scan, s);
      if (!rec) throw InputError(s.string() + ": not a recording of the card");
      const bool road = rec->road && (rec->road->path == s || s.filename() == rec->road->path.filename());
      const CardFile& seg = road ? *rec->road : *rec->interior;
      source_rel[s] = copy_source(seg, "source");
      for (const auto* side : {&rec->gps, &rec->acc, road ? &rec->road_thumb : &rec->interior_thumb})
        if (*side) copy_source(**side, "source");
    }
  }

  // evidence.json
  ojson doc;
  doc["format"] = "nex-evidence";
  doc["version"] = kFormatVersion;
  doc["created"] = now_utc();
  doc["tool"] = {{"name", o.tool}, {"version", version()}, {"libraries", runtime_versions()}};
  ojson cam = nullptr;
  if (scan.camera) {
    cam = ojson::object();
    cam["model"] = scan.model ? scan.model->name : scan.camera->model;
    cam["model_id"] = scan.camera->model;
    cam["serial"] = scan.camera->serial;
    cam["firmware"] = scan.camera->firmware;
    cam["utc_offset"] = format_utc_offset(offset);
  }
  doc["camera"] = cam;
  ojson event = nullptr;
  if (!in.selection.event.empty())
    for (const auto& e : scan.events)
      if (e.id == in.selection.event) event = e.to_json();
  doc["event"] = event;
  const LocalTime wfrom = rep.clips.empty() ? win.from : rep.clips.front().start;
  const LocalTime wto = rep.clips.empty() ? win.to : rep.clips.front().end;
  doc["window"] = {{"local_from", format_iso(wfrom, true)}, {"local_to", format_iso(wto, true)},
                   {"utc_from", utc_iso(wfrom, offset)}, {"utc_to", utc_iso(wto, offset)},
                   {"utc_offset", format_utc_offset(offset)},
                   {"requested_local_from", format_iso(win.from, true)},
                   {"requested_local_to", format_iso(win.to, true)}};
  ojson clips = ojson::array();
  for (const auto& c : rep.clips) {
    ojson j;
    j["file"] = "clips/" + c.file.filename().string();
    j["camera"] = c.camera;
    j["mode"] = cut::to_string(c.mode);
    j["local_start"] = format_iso(c.start, true);
    j["local_end"] = format_iso(c.end, true);
    j["frames"] = c.frames;
    int64_t copied = 0;
    for (const auto& r : c.runs)
      if (r.copied) copied += r.frames;
    j["copied_frames"] = copied;
    j["reencoded_frames"] = c.reencoded_frames;
    j["audio"] = c.audio ? ojson("re-encoded (AAC), the interior camera's sound") : ojson(nullptr);
    ojson src = ojson::array();
    for (const auto& s : c.sources) src.push_back(source_rel.at(s));
    j["sources"] = src;
    ojson runs = ojson::array();
    for (const auto& r : c.runs)
      runs.push_back({{"source", source_rel.at(r.source)}, {"copied", r.copied}, {"clip_first", r.clip_first},
                      {"frames", r.frames}, {"source_first", r.source_first}, {"source_last", r.source_last}});
    j["runs"] = runs;
    clips.push_back(std::move(j));
  }
  doc["clips"] = clips;
  for (const auto& [rel, f] : files) {
    rep.files.push_back(f);
    rep.bytes += f.size;
  }
  if (key) rep.fingerprint = info.fingerprint;
  rep.bytes += seal_bundle(std::move(doc), files, key.get(), info, tmp.path, dir);
  tmp.path.clear();
  rep.dir = dir;
  for (auto& c : rep.clips) {
    c.file = dir / "clips" / c.file.filename();
    for (auto& s : c.sidecars) s = dir / "clips" / s.filename();
  }
  return rep;
}

}  // namespace nex::evidence
