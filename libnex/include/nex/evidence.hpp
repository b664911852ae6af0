#pragma once
// Evidence bundles: a folder a third party can check with standard tools
// (docs/evidence.md).
//
//   DIR/
//     evidence.json        what the bundle holds and how each clip was made (below)
//     evidence.json.sig    Ed25519 signature of evidence.json (64 raw bytes), with --sign-key
//     SHA256SUMS           every other file, as `sha256sum -c SHA256SUMS` checks it
//     clips/               the clip(s): both cameras where there are two, and the
//                          window's telemetry (<clip>.gpx GPS track, <clip>.csv G-sensor)
//     source/drive/...     the untouched source segments and their sidecars (card paths)
//
// evidence.json holds the camera's identity, the event record, the window in
// camera-local time and UTC, every file with its size and SHA-256, each
// clip's derivation (its source files; which frames were stream-copied, bit
// for bit, and which re-encoded), the tool and library versions and the
// signing key's fingerprint (SHA-256 of its DER SubjectPublicKeyInfo, what
// `openssl pkey -pubin -outform DER | sha256sum` prints).
//
// A bundle is built in a temporary folder beside DIR and renamed at the end:
// nothing partial ever stands under DIR.
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "nex/context.hpp"
#include "nex/cut.hpp"
#include "nex/output.hpp"

namespace nex::evidence {

inline constexpr int kFormatVersion = 1;
inline constexpr std::string_view kManifestName = "evidence.json";
inline constexpr std::string_view kSignatureName = "evidence.json.sig";
inline constexpr std::string_view kSumsName = "SHA256SUMS";

// --- signing keys (Ed25519, PEM, OpenSSL EVP) ---------------------------------------

// "SHA256:<hex>" of the key's DER SubjectPublicKeyInfo.
struct KeyInfo {
  std::string fingerprint;
  std::string public_pem;  // the public key, PEM
};
// Reads a private key (PEM, e.g. `openssl genpkey -algorithm ed25519`).
// Throws InputError for a missing or unreadable file, a file that is not a
// PEM private key, or a key that is not Ed25519.
KeyInfo check_private_key(const std::filesystem::path& pem);
// The same for a public key (or a private key: its public half).
KeyInfo check_public_key(const std::filesystem::path& pem);

// --- the manifest (evidence.json) ------------------------------------------------------

struct FileEntry {
  std::string path;    // relative to the bundle, '/' separated: "clips/event_road.mp4"
  std::string role;    // "clip", "telemetry", "source"
  uint64_t size = 0;
  std::string sha256;  // lower-case hex
};

struct Run {
  std::string source;  // bundle path of the source segment
  bool copied = false;
  int64_t clip_first = 0, frames = 0;
  int64_t source_first = 0, source_last = 0;  // see nex::cut::ClipRun
};

struct Clip {
  std::string file;    // bundle path
  std::string camera;  // road, interior, pip, ...
  std::string mode;    // copy, exact, reencode, timelapse
  int64_t frames = 0, copied_frames = 0, reencoded_frames = 0;
  std::vector<std::string> sources;  // bundle paths
  std::vector<Run> runs;
};

struct Signature {
  std::string algorithm = "Ed25519";
  std::string file;         // "evidence.json.sig"
  std::string fingerprint;  // "SHA256:<hex>"
  std::string public_key;   // PEM
};

struct Manifest {
  int version = kFormatVersion;
  std::vector<FileEntry> files;
  // A bundle from a backup that does not keep the source segments
  // (nexsync pull --evidence): the sources the clips were cut from, with the
  // size and SHA-256 recorded at backup time, not in the folder. Clips and
  // runs may name them; their copied frames cannot be compared.
  std::vector<FileEntry> absent;
  std::vector<Clip> clips;
  std::optional<Signature> signature;
  ojson document;  // the whole document as read (camera, event, window, tool, ...)

  // Untrusted input: throws InputError on anything malformed, including
  // unsafe paths (absolute, "..", backslashes, control characters), a path
  // listed twice, sizes or hashes out of form. Never anything else.
  static Manifest parse(std::string_view text);
};

// --- building a bundle ------------------------------------------------------------------

struct Options {
  cut::Options cut;                  // card, selection, cameras, modes (output is ignored)
  bool cameras_given = false;        // else: both cameras where the card has two
  std::filesystem::path dir;         // the bundle (must not exist)
  std::optional<std::filesystem::path> sign_key;  // Ed25519 private key PEM
  std::string tool = "nexcut";       // recorded in the manifest
};

struct Report {
  std::filesystem::path dir;
  std::vector<cut::ClipResult> clips;
  std::vector<FileEntry> files;  // as listed in evidence.json
  std::string fingerprint;       // "" when unsigned
  uint64_t bytes = 0;            // of every file
};

// Cuts the clip(s) of the selection into DIR with everything above. Throws
// UsageError for selections a bundle cannot hold (--items, --still), and
// InputError for a bad key (checked before any work), an existing DIR, or
// what nexcut itself refuses.
Report build(const Options& o, const Context& ctx);

// --- verifying a bundle -----------------------------------------------------------------

struct Finding {
  // "mismatch", "missing", "unlisted" (problems); "unsigned", "unchecked"
  // (what the bundle does not allow checking), "ok"
  std::string kind;
  std::string path;     // bundle path ("" for the bundle as a whole)
  std::string message;  // one line
  bool problem() const { return kind == "mismatch" || kind == "missing" || kind == "unlisted"; }
  ojson to_json() const;
};

struct VerifyOptions {
  std::filesystem::path dir;
  std::optional<std::filesystem::path> key;  // the public key the bundle must be signed with
  bool packets = true;  // compare stream-copied runs with the source's packets
};

struct VerifyReport {
  std::vector<Finding> findings;  // problems first in file order, then what was checked
  std::string fingerprint;        // of the key that signed it, "" if unsigned
  size_t files = 0, copied_runs = 0, copied_frames = 0;
  size_t unchecked_runs = 0, unchecked_frames = 0;  // copied runs whose source is absent
  bool ok() const;                // no problem found
};

// Throws InputError when DIR is not a bundle at all (no readable, parseable
// evidence.json) and for an unusable --key; every other discrepancy is a
// Finding.
VerifyReport verify(const VerifyOptions& o, const Context& ctx);

}  // namespace nex::evidence
