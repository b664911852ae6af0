// A camera's catalogue (nex/catalogue.hpp): the format, the trust rule, and,
// against the test radosgw, that manifests read through catalogues are the
// manifests, whatever happened to them since the catalogue was written.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <map>
#include <random>

#include "nex/catalogue.hpp"
#include "nex/config.hpp"
#include "nex/destination.hpp"
#include "nex/error.hpp"
#include "nex/manifest.hpp"
#include "nex/sigv4.hpp"

using namespace nex::sync;

namespace {

Manifest event_manifest(const std::string& serial, const std::string& id, bool starred = false) {
  Manifest m;
  m.kind = ItemKind::Event;
  m.id = id;
  m.serial = serial;
  m.model = "pro";
  m.created = "2026-11-23T10:00:00Z";
  m.starred = starred;
  m.recipe = std::string(64, 'a');
  m.records["events"] = {{"type", "event"}, {"id", id}, {"kind", "hard-brake"}};
  m.files.push_back({"road.mp4", "events/" + id + "/road.mp4", 1000, std::string(64, 'b'), "road", "clip"});
  return m;
}

std::string md5_etag(const std::string& text);

ObjectEntry listed(const std::string& key, const std::string& text, std::string etag = {}) {
  if (etag.empty()) etag = md5_etag(text);
  return {key, text.size(), etag, "2026-12-07T10:00:00.000Z"};
}

}  // namespace

#include <openssl/evp.h>
namespace {
std::string md5_etag(const std::string& text) {
  unsigned char d[EVP_MAX_MD_SIZE];
  unsigned n = 0;
  EVP_Digest(text.data(), text.size(), d, &n, EVP_md5(), nullptr);
  std::string hex = "\"";
  const char* digits = "0123456789abcdef";
  for (unsigned i = 0; i < n; ++i) {
    hex += digits[d[i] >> 4];
    hex += digits[d[i] & 15];
  }
  return hex + "\"";
}
}  // namespace

TEST_CASE("catalogue: round trip, and what it refuses", "[sync][catalogue]") {
  const std::string a = event_manifest("PRO-1", "20261120_081240_hard-brake").dump();
  const std::string b = event_manifest("PRO-1", "20261120_091240_hard-brake", true).dump();
  Catalogue c;
  c.serial = "PRO-1";
  c.written = "2026-12-07T10:00:00Z";
  c.entries.push_back(make_entry(listed("PRO-1/events/20261120_081240_hard-brake/event.json", a), a));
  c.entries.push_back(make_entry(listed("PRO-1/events/20261120_091240_hard-brake/event.json", b), b));
  CHECK(c.entries[1].starred == true);
  CHECK(c.entries[0].kind == "event");
  CHECK(c.entries[0].bytes == 1000u);
  const std::string text = c.dump();
  const Catalogue back = Catalogue::parse(text);
  REQUIRE(back.entries.size() == 2);
  CHECK(back.entries[1].text == b);
  CHECK(back.dump() == text);
  CHECK(catalogue_key("PRO-1") == "PRO-1/catalogue.json");
  std::string serial;
  CHECK(is_catalogue_key("PRO-1/catalogue.json", &serial));
  CHECK(serial == "PRO-1");
  CHECK_FALSE(is_catalogue_key("catalogue.json"));
  CHECK_FALSE(is_catalogue_key("PRO-1/events/catalogue.json"));

  auto refused = [&](auto edit) {
    nex::ojson j = nex::ojson::parse(text);
    edit(j);
    CHECK_THROWS_AS(Catalogue::parse(j.dump()), nex::InputError);
  };
  refused([](nex::ojson& j) { j["format"] = "nex-backup"; });
  refused([](nex::ojson& j) { j["version"] = 2; });
  refused([](nex::ojson& j) { j["serial"] = "../x"; });
  refused([](nex::ojson& j) { j["serial"] = "PRO-2"; });  // its entries are PRO-1's
  refused([](nex::ojson& j) { j["items"][0]["manifest"] = j["items"][0]["manifest"].get<std::string>() + " "; });
  refused([](nex::ojson& j) { j["items"][0]["sha256"] = std::string(64, '0'); });
  refused([](nex::ojson& j) { j["items"][0]["key"] = "PRO-1/events/x/road.mp4"; });
  refused([](nex::ojson& j) { j["items"][0]["key"] = "PRO-1/../PRO-1/events/20261120_081240_hard-brake/event.json"; });
  refused([](nex::ojson& j) { std::swap(j["items"][0], j["items"][1]); });
  refused([](nex::ojson& j) { j["items"][1] = j["items"][0]; });
  refused([](nex::ojson& j) { j["items"][0]["size"] = -1; });
  refused([](nex::ojson& j) { j["items"][0]["starred"] = "yes"; });
  refused([](nex::ojson& j) { j["items"] = nex::ojson::object(); });
  CHECK_THROWS_AS(Catalogue::parse("garbage"), nex::InputError);
  CHECK_THROWS_AS(Catalogue::parse(""), nex::InputError);
}

