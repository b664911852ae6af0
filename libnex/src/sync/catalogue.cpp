// A camera's catalogue (nex/catalogue.hpp, docs/nexsync.md "Catalogue"):
// every manifest of the camera in one object, trusted only where it agrees
// with the LIST.
#include "nex/catalogue.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <map>

#include "nex/encryption.hpp"
#include "nex/error.hpp"
#include "nex/manifest.hpp"
#include "sync/internal.hpp"

namespace nex::sync {
namespace {

constexpr const char* kFormat = "nex-catalogue";

std::string md5_hex(std::string_view data) {
  Evp e(EVP_md5());
  e.update(data.data(), data.size());
  return e.hex();
}

// "\"<32 hex>\"" or "<32 hex>" -> the hex; "" for any other ETag (multipart, SSE-KMS, none).
std::string md5_of_etag(std::string_view etag) {
  if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
  if (etag.size() != 32) return {};
  std::string out;
  for (char c : etag) {
    if (c >= 'A' && c <= 'F') c = static_cast<char>(c - 'A' + 'a');
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return {};
    out += c;
  }
  return out;
}

const ojson& field(const ojson& j, const char* k, const std::string& where) {
  auto it = j.find(k);
  if (it == j.end()) throw InputError("catalogue: " + where + "missing \"" + k + "\"");
  return *it;
}
std::string string_field(const ojson& j, const char* k, const std::string& where) {
  const ojson& v = field(j, k, where);
  if (!v.is_string()) throw InputError("catalogue: " + where + "\"" + k + "\" is not a string");
  return v.get<std::string>();
}
std::string optional_string(const ojson& j, const char* k, const std::string& where) {
  auto it = j.find(k);
  if (it == j.end() || it->is_null()) return {};
  if (!it->is_string()) throw InputError("catalogue: " + where + "\"" + k + "\" is not a string");
  return it->get<std::string>();
}

bool is_manifest_key_of(const std::string& key, const std::string& serial) {
  auto r = item_of_key(key);
  return r && key == r->manifest_key() && r->serial == serial;
}

}  // namespace

std::string catalogue_key(std::string_view serial) { return std::string(serial) + "/" + std::string(kCatalogueName); }

bool is_catalogue_key(std::string_view key, std::string* serial) {
  const size_t slash = key.find('/');
  if (slash == std::string_view::npos || slash == 0 || key.substr(slash + 1) != kCatalogueName) return false;
  if (serial) *serial = std::string(key.substr(0, slash));
  return true;
}

std::string Catalogue::dump() const {
  ojson j;
  j["format"] = kFormat;
  j["version"] = kCatalogueVersion;
  j["serial"] = serial;
  j["written"] = written;
  ojson items = ojson::array();
  for (const auto& e : entries) {
    ojson x;
    x["key"] = e.key;
    x["size"] = e.size;
    x["etag"] = e.etag;
    x["last_modified"] = e.last_modified;
    x["sha256"] = e.sha256;
    if (!e.kind.empty()) x["kind"] = e.kind;
    if (!e.id.empty()) x["id"] = e.id;
    if (!e.created.empty()) x["created"] = e.created;
    if (e.bytes) x["bytes"] = *e.bytes;
    if (e.starred) x["starred"] = *e.starred;
    x["manifest"] = e.text;
    items.push_back(std::move(x));
  }
  j["items"] = std::move(items);
  return j.dump() + "\n";
}

Catalogue Catalogue::parse(std::string_view text) {
  ojson j = ojson::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) throw InputError("catalogue: not a JSON object");
  if (string_field(j, "format", "") != kFormat) throw InputError("catalogue: not a nex catalogue");
  const ojson& v = field(j, "version", "");
  if (!v.is_number_integer() || v.get<int64_t>() != kCatalogueVersion)
    throw InputError("catalogue: unsupported version (this nex reads version " + std::to_string(kCatalogueVersion) + ")");
  Catalogue c;
  c.serial = string_field(j, "serial", "");
  check_serial(c.serial);
  c.written = optional_string(j, "written", "");
  const ojson& items = field(j, "items", "");
  if (!items.is_array()) throw InputError("catalogue: \"items\" is not an array");
  c.entries.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const ojson& x = items[i];
    const std::string where = "item " + std::to_string(i) + ": ";
    if (!x.is_object()) throw InputError("catalogue: " + where + "not an object");
    CatalogueEntry e;
    e.key = string_field(x, "key", where);
    if (!safe_key(e.key) || !is_manifest_key_of(e.key, c.serial))
      throw InputError("catalogue: " + where + "not a manifest of " + c.serial);
    if (!c.entries.empty() && !(c.entries.back().key < e.key))
      throw InputError("catalogue: " + where + "keys out of order or repeated");
    const ojson& size = field(x, "size", where);
    if (!size.is_number_unsigned() && !(size.is_number_integer() && size.get<int64_t>() >= 0))
      throw InputError("catalogue: " + where + "\"size\" is not a size");
    e.size = size.get<uint64_t>();
    e.etag = string_field(x, "etag", where);
    e.last_modified = string_field(x, "last_modified", where);
    e.sha256 = string_field(x, "sha256", where);
    e.text = string_field(x, "manifest", where);
    if (e.text.size() != e.size) throw InputError("catalogue: " + where + "the manifest's length is not its size");
    if (sha256_hex(e.text) != e.sha256) throw InputError("catalogue: " + where + "the manifest's SHA-256 differs");
    e.kind = optional_string(x, "kind", where);
    e.id = optional_string(x, "id", where);
    e.created = optional_string(x, "created", where);
    if (auto b = x.find("bytes"); b != x.end() && !b->is_null()) {
      if (!b->is_number_unsigned() && !(b->is_number_integer() && b->get<int64_t>() >= 0))
        throw InputError("catalogue: " + where + "\"bytes\" is not a size");
      e.bytes = b->get<uint64_t>();
    }
    if (auto s = x.find("starred"); s != x.end() && !s->is_null()) {
      if (!s->is_boolean()) throw InputError("catalogue: " + where + "\"starred\" is not true or false");
      e.starred = s->get<bool>();
    }
    c.entries.push_back(std::move(e));
  }
  return c;
}

