// nexls verify: every hash, the signature, nothing unlisted or missing, and
// the stream-copied runs of each clip against the source's packets.
#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "evidence/internal.hpp"
#include "nex/error.hpp"
#include "nex/fsutil.hpp"

namespace nex::evidence {
namespace {

using namespace detail;

struct Checker {
  const fs::path& dir;
  const Context& ctx;
  VerifyReport rep;
  std::map<std::string, std::optional<Hashed>> hashes;  // nullopt: unreadable

  void add(std::string kind, std::string path, std::string message) {
    rep.findings.push_back({std::move(kind), std::move(path), std::move(message)});
  }
  const std::optional<Hashed>& hash(const std::string& rel) {
    auto it = hashes.find(rel);
    if (it != hashes.end()) return it->second;
    std::optional<Hashed> h;
    try {
      h = hash_file(dir / rel, ctx);
    } catch (const IoError&) {
    }
    return hashes[rel] = h;
  }
};

// Every file below dir ('/' separated, relative), and what is not a regular file.
void walk(const fs::path& dir, std::set<std::string>& files, std::vector<std::string>& odd) {
  std::error_code ec;
  for (fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec), end; !ec && it != end;
       it.increment(ec)) {
    const std::string rel = it->path().lexically_relative(dir).generic_string();
    const auto st = it->symlink_status(ec);
    if (fs::is_directory(st)) continue;
    if (fs::is_regular_file(st)) files.insert(rel);
    else odd.push_back(rel);
  }
  if (ec) throw IoError("cannot list " + dir.string() + ": " + ec.message());
}

void check_sums(Checker& k, const std::set<std::string>& present, const std::set<std::string>& expected) {
  const std::string name(kSumsName);
  if (!present.count(name)) {
    k.add("missing", name, "not in the folder (sha256sum -c needs it)");
    return;
  }
  std::string text;
  try {
    text = read_file(k.dir / name);
  } catch (const IoError& e) {
    k.add("mismatch", name, std::string("cannot read it: ") + e.what());
    return;
  }
  std::istringstream in(text);
  std::string line;
  std::set<std::string> listed;
  size_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    if (line.size() < 67 || line[64] != ' ' || (line[65] != ' ' && line[65] != '*')) {
      k.add("mismatch", name, "line " + std::to_string(n) + " is not '<sha256>  <file>'");
      continue;
    }
    const std::string sha = line.substr(0, 64), rel = line.substr(66);
    if (!safe_path(rel)) {
      k.add("mismatch", name, "line " + std::to_string(n) + " names an unsafe path");
      continue;
    }
    listed.insert(rel);
    if (!present.count(rel)) continue;  // reported as missing elsewhere, or below
    const auto& h = k.hash(rel);
    if (!h) k.add("mismatch", rel, "cannot read it");
    else if (h->sha256 != sha) k.add("mismatch", rel, "SHA-256 differs from SHA256SUMS");
  }
  for (const auto& rel : expected)
    if (!listed.count(rel)) k.add("mismatch", name, "does not list " + rel);
  for (const auto& rel : listed)
    if (!expected.count(rel)) k.add("mismatch", name, "lists " + rel + ", which evidence.json does not");
}

}  // namespace