TEST_CASE("catalogue: an entry stands for its manifest only while the LIST agrees", "[sync][catalogue]") {
  const std::string key = "PRO-1/events/20261120_081240_hard-brake/event.json";
  const std::string a = event_manifest("PRO-1", "20261120_081240_hard-brake").dump();
  const ObjectEntry l = listed(key, a);
  const CatalogueEntry e = make_entry(l, a);
  CHECK(entry_agrees(e, l, true));
  CHECK(entry_agrees(e, l, false));
  ObjectEntry other = l;
  other.etag = "\"00000000000000000000000000000000\"";
  CHECK_FALSE(entry_agrees(e, other, false));
  other = l;
  other.size += 1;
  CHECK_FALSE(entry_agrees(e, other, false));
  other = l;
  other.last_modified = "2026-12-07T10:00:01.000Z";
  CHECK_FALSE(entry_agrees(e, other, false));
  other = l;
  other.key = "PRO-1/events/20261120_081241_hard-brake/event.json";
  CHECK_FALSE(entry_agrees(e, other, false));
  // An entry whose recorded ETag is the listed one, but whose text is not
  // what that ETag (an MD5) says: the content check catches it on a plain
  // backup (a catalogue written from a text read after the LIST).
  std::string same_size = a;
  same_size[same_size.find("10:00:00Z")] = '2';
  CatalogueEntry wrong = make_entry(l, same_size);
  CHECK_FALSE(entry_agrees(wrong, l, true));
  CHECK(entry_agrees(wrong, l, false));  // encrypted: the ETag is the ciphertext's
  // A multipart or opaque ETag: equality only.
  const ObjectEntry opaque = listed(key, a, "\"abc-2\"");
  CHECK(entry_agrees(make_entry(opaque, a), opaque, true));
}

// --- against the test radosgw ------------------------------------------------------------

