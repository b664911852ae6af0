#pragma once
// A camera's catalogue, <serial>/catalogue.json (docs/nexsync.md
// "Catalogue"): a copy of every manifest of that camera in one object, each
// with what the LIST said of the manifest when the copy was taken (size,
// ETag, last modified), so that listing a fleet reads one object per camera
// instead of one per item.
//
// The manifests stay the truth. An entry stands for its manifest only while
// the LIST still shows that manifest with the same size, ETag and time (and,
// on a plain backup whose server gives MD5 ETags, while the MD5 of the copy
// is that ETag: the check is then on the content itself); every other
// manifest is read itself, and one the catalogue does not name is read too.
// A catalogue that is missing, garbage or stale therefore costs requests,
// never a wrong listing. nexsync rewrites it after it changed manifests;
// nexls never writes.
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "nex/context.hpp"
#include "nex/destination.hpp"

namespace nex::sync {

inline constexpr int kCatalogueVersion = 1;
inline constexpr std::string_view kCatalogueName = "catalogue.json";

// "<serial>/catalogue.json"
std::string catalogue_key(std::string_view serial);
// Whether a key (relative to the root) is a camera's catalogue; its serial.
bool is_catalogue_key(std::string_view key, std::string* serial = nullptr);

struct CatalogueEntry {
  std::string key;            // the manifest, relative to the root: "<serial>/events/<id>/event.json"
  uint64_t size = 0;          // as listed (a plaintext size: the manifest's length)
  std::string etag;           // as listed
  std::string last_modified;  // as listed
  std::string sha256;         // of text
  std::string text;           // the manifest, byte for byte
  // Informative (for people and other tools; nex reads `text`): from the
  // manifest, absent when it does not parse.
  std::string kind, id, created;
  std::optional<uint64_t> bytes;
  std::optional<bool> starred;
};

struct Catalogue {
  std::string serial;
  std::string written;  // UTC, ISO 8601 with 'Z'
  std::vector<CatalogueEntry> entries;  // sorted by key, no duplicates

  std::string dump() const;  // JSON + '\n'
  // Throws InputError on anything malformed: not JSON, another format or
  // version, a bad serial, an entry whose key is not a manifest key of this
  // serial, whose text's length or SHA-256 is not its size or sha256,
  // duplicate or unsorted keys.
  static Catalogue parse(std::string_view text);
};

// Whether `e` may stand for the manifest the LIST shows as `listed`: same
// key, size, ETag and last-modified time, and, when `md5_etags` (a plain
// backup) and the ETag is an MD5, the MD5 of e.text is that ETag.
bool entry_agrees(const CatalogueEntry& e, const ObjectEntry& listed, bool md5_etags);

// An entry for a manifest text observed with `listed` (informative fields
// filled from the text when it parses).
CatalogueEntry make_entry(const ObjectEntry& listed, std::string text);

struct ManifestTexts {
  std::vector<std::optional<std::string>> texts;  // in the order asked, nullopt: gone
  size_t catalogues_read = 0;   // catalogue GETs
  size_t manifests_read = 0;    // manifest GETs
  std::set<std::string> stale;  // serials whose catalogue is missing, unusable or disagrees with the LIST
};

// The texts of the manifests `keys` (each listed in `listing`, the LIST of
// the part of the destination being read): from the cameras' catalogues
// where an entry agrees with the LIST, read (in parallel) where not. Folders
// have no catalogues: their manifests are read.
ManifestTexts read_manifests(Destination& d, const std::vector<ObjectEntry>& listing,
                             const std::vector<std::string>& keys, const Context& ctx);

// Rewrites <serial>/catalogue.json (S3 only) from a fresh LIST of
// <serial>/: entries of the catalogue there that agree with it, texts
// `known` gives for a listed manifest (only texts observed with that ETag;
// checked like catalogue entries), and the other manifests read. Writes only
// when that differs from what is there. Returns whether it wrote.
bool refresh_catalogue(Destination& d, const std::string& serial, const Context& ctx,
                       const std::function<std::optional<std::string>(const ObjectEntry&)>& known = {});

// After a job changed manifests of `serials` (star, rm, a sync): refreshes
// their catalogues, with the texts it wrote (manifest key -> text; used on a
// plain backup, where the MD5 ETag proves them) and those `known` gives (as
// refresh_catalogue). A failure is a warning: the manifests are written, and
// a stale catalogue is never trusted.
void refresh_catalogues(Destination& d, const std::set<std::string>& serials,
                        const std::map<std::string, std::string>& written, const Context& ctx,
                        const std::function<std::optional<std::string>(const ObjectEntry&)>& known = {});

}  // namespace nex::sync