bool entry_agrees(const CatalogueEntry& e, const ObjectEntry& listed, bool md5_etags) {
  if (e.key != listed.key || e.size != listed.size || e.etag != listed.etag || e.last_modified != listed.last_modified ||
      e.text.size() != listed.size)
    return false;
  if (md5_etags)
    if (const std::string md5 = md5_of_etag(listed.etag); !md5.empty() && md5 != md5_hex(e.text)) return false;
  return true;
}

CatalogueEntry make_entry(const ObjectEntry& listed, std::string text) {
  CatalogueEntry e;
  e.key = listed.key;
  e.size = listed.size;
  e.etag = listed.etag;
  e.last_modified = listed.last_modified;
  e.sha256 = sha256_hex(text);
  try {
    const Manifest m = Manifest::parse(text);
    e.kind = to_string(m.kind);
    e.id = m.id;
    e.created = m.created;
    e.bytes = m.bytes();
    e.starred = m.starred;
  } catch (const InputError&) {
    // Kept as it is: a listing reads it (and warns) as it would the manifest.
  }
  e.text = std::move(text);
  return e;
}

namespace {

// The catalogues of `serials` that are listed, parsed; a missing, unreadable
// or malformed one is absent (and said, but for a backup that has no key
// given: the manifests' reading says that).
std::map<std::string, Catalogue> read_catalogues(Destination& d, const std::vector<std::string>& serials,
                                                 const std::map<std::string, const ObjectEntry*>& listed,
                                                 const Context& ctx, size_t* gets) {
  std::vector<std::string> keys;
  for (const auto& s : serials)
    if (listed.count(catalogue_key(s))) keys.push_back(catalogue_key(s));
  std::vector<std::optional<std::string>> texts;
  std::vector<std::string> errors(keys.size());
  *gets += keys.size();
  try {
    texts = d.read_many(keys);
  } catch (const InputError&) {
    // One that does not open (another key, damage): each on its own.
    texts.assign(keys.size(), std::nullopt);
    for (size_t i = 0; i < keys.size(); ++i) {
      try {
        texts[i] = d.read(keys[i]);
      } catch (const InputError& e) {
        errors[i] = e.what();
      }
    }
  }
  std::map<std::string, Catalogue> out;
  for (size_t i = 0; i < keys.size(); ++i) {
    std::string serial;
    is_catalogue_key(keys[i], &serial);
    if (!errors[i].empty()) {
      ctx.log->warn("{}: {}; reading the camera's manifests instead", d.location(keys[i]), errors[i]);
      continue;
    }
    if (!texts[i] || crypt::looks_encrypted(*texts[i])) continue;  // gone, or an encrypted backup without its key
    try {
      Catalogue c = Catalogue::parse(*texts[i]);
      if (c.serial != serial) throw InputError("catalogue: it is " + c.serial + "'s");
      out.emplace(serial, std::move(c));
    } catch (const InputError& e) {
      ctx.log->warn("{}: {}; reading the camera's manifests instead", d.location(keys[i]), e.what());
    }
  }
  return out;
}

std::string serial_of(const std::string& key) { return key.substr(0, key.find('/')); }

}  // namespace

