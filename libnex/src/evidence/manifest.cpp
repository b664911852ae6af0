// evidence.json, read back: untrusted input (a bundle comes from anyone).
#include <set>

#include "evidence/internal.hpp"
#include "nex/error.hpp"

namespace nex::evidence {
namespace {

using detail::safe_path;

[[noreturn]] void bad(const std::string& why) { throw InputError("evidence.json: " + why); }

// Nesting deeper than any manifest has, checked before parsing.
void check_depth(std::string_view text) {
  int depth = 0;
  bool in_string = false, escape = false;
  for (char c : text) {
    if (in_string) {
      if (escape) escape = false;
      else if (c == '\\') escape = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') in_string = true;
    else if (c == '{' || c == '[') {
      if (++depth > 32) bad("nested too deeply");
    } else if (c == '}' || c == ']') {
      --depth;
    }
  }
}

const ojson& member(const ojson& o, const char* key, const std::string& where) {
  auto it = o.find(key);
  if (it == o.end()) bad(where + ": no \"" + key + "\"");
  return *it;
}

std::string str(const ojson& o, const char* key, const std::string& where, size_t max = 4096) {
  const ojson& v = member(o, key, where);
  if (!v.is_string()) bad(where + ": \"" + key + "\" is not a string");
  const auto& s = v.get_ref<const std::string&>();
  if (s.size() > max) bad(where + ": \"" + key + "\" is too long");
  return s;
}

std::string path(const ojson& o, const char* key, const std::string& where) {
  std::string p = str(o, key, where, 512);
  if (!safe_path(p)) bad(where + ": unsafe path");
  return p;
}

int64_t count(const ojson& o, const char* key, const std::string& where) {
  const ojson& v = member(o, key, where);
  if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<int64_t>() >= 0))
    bad(where + ": \"" + key + "\" is not a count");
  const uint64_t u = v.get<uint64_t>();
  if (u > (uint64_t{1} << 53)) bad(where + ": \"" + key + "\" is out of range");
  return static_cast<int64_t>(u);
}

const ojson& array(const ojson& o, const char* key, const std::string& where, size_t max) {
  const ojson& v = member(o, key, where);
  if (!v.is_array()) bad(where + ": \"" + key + "\" is not a list");
  if (v.size() > max) bad(where + ": \"" + key + "\" has too many entries");
  return v;
}

bool is_sha256(const std::string& s) {
  if (s.size() != 64) return false;
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

}  // namespace

Manifest Manifest::parse(std::string_view text) {
  if (text.size() > (16u << 20)) bad("larger than 16 MiB");
  check_depth(text);
  Manifest m;
  m.document = ojson::parse(text.begin(), text.end(), nullptr, false);
  const ojson& d = m.document;
  if (d.is_discarded()) bad("not JSON");
  if (!d.is_object()) bad("not a JSON object");
  if (str(d, "format", "the manifest") != "nex-evidence") bad("not an evidence manifest (format)");
  m.version = static_cast<int>(std::min<int64_t>(count(d, "version", "the manifest"), 1000));
  if (m.version != kFormatVersion) bad("version " + std::to_string(m.version) + " (this nex reads version 1)");

  std::set<std::string> seen;
  for (const ojson& f : array(d, "files", "the manifest", 100000)) {
    if (!f.is_object()) bad("a file entry is not an object");
    FileEntry e;
    e.path = path(f, "path", "a file entry");
    const std::string where = "file " + e.path;
    e.role = str(f, "role", where, 32);
    e.size = static_cast<uint64_t>(count(f, "size", where));
    e.sha256 = str(f, "sha256", where, 64);
    if (!is_sha256(e.sha256)) bad(where + ": sha256 is not 64 lower-case hex digits");
    if (e.path == kManifestName || e.path == kSignatureName || e.path == kSumsName)
      bad(where + ": lists one of the bundle's own files");
    if (!seen.insert(e.path).second) bad(where + ": listed twice");
    m.files.push_back(std::move(e));
  }

  std::set<std::string> absent;
  if (auto a = d.find("absent_sources"); a != d.end()) {
    for (const ojson& f : array(d, "absent_sources", "the manifest", 10000)) {
      if (!f.is_object()) bad("an absent source is not an object");
      FileEntry e;
      e.path = path(f, "path", "an absent source");
      const std::string where = "absent source " + e.path;
      e.role = "source";
      e.size = static_cast<uint64_t>(count(f, "size", where));
      const ojson& sha = member(f, "sha256", where);
      if (!sha.is_null()) {
        e.sha256 = str(f, "sha256", where, 64);
        if (!is_sha256(e.sha256)) bad(where + ": sha256 is not 64 lower-case hex digits");
      }
      if (seen.count(e.path)) bad(where + ": also among the files");
      if (!absent.insert(e.path).second) bad(where + ": listed twice");
      m.absent.push_back(std::move(e));
    }
  }
  auto known = [&](const std::string& p) { return seen.count(p) || absent.count(p); };

  for (const ojson& c : array(d, "clips", "the manifest", 1000)) {
    if (!c.is_object()) bad("a clip is not an object");
    Clip clip;
    clip.file = path(c, "file", "a clip");
    const std::string where = "clip " + clip.file;
    if (!seen.count(clip.file)) bad(where + ": not among the files");
    clip.camera = str(c, "camera", where, 32);
    clip.mode = str(c, "mode", where, 32);
    clip.frames = count(c, "frames", where);
    clip.copied_frames = count(c, "copied_frames", where);
    clip.reencoded_frames = count(c, "reencoded_frames", where);
    for (const ojson& s : array(c, "sources", where, 10000)) {
      if (!s.is_string() || !safe_path(s.get_ref<const std::string&>())) bad(where + ": a source is not a safe path");
      if (!known(s.get<std::string>())) bad(where + ": source " + s.get<std::string>() + " is not among the files");
      clip.sources.push_back(s.get<std::string>());
    }
    int64_t next = 0;
    for (const ojson& r : array(c, "runs", where, 100000)) {
      if (!r.is_object()) bad(where + ": a run is not an object");
      Run run;
      run.source = path(r, "source", where + " run");
      if (!known(run.source)) bad(where + ": run source " + run.source + " is not among the files");
      const ojson& copied = member(r, "copied", where + " run");
      if (!copied.is_boolean()) bad(where + ": \"copied\" is not true or false");
      run.copied = copied.get<bool>();
      run.clip_first = count(r, "clip_first", where + " run");
      run.frames = count(r, "frames", where + " run");
      run.source_first = count(r, "source_first", where + " run");
      run.source_last = count(r, "source_last", where + " run");
      if (run.clip_first != next) bad(where + ": the runs do not follow each other");
      if (run.source_last < run.source_first) bad(where + ": a run ends before it starts");
      next = run.clip_first + run.frames;
      clip.runs.push_back(std::move(run));
    }
    if (!clip.runs.empty() && next != clip.frames) bad(where + ": the runs do not add up to its frames");
    m.clips.push_back(std::move(clip));
  }

  const ojson& s = member(d, "signature", "the manifest");
  if (!s.is_null()) {
    if (!s.is_object()) bad("\"signature\" is not an object");
    Signature sig;
    sig.algorithm = str(s, "algorithm", "the signature", 32);
    if (sig.algorithm != "Ed25519") bad("signature algorithm " + sig.algorithm + " (this nex checks Ed25519)");
    sig.file = path(s, "file", "the signature");
    if (sig.file != kSignatureName) bad("the signature is not in " + std::string(kSignatureName));
    sig.fingerprint = str(s, "public_key_sha256", "the signature", 128);
    sig.public_key = str(s, "public_key", "the signature", 4096);
    m.signature = std::move(sig);
  }
  return m;
}

ojson Finding::to_json() const {
  ojson j;
  j["kind"] = kind;
  j["path"] = path;
  j["message"] = message;
  return j;
}

bool VerifyReport::ok() const {
  for (const auto& f : findings)
    if (f.problem()) return false;
  return true;
}

}  // namespace nex::evidence