namespace {

struct LiveDest {
  std::unique_ptr<Destination> d;
  std::string url;
};

std::optional<LiveDest> live_dest(const std::string& key_file = {}) {
  std::map<std::string, std::string> vars;
  const char* file = std::getenv("NEX_S3_ENV_FILE");
  if (!file || !*file) return std::nullopt;
  std::ifstream in(file);
  std::string word;
  while (in >> word)
    if (auto eq = word.find('='); eq != std::string::npos) vars[word.substr(0, eq)] = word.substr(eq + 1);
  for (const char* need : {"AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "NEX_S3_BUCKET"})
    if (!vars.count(need)) return std::nullopt;
  nex::s3::Config c;
  c.endpoint = vars["AWS_ENDPOINT_URL"];
  c.access_key = vars["AWS_ACCESS_KEY_ID"];
  c.secret_key = vars["AWS_SECRET_ACCESS_KEY"];
  if (vars.count("AWS_REGION")) c.region = vars["AWS_REGION"];
  c.max_attempts = 3;
  std::random_device rd;
  LiveDest l;
  l.url = "s3://" + vars["NEX_S3_BUCKET"] + "/nex-unit-catalogue/" + std::to_string(rd()) + "-" + std::to_string(::getpid());
  DestinationOptions o;
  o.s3 = c;
  o.encrypt_key = key_file;
  l.d = open_destination(l.url, nex::Config{}, nex::Context::quiet(), o);
  return l;
}

// Every manifest of `d` (as a listing reads them), and how.
ManifestTexts read_all(Destination& d) {
  const auto listing = d.list("");
  std::vector<std::string> keys;
  for (const auto& e : listing)
    if (auto r = item_of_key(e.key); r && e.key == r->manifest_key()) keys.push_back(e.key);
  return read_manifests(d, listing, keys, nex::Context::quiet());
}

std::vector<std::string> texts_of(const ManifestTexts& t) {
  std::vector<std::string> out;
  for (const auto& x : t.texts) out.push_back(x.value_or("<gone>"));
  return out;
}

void catalogue_checks(Destination& d) {
  const nex::Context q = nex::Context::quiet();
  std::map<std::string, std::string> truth;  // manifest key -> text
  auto put = [&](const Manifest& m) {
    truth[m.ref().manifest_key()] = m.dump();
    d.write(m.ref().manifest_key(), m.dump());
  };
  for (const char* serial : {"CAM-A", "CAM-B", "CAM-C"})
    for (const char* id : {"20261120_081240_hard-brake", "20261121_081240_hard-brake"}) put(event_manifest(serial, id));
  auto expected = [&] {
    std::vector<std::string> v;
    for (const auto& [k, t] : truth) v.push_back(t);
    return v;
  };
  // No catalogues yet: every manifest is read.
  auto r = read_all(d);
  CHECK(texts_of(r) == expected());
  CHECK(r.catalogues_read == 0);
  CHECK(r.manifests_read == 6);
  CHECK(r.stale.size() == 3);
  for (const char* serial : {"CAM-A", "CAM-B", "CAM-C"}) CHECK(refresh_catalogue(d, serial, q));
  CHECK_FALSE(refresh_catalogue(d, "CAM-A", q));  // nothing changed: not written again
  // One GET per camera, no manifest read, the same texts.
  r = read_all(d);
  CHECK(texts_of(r) == expected());
  CHECK(r.catalogues_read == 3);
  CHECK(r.manifests_read == 0);
  CHECK(r.stale.empty());

  // Another writer adds an item (or a crash came between manifest and catalogue).
  put(event_manifest("CAM-A", "20261122_081240_hard-brake"));
  // Another removes one.
  d.remove("CAM-B/events/20261120_081240_hard-brake/event.json");
  truth.erase("CAM-B/events/20261120_081240_hard-brake/event.json");
  // A star rewrites a manifest (another size), and a rewrite of the same size.
  put(event_manifest("CAM-C", "20261120_081240_hard-brake", true));
  Manifest same = event_manifest("CAM-C", "20261121_081240_hard-brake");
  same.created = "2026-11-23T10:00:01Z";
  put(same);
  r = read_all(d);
  CHECK(texts_of(r) == expected());
  CHECK(r.manifests_read == 3);  // the added one and the two rewritten ones
  CHECK(r.stale == std::set<std::string>{"CAM-A", "CAM-C"});  // CAM-B's removal costs no read
  // Refreshed: agreed again, and only the manifests that changed were read.
  CHECK(refresh_catalogue(d, "CAM-A", q));
  CHECK(refresh_catalogue(d, "CAM-B", q));
  CHECK(refresh_catalogue(d, "CAM-C", q, [&](const ObjectEntry& e) -> std::optional<std::string> {
    // A text that is not what the LIST shows is never taken.
    if (e.key == "CAM-C/events/20261121_081240_hard-brake/event.json") return event_manifest("CAM-C", "x").dump();
    return std::nullopt;
  }));
  r = read_all(d);
  CHECK(texts_of(r) == expected());
  CHECK(r.manifests_read == 0);

  // A garbage catalogue, one of another camera, an empty one: the manifests are read.
  d.write(catalogue_key("CAM-A"), "{\"format\": \"nex-catalogue\", \"version\": 1, garbage");
  d.write(catalogue_key("CAM-B"), Catalogue{"CAM-C", "", {}}.dump());
  d.write(catalogue_key("CAM-C"), "");
  r = read_all(d);
  CHECK(texts_of(r) == expected());
  CHECK(r.manifests_read == truth.size());
  CHECK(r.stale.size() == 3);
  for (const char* serial : {"CAM-A", "CAM-B", "CAM-C"}) CHECK(refresh_catalogue(d, serial, q));
  r = read_all(d);
  CHECK(texts_of(r) == expected());
  CHECK(r.manifests_read == 0);

  // A catalogue from before a crash: written, then a run changed manifests
  // and died before writing the catalogue again.
  const std::string before = *d.read(catalogue_key("CAM-A"));
  put(event_manifest("CAM-A", "20261120_081240_hard-brake", true));
  put(event_manifest("CAM-A", "20261123_081240_hard-brake"));
  d.remove("CAM-A/events/20261121_081240_hard-brake/event.json");
  truth.erase("CAM-A/events/20261121_081240_hard-brake/event.json");
  d.write(catalogue_key("CAM-A"), before);
  r = read_all(d);
  CHECK(texts_of(r) == expected());
  CHECK(r.manifests_read == 2);
  CHECK(r.stale == std::set<std::string>{"CAM-A"});

  for (const auto& e : d.list("")) d.remove(e.key);
}

}  // namespace

TEST_CASE("catalogue live: manifests through catalogues are the manifests, stale or not", "[sync][s3-live]") {
  auto l = live_dest();
  if (!l) {
    WARN("skipped: NEX_S3_ENV_FILE (scripts/radosgw) is not set");
    return;
  }
  catalogue_checks(*l->d);
}

TEST_CASE("catalogue live: encrypted, the catalogue is sealed like the manifests", "[sync][s3-live]") {
  const std::string key_file = "/tmp/nex-unit-catalogue-" + std::to_string(::getpid()) + ".key";
  {
    std::ofstream k(key_file);
    k << std::string(64, '7') << "\n";
  }
  ::chmod(key_file.c_str(), 0600);
  auto l = live_dest(key_file);
  if (!l) {
    std::remove(key_file.c_str());
    WARN("skipped: NEX_S3_ENV_FILE (scripts/radosgw) is not set");
    return;
  }
  catalogue_checks(*l->d);
  // Sealed and opened like the manifests (test_aws_s3: aws s3 cp sees ciphertext).
  const std::string text = event_manifest("CAM-E", "20261120_081240_hard-brake").dump();
  l->d->write("CAM-E/events/20261120_081240_hard-brake/event.json", text);
  CHECK(refresh_catalogue(*l->d, "CAM-E", nex::Context::quiet()));
  auto r = read_all(*l->d);
  CHECK(r.manifests_read == 0);
  CHECK(r.texts.at(0) == text);
  for (const auto& e : l->d->list("")) l->d->remove(e.key);
  std::remove(key_file.c_str());
}
