#include "nex/manifest.hpp"

#include <algorithm>

#include "nex/encryption.hpp"
#include "nex/error.hpp"

namespace nex::sync {
namespace {

bool is_hex64(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

std::string str(const ojson& j, const char* k, bool required = true) {
  auto it = j.find(k);
  if (it == j.end() || it->is_null()) {
    if (required) throw InputError(std::string("manifest: missing \"") + k + "\"");
    return {};
  }
  if (!it->is_string()) throw InputError(std::string("manifest: \"") + k + "\" is not a string");
  return it->get<std::string>();
}

// Counts in a derivation: whole numbers from 0 to 2^53 (exact in any JSON reader).
int64_t count(const ojson& j, const char* k, const std::string& where) {
  auto it = j.find(k);
  if (it == j.end() || !(it->is_number_unsigned() || (it->is_number_integer() && it->get<int64_t>() >= 0)) ||
      it->get<uint64_t>() > (uint64_t{1} << 53))
    throw InputError("manifest: " + where + ": \"" + k + "\" is not a count");
  return it->get<int64_t>();
}

}  // namespace

ojson derivation_json(const Derivation& d) {
  ojson j;
  j["mode"] = d.mode;
  j["frames"] = d.frames;
  j["reencoded_frames"] = d.reencoded_frames;
  j["audio"] = d.audio;
  j["start"] = d.start ? ojson(format_iso(*d.start, true)) : ojson(nullptr);
  j["end"] = d.end ? ojson(format_iso(*d.end, true)) : ojson(nullptr);
  ojson src = ojson::array();
  for (const auto& s : d.sources)
    src.push_back({{"file", s.file}, {"size", s.size}, {"sha256", s.sha256.empty() ? ojson(nullptr) : ojson(s.sha256)}});
  j["sources"] = std::move(src);
  ojson runs = ojson::array();
  for (const auto& r : d.runs)
    runs.push_back({{"source", r.source}, {"copied", r.copied}, {"clip_first", r.clip_first}, {"frames", r.frames},
                    {"source_first", r.source_first}, {"source_last", r.source_last}});
  j["runs"] = std::move(runs);
  return j;
}

Derivation parse_derivation(const ojson& j, const std::string& file) {
  const std::string where = "file \"" + file.substr(0, 80) + "\" derivation";
  if (!j.is_object()) throw InputError("manifest: " + where + " is not an object");
  Derivation d;
  d.mode = str(j, "mode");
  if (d.mode.size() > 32) throw InputError("manifest: " + where + ": bad mode");
  d.frames = count(j, "frames", where);
  d.reencoded_frames = count(j, "reencoded_frames", where);
  if (auto a = j.find("audio"); a != j.end()) {
    if (!a->is_boolean()) throw InputError("manifest: " + where + ": \"audio\" is not true or false");
    d.audio = a->get<bool>();
  }
  if (auto t = str(j, "start", false); !t.empty()) d.start = parse_iso(t);
  if (auto t = str(j, "end", false); !t.empty()) d.end = parse_iso(t);
  auto srcs = j.find("sources");
  if (srcs == j.end() || !srcs->is_array() || srcs->size() > 10000)
    throw InputError("manifest: " + where + ": no \"sources\" list");
  for (const auto& s : *srcs) {
    if (!s.is_object()) throw InputError("manifest: " + where + ": a source is not an object");
    DerivationSource ds;
    ds.file = str(s, "file");
    if (!safe_key(ds.file)) throw InputError("manifest: " + where + ": unsafe source \"" + ds.file.substr(0, 200) + "\"");
    auto size = s.find("size");
    if (size == s.end() || !size->is_number_unsigned())
      throw InputError("manifest: " + where + ": source \"" + ds.file + "\" has no size");
    ds.size = size->get<uint64_t>();
    ds.sha256 = str(s, "sha256", false);
    if (!ds.sha256.empty() && !is_hex64(ds.sha256))
      throw InputError("manifest: " + where + ": source \"" + ds.file + "\" has no valid SHA-256");
    for (const auto& o : d.sources)
      if (o.file == ds.file) throw InputError("manifest: " + where + ": source \"" + ds.file + "\" listed twice");
    d.sources.push_back(std::move(ds));
  }
  auto runs = j.find("runs");
  if (runs == j.end() || !runs->is_array() || runs->size() > 100000)
    throw InputError("manifest: " + where + ": no \"runs\" list");
  int64_t next = 0;
  for (const auto& r : *runs) {
    if (!r.is_object()) throw InputError("manifest: " + where + ": a run is not an object");
    DerivationRun dr;
    dr.source = str(r, "source");
    if (std::none_of(d.sources.begin(), d.sources.end(), [&](const DerivationSource& s) { return s.file == dr.source; }))
      throw InputError("manifest: " + where + ": a run's source is not among its sources");
    auto c = r.find("copied");
    if (c == r.end() || !c->is_boolean()) throw InputError("manifest: " + where + ": \"copied\" is not true or false");
    dr.copied = c->get<bool>();
    dr.clip_first = count(r, "clip_first", where);
    dr.frames = count(r, "frames", where);
    dr.source_first = count(r, "source_first", where);
    dr.source_last = count(r, "source_last", where);
    if (dr.clip_first != next) throw InputError("manifest: " + where + ": the runs do not follow each other");
    if (dr.source_last < dr.source_first) throw InputError("manifest: " + where + ": a run ends before it starts");
    next = dr.clip_first + dr.frames;
    d.runs.push_back(std::move(dr));
  }
  if (!d.runs.empty() && next != d.frames) throw InputError("manifest: " + where + ": the runs do not add up to its frames");
  return d;
}

uint64_t Manifest::bytes() const {
  uint64_t n = 0;
  for (const auto& f : files) n += f.size;
  return n;
}

ojson Manifest::to_json() const {
  ojson j;
  j["format"] = "nex-backup";
  j["version"] = kManifestVersion;
  j["type"] = to_string(kind);
  j["id"] = id;
  j["serial"] = serial;
  j["model"] = model;
  if (!firmware.empty() || utc_offset_min) {
    ojson cam;
    cam["firmware"] = firmware;
    cam["utc_offset"] = utc_offset_min ? ojson(format_utc_offset(*utc_offset_min)) : ojson(nullptr);
    j["camera"] = std::move(cam);
  }
  j["created"] = created;
  j["starred"] = starred;
  if (open) j["open"] = true;
  j["recipe"] = recipe;
  j["from"] = from ? ojson(format_iso(*from, true)) : ojson(nullptr);
  j["to"] = to ? ojson(format_iso(*to, true)) : ojson(nullptr);
  j["bytes"] = bytes();
  ojson fs = ojson::array();
  for (const auto& f : files) {
    ojson o;
    o["name"] = f.name;
    o["key"] = f.key;
    o["size"] = f.size;
    o["sha256"] = f.sha256;
    o["camera"] = f.camera.empty() ? ojson(nullptr) : ojson(f.camera);
    o["source"] = f.source;
    if (f.derivation) o["derivation"] = derivation_json(*f.derivation);
    fs.push_back(std::move(o));
  }
  j["files"] = std::move(fs);
  j["records"] = records;
  return j;
}

std::string Manifest::dump() const { return to_json().dump(2) + "\n"; }

Manifest Manifest::parse(std::string_view text) {
  if (crypt::looks_encrypted(text))
    throw InputError("manifest: the backup is encrypted", "give its key with --encrypt KEYFILE (or nexsync.encrypt)");
  ojson j = ojson::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) throw InputError("manifest: not a JSON object");
  if (str(j, "format") != "nex-backup") throw InputError("manifest: not a nex backup manifest");
  auto v = j.find("version");
  if (v == j.end() || !v->is_number_integer())
    throw InputError("manifest: missing \"version\"");
  if (v->get<int64_t>() > kManifestVersion)
    throw InputError("manifest: version " + std::to_string(v->get<int64_t>()) +
                         " is newer than this nexsync understands",
                     "update nex");
  Manifest m;
  auto kind = parse_item_kind(str(j, "type"));
  if (!kind) throw InputError("manifest: unknown type \"" + str(j, "type") + "\"");
  m.kind = *kind;
  m.id = str(j, "id");
  m.serial = str(j, "serial");
  m.model = str(j, "model", false);
  m.created = str(j, "created", false);
  if (auto c = j.find("camera"); c != j.end() && !c->is_null()) {
    if (!c->is_object()) throw InputError("manifest: \"camera\" is not an object");
    m.firmware = str(*c, "firmware", false);
    if (auto off = str(*c, "utc_offset", false); !off.empty()) {
      m.utc_offset_min = parse_utc_offset(off);
      if (!m.utc_offset_min) throw InputError("manifest: bad camera utc_offset \"" + off.substr(0, 16) + "\"");
    }
  }
  m.recipe = str(j, "recipe", false);
  if (auto s = j.find("starred"); s != j.end() && s->is_boolean()) m.starred = s->get<bool>();
  if (auto s = j.find("open"); s != j.end()) {
    if (!s->is_boolean()) throw InputError("manifest: \"open\" is not true or false");
    m.open = s->get<bool>();
  }
  if (auto f = str(j, "from", false); !f.empty()) m.from = parse_iso(f);
  if (auto t = str(j, "to", false); !t.empty()) m.to = parse_iso(t);
  if (auto r = j.find("records"); r != j.end() && r->is_object()) m.records = *r;
  // The item's own folder, and footage/ for drives: nothing else.
  const ItemRef ref{m.serial, category(m.kind), m.id};
  if (!parse_item_ref(ref.folder()))
    throw InputError("manifest: bad serial or id (\"" + m.serial.substr(0, 64) + "\", \"" +
                     m.id.substr(0, 80) + "\")");
  const std::string own = ref.rel_folder() + "/";
  auto files = j.find("files");
  if (files == j.end() || !files->is_array()) throw InputError("manifest: missing \"files\"");
  for (const auto& f : *files) {
    if (!f.is_object()) throw InputError("manifest: a file entry is not an object");
    ManifestFile mf;
    mf.name = str(f, "name");
    mf.key = str(f, "key");
    mf.sha256 = str(f, "sha256");
    mf.camera = str(f, "camera", false);
    mf.source = str(f, "source", false);
    if (auto d = f.find("derivation"); d != f.end() && !d->is_null()) mf.derivation = parse_derivation(*d, mf.name);
    auto size = f.find("size");
    if (size == f.end() || !size->is_number_unsigned())
      throw InputError("manifest: file \"" + mf.name + "\" has no size");
    mf.size = size->get<uint64_t>();
    if (!safe_key(mf.key) || !safe_key(mf.name) || mf.name.find('/') != std::string::npos)
      throw InputError("manifest: unsafe file key \"" + mf.key.substr(0, 200) + "\"");
    const bool inside = mf.key.rfind(own, 0) == 0 && mf.key.size() > own.size() &&
                        mf.key.find('/', own.size()) == std::string::npos;
    const bool footage = m.kind == ItemKind::Drive && mf.key.rfind("footage/", 0) == 0;
    if (!inside && !footage)
      throw InputError("manifest: file key \"" + mf.key.substr(0, 200) + "\" lies outside " + own);
    if (!is_hex64(mf.sha256))
      throw InputError("manifest: file \"" + mf.name + "\" has no valid SHA-256");
    m.files.push_back(std::move(mf));
  }
  return m;
}

}  // namespace nex::sync
