// nexsync pull ITEM --evidence DIR: an evidence bundle of a backed-up event
// or clip (docs/evidence.md). The item's files are fetched and checked
// against its manifest; the manifest itself goes in as it was backed up (the
// chain of custody); each clip's derivation is the one recorded at backup
// time; the source segments and sidecars come from the backup where it has
// them (the item's own sidecars, footage/ of a --drives full backup, checked
// against the drive manifests and the derivation's SHA-256) and are listed as
// absent otherwise. Built in a temporary folder beside DIR, renamed at the end.
#include <algorithm>
#include <map>
#include <set>

#include "evidence/internal.hpp"
#include "nex/cut.hpp"
#include "nex/error.hpp"
#include "nex/fsutil.hpp"
#include "nex/models.hpp"
#include "nex/naming.hpp"
#include "nex/units.hpp"
#include "nex/version.hpp"
#include "sync/internal.hpp"

namespace nex::sync {
namespace {

namespace ev = nex::evidence;
namespace ed = nex::evidence::detail;

// A card path ("drive/20261120_081200_1.mp4") as a bundle path under source/.
std::string source_path(const std::string& card_rel) { return "source/" + card_rel; }

struct Builder {
  Destination& d;
  const ItemRef& ref;
  const Context& ctx;
  fs::path tmp;
  std::map<std::string, ev::FileEntry> files;  // by bundle path
  std::vector<std::string> notes;

