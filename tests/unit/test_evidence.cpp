// evidence.json as nexls verify reads it: untrusted input (nex/evidence.hpp).
#include <catch2/catch.hpp>

#include <string>

#include "nex/error.hpp"
#include "nex/evidence.hpp"

using nex::InputError;
using nex::ojson;
using nex::evidence::Manifest;

namespace {

const std::string kSha(64, 'a');

ojson valid() {
  ojson d;
  d["format"] = "nex-evidence";
  d["version"] = 1;
  d["camera"] = {{"serial", "PRO-1"}};
  d["files"] = ojson::array({{{"path", "clips/e_road.mp4"}, {"role", "clip"}, {"size", 10}, {"sha256", kSha}},
                             {{"path", "source/drive/a_1.mp4"}, {"role", "source"}, {"size", 20}, {"sha256", kSha}}});
  d["clips"] = ojson::array(
      {{{"file", "clips/e_road.mp4"}, {"camera", "road"}, {"mode", "exact"}, {"frames", 30}, {"copied_frames", 25},
        {"reencoded_frames", 5}, {"sources", {"source/drive/a_1.mp4"}},
        {"runs", ojson::array({{{"source", "source/drive/a_1.mp4"}, {"copied", false}, {"clip_first", 0}, {"frames", 5},
                                {"source_first", 10}, {"source_last", 14}},
                               {{"source", "source/drive/a_1.mp4"}, {"copied", true}, {"clip_first", 5}, {"frames", 25},
                                {"source_first", 15}, {"source_last", 39}}})}}});
  d["signature"] = nullptr;
  return d;
}

void rejects(const ojson& d, const std::string& why) {
  INFO(why);
  CHECK_THROWS_AS(Manifest::parse(d.dump()), InputError);
}

}  // namespace

TEST_CASE("evidence: a manifest's files, clips and runs", "[evidence]") {
  const Manifest m = Manifest::parse(valid().dump(2));
  REQUIRE(m.files.size() == 2);
  CHECK(m.files[1].path == "source/drive/a_1.mp4");
  CHECK(m.files[1].size == 20);
  REQUIRE(m.clips.size() == 1);
  REQUIRE(m.clips[0].runs.size() == 2);
  CHECK(m.clips[0].runs[1].copied);
  CHECK(m.clips[0].runs[1].source_last == 39);
  CHECK_FALSE(m.signature);
  CHECK(m.document["camera"]["serial"] == "PRO-1");
}

TEST_CASE("evidence: a bundle from a backup names sources it does not hold", "[evidence]") {
  // nexsync pull --evidence of a backup without footage/: the source is absent, listed with its hash
  ojson d = valid();
  d["files"].erase(1);
  d["absent_sources"] = ojson::array({{{"path", "source/drive/a_1.mp4"}, {"size", 20}, {"sha256", kSha}}});
  const Manifest m = Manifest::parse(d.dump());
  REQUIRE(m.absent.size() == 1);
  CHECK(m.absent[0].path == "source/drive/a_1.mp4");
  CHECK(m.absent[0].sha256 == kSha);
  CHECK(m.clips[0].runs.size() == 2);
  d["absent_sources"][0]["sha256"] = nullptr;  // unknown at backup time
  CHECK(Manifest::parse(d.dump()).absent[0].sha256.empty());
  d["absent_sources"][0]["path"] = "../x";
  rejects(d, "an unsafe absent path");
  d = valid();
  d["absent_sources"] = ojson::array({{{"path", "source/drive/a_1.mp4"}, {"size", 20}, {"sha256", kSha}}});
  rejects(d, "a source both present and absent");
  d = valid();
  d["files"].erase(1);
  rejects(d, "a run's source neither present nor absent");
}

TEST_CASE("evidence: what a manifest may not say", "[evidence]") {
  for (const char* bad : {"/etc/passwd", "../x", "clips/../../x", "a//b", "a\\b", "./a", "a/", ""}) {
    ojson d = valid();
    d["files"][0]["path"] = bad;
    rejects(d, std::string("path '") + bad + "'");
  }
  ojson d = valid();
  d["files"][1]["path"] = "clips/e_road.mp4";
  rejects(d, "a file listed twice");
  d = valid();
  d["files"][0]["path"] = "evidence.json";
  rejects(d, "the manifest listing itself");
  d = valid();
  d["files"][0]["sha256"] = std::string(64, 'A');
  rejects(d, "upper-case hex");
  d = valid();
  d["files"][0]["size"] = -1;
  rejects(d, "a negative size");
  d = valid();
  d["files"][0]["size"] = 1.5;
  rejects(d, "a fractional size");
  d = valid();
  d["clips"][0]["runs"][1]["clip_first"] = 6;
  rejects(d, "runs with a hole");
  d = valid();
  d["clips"][0]["runs"][1]["source_last"] = 3;
  rejects(d, "a run that ends before it starts");
  d = valid();
  d["clips"][0]["frames"] = 31;
  rejects(d, "runs that do not add up");
  d = valid();
  d["clips"][0]["runs"][0]["source"] = "source/drive/other_1.mp4";
  rejects(d, "a run from a file not listed");
  d = valid();
  d["format"] = "something";
  rejects(d, "another format");
  d = valid();
  d["version"] = 2;
  rejects(d, "a later version");
  d = valid();
  d["signature"] = {{"algorithm", "RSA"}, {"file", "evidence.json.sig"}, {"public_key_sha256", "x"}, {"public_key", "y"}};
  rejects(d, "another algorithm");
  d = valid();
  d.erase("signature");
  rejects(d, "no signature key at all");
  CHECK_THROWS_AS(Manifest::parse(std::string(100, '[')), InputError);
  CHECK_THROWS_AS(Manifest::parse("{\"format\": \"nex-evidence\""), InputError);
  CHECK_THROWS_AS(Manifest::parse("[]"), InputError);
}

TEST_CASE("evidence: keys that cannot sign", "[evidence]") {
  CHECK_THROWS_AS(nex::evidence::check_private_key("/nonexistent/key.pem"), InputError);
  CHECK_THROWS_AS(nex::evidence::check_private_key("/"), InputError);
  CHECK_THROWS_AS(nex::evidence::check_public_key("/nonexistent/pub.pem"), InputError);
}