VerifyReport verify(const VerifyOptions& o, const Context& ctx) {
  std::error_code ec;
  if (!fs::is_directory(o.dir, ec)) throw InputError(o.dir.string() + ": not a folder");
  PkeyPtr given;
  KeyInfo given_info;
  if (o.key) {
    given = load_public_key(*o.key);
    given_info = key_info(given.get());
  }
  const fs::path mpath = o.dir / kManifestName;
  if (!fs::exists(fs::symlink_status(mpath, ec)))
    throw InputError(o.dir.string() + " is not an evidence bundle: no evidence.json");
  Checker k{o.dir, ctx, {}, {}};
  std::set<std::string> present;
  std::vector<std::string> odd;
  walk(o.dir, present, odd);
  for (const auto& rel : odd) k.add("mismatch", rel, "not a regular file (a link, a device, ...)");

  std::string text;
  std::optional<Manifest> m;
  if (fs::is_regular_file(fs::symlink_status(mpath, ec))) {
    try {
      if (fs::file_size(mpath, ec) > (16u << 20)) throw InputError("evidence.json: larger than 16 MiB");
      text = read_file(mpath);
      m = Manifest::parse(text);
    } catch (const Error& e) {
      k.add("mismatch", std::string(kManifestName), std::string("not a valid manifest: ") + e.what());
    }
  }
  std::set<std::string> expected;  // what SHA256SUMS must list
  if (m) {
    for (const auto& f : m->files) expected.insert(f.path);
    expected.insert(std::string(kManifestName));
    if (m->signature) expected.insert(std::string(kSignatureName));
  } else {
    expected = present;
    expected.erase(std::string(kSumsName));
  }
  check_sums(k, present, expected);
  if (!m) return k.rep;

  // every listed file present and as recorded; nothing else in the folder
  std::set<std::string> listed;
  for (const auto& f : m->files) {
    listed.insert(f.path);
    if (!present.count(f.path)) {
      k.add("missing", f.path, "listed in evidence.json, not in the folder");
      continue;
    }
    const auto& h = k.hash(f.path);
    if (!h) k.add("mismatch", f.path, "cannot read it");
    else if (h->size != f.size)
      k.add("mismatch", f.path, std::to_string(h->size) + " bytes, evidence.json says " + std::to_string(f.size));
    else if (h->sha256 != f.sha256) k.add("mismatch", f.path, "SHA-256 differs from evidence.json");
  }
  for (const auto& rel : present) {
    if (listed.count(rel) || rel == kManifestName || rel == kSumsName) continue;
    if (rel == kSignatureName && m->signature) continue;
    k.add("unlisted", rel, "in the folder, not in evidence.json");
  }

  // the signature
  if (m->signature) {
    const Signature& s = *m->signature;
    PkeyPtr inside = public_key_from_pem(s.public_key);
    const std::string inside_fp = inside ? key_info(inside.get()).fingerprint : "";
    if (!inside) k.add("mismatch", std::string(kManifestName), "the signature's public key is not an Ed25519 PEM key");
    else if (inside_fp != s.fingerprint)
      k.add("mismatch", std::string(kManifestName), "the public key does not have the fingerprint it states");
    EVP_PKEY* use = given ? given.get() : inside.get();
    if (given && given_info.fingerprint != s.fingerprint)
      k.add("mismatch", std::string(kSignatureName),
            "signed with key " + s.fingerprint + ", not with the given key " + given_info.fingerprint);
    else if (!present.count(s.file)) k.add("missing", s.file, "evidence.json says it is signed");
    else if (use) {
      std::string sig;
      try {
        if (fs::file_size(o.dir / s.file, ec) <= 1024) sig = read_file(o.dir / s.file);
      } catch (const IoError&) {
      }
      if (!verify_signature(use, text, sig))
        k.add("mismatch", s.file, "the Ed25519 signature does not match evidence.json");
      else {
        k.rep.fingerprint = s.fingerprint;
        k.add("ok", s.file,
              "Ed25519 signature good, key " + s.fingerprint +
                  (given ? " (the given key)" : " (the key inside the bundle: give --key to check whose it is)"));
      }
    }
  } else if (given) {
    k.add("mismatch", std::string(kManifestName), "not signed, and --key asks for a signature");
  } else {
    k.add("unsigned", std::string(kManifestName), "not signed: the hashes show integrity, not who made it");
  }

  // the stream-copied runs, byte for byte against the source's packets
  if (o.packets) {
    for (const auto& c : m->clips) {
      if (!present.count(c.file)) continue;
      for (const auto& r : c.runs) {
        if (!r.copied) continue;
        ctx.check_interrupt();
        if (std::any_of(m->absent.begin(), m->absent.end(), [&](const FileEntry& a) { return a.path == r.source; })) {
          ++k.rep.unchecked_runs;
          k.rep.unchecked_frames += static_cast<size_t>(r.frames);
          continue;
        }
        if (!present.count(r.source)) continue;
        const std::string why = compare_run(o.dir / c.file, o.dir / r.source, r);
        if (!why.empty()) {
          k.add("mismatch", c.file,
                "stream-copied frames " + std::to_string(r.clip_first) + ".." +
                    std::to_string(r.clip_first + r.frames - 1) + " do not match " + r.source + ": " + why);
          continue;
        }
        ++k.rep.copied_runs;
        k.rep.copied_frames += static_cast<size_t>(r.frames);
      }
    }
  }
  k.rep.files = m->files.size();
  if (k.rep.unchecked_runs)
    k.add("unchecked", "",
          std::to_string(k.rep.unchecked_runs) + " stream-copied runs (" + std::to_string(k.rep.unchecked_frames) +
              " frames) cannot be compared with their sources: the sources are not in the backup (" +
              std::to_string(m->absent.size()) + " file(s) listed in evidence.json with the SHA-256 recorded at backup time)");
  if (k.rep.ok()) {
    k.add("ok", "", std::to_string(m->files.size()) + " files match evidence.json and SHA256SUMS");
    if (o.packets && (k.rep.copied_runs || !k.rep.unchecked_runs))
      k.add("ok", "", std::to_string(k.rep.copied_runs) + " stream-copied runs (" + std::to_string(k.rep.copied_frames) +
                          " frames) match their source's packets byte for byte");
  }
  // problems first, in the order found
  std::stable_partition(k.rep.findings.begin(), k.rep.findings.end(), [](const Finding& f) { return f.problem(); });
  return k.rep;
}

}  // namespace nex::evidence
