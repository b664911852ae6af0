#include "nex/manifest.hpp"

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

}  // namespace

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