  // Downloads `key` (relative to the backup's root) to the bundle path `rel`
  // and checks it against what the backup recorded.
  void fetch(const std::string& key, const std::string& rel, const std::string& role, uint64_t size,
             const std::string& sha) {
    ctx.check_interrupt();
    if (!ed::safe_path(rel)) throw InputError(d.location(key) + ": a name a bundle cannot hold");
    const fs::path to = tmp / rel;
    std::error_code ec;
    fs::create_directories(to.parent_path(), ec);
    if (ec) throw IoError("cannot create " + to.parent_path().string() + ": " + ec.message());
    const Context* c = &ctx;
    d.fetch(key, to, 0, [c](uint64_t) { return !(c->interrupted && c->interrupted->load()); });
    ctx.check_interrupt();
    const ed::Hashed h = ed::hash_file(to, ctx);
    if (h.size != size)
      throw InputError(d.location(key) + ": " + std::to_string(h.size) + " bytes, the backup recorded " +
                           std::to_string(size),
                       "the backup is damaged");
    if (h.sha256 != sha)
      throw InputError(d.location(key) + ": SHA-256 " + h.sha256.substr(0, 16) + "... does not match the backup's " +
                           sha.substr(0, 16) + "...",
                       "the backup is damaged");
    files[rel] = {rel, role, h.size, h.sha256};
  }
};

// Footage files of the serial's drive manifests around [from, to): card path
// -> (key, size, sha256). One read per drive that may hold the window.
std::map<std::string, ManifestFile> footage_of(Destination& d, const ItemRef& ref, LocalTime from, LocalTime to) {
  std::vector<std::string> keys;
  for (const auto& e : d.list(ref.serial + "/drives")) {
    auto r = item_of_key(e.key);
    if (!r || e.key != r->manifest_key()) continue;
    const auto t = r->time();
    // a drive starts before the window and lasts less than a day
    if (t && (*t >= to || *t < from - int64_t{24} * 3600 * 1000)) continue;
    keys.push_back(e.key);
  }
  std::map<std::string, ManifestFile> out;
  auto texts = d.read_many(keys);
  for (size_t i = 0; i < keys.size(); ++i) {
    if (!texts[i]) continue;
    try {
      Manifest m = Manifest::parse(*texts[i]);
      if (m.serial != ref.serial) continue;
      for (auto& f : m.files)
        if (f.key.rfind("footage/", 0) == 0 && safe_key(f.source) && f.source.find('/') != std::string::npos)
          out.emplace(f.source, std::move(f));
    } catch (const InputError&) {
      // a damaged drive manifest: its footage is not used
    }
  }
  return out;
}

ojson event_record(const Manifest& m) {
  if (auto e = m.records.find("events"); e != m.records.end() && e->is_object()) return *e;
  if (auto e = m.records.find("parking"); e != m.records.end() && e->is_object()) return *e;
  return nullptr;
}

EvidencePullReport bundle_item(Destination& d, const ItemRef& ref, const fs::path& dir, EVP_PKEY* key,
                               const ev::KeyInfo& info, const Context& ctx) {
  const std::string mkey = ref.manifest_key();
  const auto text = d.read(mkey);
  if (!text)
    throw InputError("no item " + d.location(ref.folder()) + ": it is not backed up (no " + manifest_name(
                         ref.category == "clips" ? ItemKind::Clip : ref.category == "drives" ? ItemKind::Drive
                                                                                               : ItemKind::Event) +
                         ")",
                     "list the backup with 'nexls " + d.location() + "'");
  if (crypt::looks_encrypted(*text))
    throw InputError(d.location(mkey) + ": the backup is encrypted", "give its key with --encrypt KEYFILE (or nexsync.encrypt)");
  const Manifest m = Manifest::parse(*text);
  if (m.serial != ref.serial || m.id != ref.id || std::string(category(m.kind)) != ref.category)
    throw InputError(d.location(mkey) + ": the manifest names another item (" + m.ref().folder() + ")");
  if (m.kind == ItemKind::Drive)
    throw UsageError(d.location(ref.folder()) + " is a drive: --evidence bundles an event or a clip",
                     "cut the window you need from the card with nexcut --evidence, or pull the drive with --to");

  ed::TempDir tmp{ed::temp_beside(dir)};
  Builder b{d, ref, ctx, tmp.path, {}, {}};

  // the backed-up manifest, byte for byte: when and what the backup recorded
  const std::string backup_rel = std::string("backup/") + manifest_name(m.kind);
  std::error_code ec;
  fs::create_directories(tmp.path / "backup", ec);
  if (ec) throw IoError("cannot create " + (tmp.path / "backup").string() + ": " + ec.message());
  write_file_atomic(tmp.path / backup_rel, *text);
  b.files[backup_rel] = {backup_rel, "backup", text->size(), ed::sha256_of(*text)};

  // the item's files: clips under clips/, the card's own files under source/
  std::vector<std::pair<const ManifestFile*, std::string>> clips;  // file, bundle path
  for (const auto& f : m.files) {
    const bool video = f.camera == "road" || f.camera == "interior";
    std::string rel;
    if (video) {
      rel = "clips/" + m.id + "_" + f.camera + ".mp4";
      clips.emplace_back(&f, rel);
    } else if (f.source.find('/') != std::string::npos && safe_key(f.source)) {
      rel = source_path(f.source);
    } else {
      rel = "source/" + f.name;
    }
    b.fetch(ref.serial + "/" + f.key, rel, video ? "clip" : "source", f.size, f.sha256);
  }

  // the window
  std::optional<LocalTime> wfrom = m.from, wto = m.to;
  for (const auto& [f, rel] : clips)
    if (f->derivation && f->derivation->start && f->derivation->end) {
      wfrom = f->derivation->start;
      wto = f->derivation->end;
      break;
    }

  // the clips' sources: the backup's footage/ where it keeps them (--drives full)
  std::map<std::string, ManifestFile> footage;
  bool want_sources = false;
  for (const auto& [f, rel] : clips)
    if (f->derivation && !f->derivation->sources.empty()) want_sources = true;
  if (want_sources && wfrom && wto) footage = footage_of(d, ref, *wfrom, *wto);
  std::vector<ev::FileEntry> absent;
  std::set<std::string> absent_paths;
  size_t sources_found = 0, sources_wanted = 0;
  for (const auto& [f, rel] : clips) {
    if (!f->derivation) continue;
    for (const auto& s : f->derivation->sources) {
      const std::string srel = source_path(s.file);
      if (b.files.count(srel) || absent_paths.count(srel)) continue;
      ++sources_wanted;
      auto it = footage.find(s.file);
      const bool same = it != footage.end() && it->second.size == s.size && (s.sha256.empty() || it->second.sha256 == s.sha256);
      if (it != footage.end() && !same)
        b.notes.push_back("footage/ holds a " + s.file + " that is not the file the clip was cut from (size or SHA-256 differs): left out");
      if (!same) {
        absent.push_back({srel, "source", s.size, s.sha256});
        absent_paths.insert(srel);
        continue;
      }
      b.fetch(ref.serial + "/" + it->second.key, srel, "source", it->second.size, it->second.sha256);
      ++sources_found;
      // the segment's thumbnail and sidecars, as the card had them
      const auto name = parse_file_name(fs::path(s.file).filename().string());
      if (!name) continue;
      const std::string instant = instant_key(name->time);
      const std::string stem = fs::path(s.file).stem().string();
      const std::string folder = fs::path(s.file).parent_path().string();
      for (const std::string& side : {folder + "/" + stem + ".jpg", folder + "/" + instant + ".gps", folder + "/" + instant + ".acc"}) {
        const std::string prel = source_path(side);
        auto x = footage.find(side);
        if (x == footage.end() || b.files.count(prel)) continue;
        b.fetch(ref.serial + "/" + x->second.key, prel, "source", x->second.size, x->second.sha256);
      }
    }
  }
  if (sources_wanted && !sources_found)
    b.notes.push_back("the source segments are not in the backup (it was made without --drives full, or they rolled "
                      "over): absent_sources lists them with the SHA-256 recorded at backup time; the stream-copied "
                      "frames cannot be compared with them");
  else if (sources_found < sources_wanted)
    b.notes.push_back(std::to_string(sources_wanted - sources_found) + " of " + std::to_string(sources_wanted) +
                      " source segments are not in the backup (absent_sources)");

  // the window's telemetry from the sidecars the bundle holds
  std::map<std::string, cut::TelemetryText> by_instant;
  for (const auto& [rel, f] : b.files) {
    if (f.role != "source") continue;
    const fs::path p(rel);
    if (p.extension() != ".gps" && p.extension() != ".acc") continue;
    const auto name = parse_file_name(p.filename().string());
    if (!name) continue;
    auto& t = by_instant[instant_key(name->time)];
    t.start = name->time;
    (p.extension() == ".gps" ? t.gps : t.acc) = read_file(tmp.path / rel);
  }
  std::vector<cut::TelemetryText> texts;
  for (auto& [k, t] : by_instant) texts.push_back(std::move(t));
  bool telemetry = false;
  if (!texts.empty() && wfrom && wto) {
    fs::create_directories(tmp.path / "clips", ec);
    for (const auto& p : cut::write_telemetry(texts, *wfrom, *wto, tmp.path / "clips" / (m.id + ".mp4"))) {
      const std::string rel = "clips/" + p.filename().string();
      const ed::Hashed h = ed::hash_file(p, ctx);
      b.files[rel] = {rel, "telemetry", h.size, h.sha256};
      telemetry = true;
    }
  }
  if (!telemetry)
    b.notes.push_back(texts.empty() ? "no telemetry: the backup has no .gps or .acc sidecar of the window"
                                    : "no telemetry: the sidecars hold no GPS fix or G-sensor sample in the window");

  // evidence.json
  ojson doc;
  doc["format"] = "nex-evidence";
  doc["version"] = ev::kFormatVersion;
  doc["created"] = ed::now_utc();
  doc["tool"] = {{"name", "nexsync"}, {"version", version()}, {"libraries", runtime_versions()}};
  ojson cam = ojson::object();
  const ModelProfile* model = find_model(m.model);
  cam["model"] = model ? model->name : m.model;
  cam["model_id"] = m.model;
  cam["serial"] = m.serial;
  cam["firmware"] = m.firmware.empty() ? ojson(nullptr) : ojson(m.firmware);
  cam["utc_offset"] = m.utc_offset_min ? ojson(format_utc_offset(*m.utc_offset_min)) : ojson(nullptr);
  doc["camera"] = cam;
  doc["event"] = event_record(m);
  if (wfrom && wto) {
    ojson w;
    w["local_from"] = format_iso(*wfrom, true);
    w["local_to"] = format_iso(*wto, true);
    w["utc_from"] = m.utc_offset_min ? ojson(ed::utc_iso(*wfrom, *m.utc_offset_min)) : ojson(nullptr);
    w["utc_to"] = m.utc_offset_min ? ojson(ed::utc_iso(*wto, *m.utc_offset_min)) : ojson(nullptr);
    w["utc_offset"] = cam["utc_offset"];
    w["requested_local_from"] = m.from ? ojson(format_iso(*m.from, true)) : ojson(nullptr);
    w["requested_local_to"] = m.to ? ojson(format_iso(*m.to, true)) : ojson(nullptr);
    doc["window"] = w;
    if (!m.utc_offset_min)
      b.notes.push_back("the backup does not record the camera's UTC offset (backed up by an older nex): the window is in camera-local time only");
  } else {
    doc["window"] = nullptr;
  }
  ojson jclips = ojson::array();
  bool underived = false;
  for (const auto& [f, rel] : clips) {
    ojson j;
    j["file"] = rel;
    j["camera"] = f->camera;
    const Derivation* dv = f->derivation ? &*f->derivation : nullptr;
    const bool original = !dv && f->source.find('/') != std::string::npos;
    j["mode"] = dv ? dv->mode : original ? "original" : "unknown";
    if (original) j["original"] = f->source;
    // an original is the camera's file: it spans the item
    const std::optional<LocalTime> cs = dv ? dv->start : original ? m.from : std::nullopt;
    const std::optional<LocalTime> ce = dv ? dv->end : original ? m.to : std::nullopt;
    j["local_start"] = cs ? ojson(format_iso(*cs, true)) : ojson(nullptr);
    j["local_end"] = ce ? ojson(format_iso(*ce, true)) : ojson(nullptr);
    int64_t copied = 0;
    if (dv)
      for (const auto& r : dv->runs)
        if (r.copied) copied += r.frames;
    j["frames"] = dv ? dv->frames : 0;
    j["copied_frames"] = copied;
    j["reencoded_frames"] = dv ? dv->reencoded_frames : 0;
    j["audio"] = dv && dv->audio ? ojson("re-encoded (AAC), the interior camera's sound") : ojson(nullptr);
    ojson src = ojson::array();
    ojson runs = ojson::array();
    if (dv) {
      for (const auto& s : dv->sources) src.push_back(source_path(s.file));
      for (const auto& r : dv->runs)
        runs.push_back({{"source", source_path(r.source)}, {"copied", r.copied}, {"clip_first", r.clip_first},
                        {"frames", r.frames}, {"source_first", r.source_first}, {"source_last", r.source_last}});
    }
    if (!dv && !original) underived = true;
    j["sources"] = src;
    j["runs"] = runs;
    jclips.push_back(std::move(j));
  }
  if (underived)
    b.notes.push_back("the backup does not record how its clips were cut (backed up by an older nex): no derivation");
  doc["clips"] = jclips;
  if (!absent.empty()) {
    ojson a = ojson::array();
    for (const auto& f : absent)
      a.push_back({{"path", f.path}, {"size", f.size}, {"sha256", f.sha256.empty() ? ojson(nullptr) : ojson(f.sha256)}});
    doc["absent_sources"] = a;
  }
  doc["backup"] = {{"location", d.location(ref.folder())},
                   {"manifest", backup_rel},
                   {"backed_up", m.created.empty() ? ojson(nullptr) : ojson(m.created)},
                   {"sources", absent.empty() ? (sources_wanted ? "in the bundle" : "none named") : sources_found ? "partly in the backup" : "not in the backup"}};
  doc["notes"] = b.notes;

  EvidencePullReport rep;
  rep.ref = ref;
  rep.location = d.location(ref.folder());
  rep.sources = sources_wanted > 0 ? absent.empty() : !underived;  // an original is its own source
  rep.telemetry = telemetry;
  rep.fingerprint = key ? info.fingerprint : "";
  rep.notes = b.notes;
  for (const auto& [rel, f] : b.files) {
    rep.bytes += f.size;
    ++rep.files;
  }
  rep.bytes += ed::seal_bundle(std::move(doc), b.files, key, info, tmp.path, dir);
  tmp.path.clear();
  rep.dir = dir;
  return rep;
}

}  // namespace

EvidencePullReport pull_evidence(const EvidencePullOptions& o, const Config& cfg, const Context& ctx) {
  const fs::path dir = ed::new_bundle_dir(o.dir);
  // The key first: a bad key costs no request.
  ed::PkeyPtr key;
  ev::KeyInfo info;
  if (o.sign_key) {
    key = ed::load_private_key(*o.sign_key);
    info = ed::key_info(key.get());
  }
  EvidencePullReport rep;
  with_item(o.selection, cfg, ctx,
            [&](Destination& d, const ItemRef& ref) { rep = bundle_item(d, ref, dir, key.get(), info, ctx); });
  return rep;
}

ojson EvidencePullReport::to_json() const {
  ojson j;
  j["item"] = ref.folder();
  j["bundle"] = dir.string();
  j["location"] = location;
  j["files"] = files;
  j["bytes"] = bytes;
  j["size"] = format_size(bytes);
  j["sources"] = sources;
  j["telemetry"] = telemetry;
  j["signed_by"] = fingerprint.empty() ? ojson(nullptr) : ojson(fingerprint);
  j["notes"] = notes;
  return j;
}

}  // namespace nex::sync