ManifestTexts read_manifests(Destination& d, const std::vector<ObjectEntry>& listing,
                             const std::vector<std::string>& keys, const Context& ctx) {
  ManifestTexts r;
  if (!d.is_s3()) {
    r.texts = d.read_many(keys);
    r.manifests_read = keys.size();
    return r;
  }
  std::map<std::string, const ObjectEntry*> listed;
  for (const auto& e : listing) listed[e.key] = &e;
  std::vector<std::string> serials;
  for (const auto& k : keys)
    if (serials.empty() || serials.back() != serial_of(k)) serials.push_back(serial_of(k));
  std::sort(serials.begin(), serials.end());
  serials.erase(std::unique(serials.begin(), serials.end()), serials.end());
  auto cats = read_catalogues(d, serials, listed, ctx, &r.catalogues_read);
  std::map<std::string, std::map<std::string_view, CatalogueEntry*>> entries;
  for (auto& [s, c] : cats)
    for (auto& e : c.entries) entries[s][e.key] = &e;
  const bool md5 = !encryption_key(d);
  r.texts.resize(keys.size());
  std::vector<std::string> todo;
  std::vector<size_t> where;
  for (size_t i = 0; i < keys.size(); ++i) {
    const std::string serial = serial_of(keys[i]);
    auto l = listed.find(keys[i]);
    CatalogueEntry* e = nullptr;
    if (auto c = entries.find(serial); c != entries.end())
      if (auto x = c->second.find(keys[i]); x != c->second.end()) e = x->second;
    if (e && l != listed.end() && entry_agrees(*e, *l->second, md5)) {
      r.texts[i] = std::move(e->text);  // keys are unique: each entry is used once
      continue;
    }
    r.stale.insert(serial);
    todo.push_back(keys[i]);
    where.push_back(i);
  }
  if (!todo.empty()) {
    auto got = d.read_many(todo);
    for (size_t k = 0; k < todo.size(); ++k) r.texts[where[k]] = std::move(got[k]);
    r.manifests_read = todo.size();
  }
  ctx.log->debug("{} manifest(s) of {} camera(s): {} catalogue(s) read, {} manifest(s) read", keys.size(), serials.size(),
                 r.catalogues_read, r.manifests_read);
  if (!r.stale.empty())
    ctx.log->info("{} camera(s) without a catalogue that agrees with the listing ({}{}): {} manifest(s) read "
                  "(nexsync writes a camera's catalogue again when it changes its manifests or finds it stale)",
                  r.stale.size(), *r.stale.begin(), r.stale.size() > 1 ? ", ..." : "", r.manifests_read);
  return r;
}

bool refresh_catalogue(Destination& d, const std::string& serial, const Context& ctx,
                       const std::function<std::optional<std::string>(const ObjectEntry&)>& known) {
  if (!d.is_s3()) return false;
  const auto listing = d.list(serial);
  std::map<std::string, const ObjectEntry*> listed;
  for (const auto& e : listing) listed[e.key] = &e;
  size_t gets = 0;
  auto cats = read_catalogues(d, {serial}, listed, ctx, &gets);
  const Catalogue* old = cats.count(serial) ? &cats.at(serial) : nullptr;
  std::map<std::string_view, const CatalogueEntry*> old_entries;
  if (old)
    for (const auto& e : old->entries) old_entries[e.key] = &e;
  const bool md5 = !encryption_key(d);
  Catalogue c;
  c.serial = serial;
  std::vector<const ObjectEntry*> todo;
  for (const auto& e : listing) {
    auto ref = item_of_key(e.key);
    if (!ref || e.key != ref->manifest_key() || ref->serial != serial) continue;
    if (auto o = old_entries.find(e.key); o != old_entries.end() && entry_agrees(*o->second, e, md5)) {
      c.entries.push_back(*o->second);
      continue;
    }
    if (known)
      if (auto t = known(e)) {
        CatalogueEntry x = make_entry(e, std::move(*t));
        if (!x.kind.empty() && entry_agrees(x, e, md5)) {
          c.entries.push_back(std::move(x));
          continue;
        }
      }
    todo.push_back(&e);
    c.entries.emplace_back();  // filled below
    c.entries.back().key = e.key;
  }
  if (!todo.empty()) {
    // Listed before it is read: a manifest rewritten in between gets the
    // older listing's ETag, which the next LIST will not show (never trusted).
    std::vector<std::string> keys;
    for (const auto* e : todo) keys.push_back(e->key);
    auto texts = d.read_many(keys);
    std::map<std::string, std::optional<std::string>> by_key;
    for (size_t i = 0; i < keys.size(); ++i) by_key[keys[i]] = std::move(texts[i]);
    std::vector<CatalogueEntry> kept;
    size_t t = 0;
    for (auto& x : c.entries) {
      if (t < todo.size() && x.text.empty() && x.sha256.empty() && x.key == todo[t]->key) {
        auto& text = by_key[x.key];
        // Gone, rewritten since the LIST, or not a manifest (a listing reads
        // it and says so): left out, read by every listing until it changes.
        if (text && text->size() == todo[t]->size)
          if (CatalogueEntry y = make_entry(*todo[t], std::move(*text)); !y.kind.empty()) kept.push_back(std::move(y));
        ++t;
        continue;
      }
      kept.push_back(std::move(x));
    }
    c.entries = std::move(kept);
  }
  auto same = [&] {
    if (!old || old->entries.size() != c.entries.size()) return false;
    for (size_t i = 0; i < c.entries.size(); ++i) {
      const auto &a = old->entries[i], &b = c.entries[i];
      if (a.key != b.key || a.size != b.size || a.etag != b.etag || a.last_modified != b.last_modified || a.sha256 != b.sha256)
        return false;
    }
    return true;
  };
  if (same()) {
    ctx.log->debug("{}: up to date ({} item(s))", d.location(catalogue_key(serial)), c.entries.size());
    return false;
  }
  c.written = utc_now_iso();
  d.write(catalogue_key(serial), c.dump());
  ctx.log->debug("{}: written ({} item(s), {} manifest(s) read)", d.location(catalogue_key(serial)), c.entries.size(),
                 todo.size());
  return true;
}

void refresh_catalogues(Destination& d, const std::set<std::string>& serials,
                        const std::map<std::string, std::string>& written, const Context& ctx,
                        const std::function<std::optional<std::string>(const ObjectEntry&)>& known) {
  const bool plain = !encryption_key(d);
  fault_point("before-catalogue");  // tests: a crash between the manifests and the catalogue
  for (const auto& serial : serials) {
    try {
      refresh_catalogue(d, serial, ctx, [&](const ObjectEntry& e) -> std::optional<std::string> {
        if (auto it = written.find(e.key); plain && it != written.end()) return it->second;
        return known ? known(e) : std::nullopt;
      });
    } catch (const Interrupted&) {
      throw;
    } catch (const Error& e) {
      ctx.log->warn("{}: not updated: {} (listings read the manifests it disagrees with)",
                    d.location(catalogue_key(serial)), e.what());
    }
  }
}

}  // namespace nex::sync
