// AWS conventions (#14): the shared config/credentials file reader, profiles,
// credential_process, addressing, and s3_config()'s precedence (flags >
// environment > profile > nex config). Every test writes its own AWS files
// and points AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE / HOME at them.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

#include "nex/aws_config.hpp"
#include "nex/config.hpp"
#include "nex/context.hpp"
#include "nex/destination.hpp"
#include "nex/error.hpp"
#include "nex/s3.hpp"

namespace fs = std::filesystem;
using namespace nex;

namespace {

// A private HOME with .aws/ and an environment of only what a test sets.
struct AwsHome {
  fs::path dir;
  std::map<std::string, std::optional<std::string>> saved;
  static constexpr const char* kVars[] = {
      "HOME", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_PROFILE", "AWS_ACCESS_KEY_ID",
      "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ENDPOINT_URL",
      "AWS_ENDPOINT_URL_S3", "AWS_CA_BUNDLE", "NEX_S3_ADDRESSING", "NEX_S3_STALL_TIMEOUT"};
  AwsHome() {
    char tmpl[] = "/tmp/nex-aws-XXXXXX";
    dir = ::mkdtemp(tmpl);
    fs::create_directories(dir / ".aws");
    for (const char* v : kVars) {
      const char* cur = std::getenv(v);
      saved[v] = cur ? std::optional<std::string>(cur) : std::nullopt;
      ::unsetenv(v);
    }
    ::setenv("HOME", dir.c_str(), 1);
  }
  ~AwsHome() {
    for (const auto& [k, v] : saved) {
      if (v) ::setenv(k.c_str(), v->c_str(), 1);
      else ::unsetenv(k.c_str());
    }
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  void write(const std::string& rel, const std::string& text) const {
    std::ofstream(dir / rel) << text;
  }
  fs::path script(const std::string& name, const std::string& body) const {
    fs::path p = dir / name;
    std::ofstream(p) << "#!/bin/sh\n" << body;
    fs::permissions(p, fs::perms::owner_all);
    return p;
  }
};

const char* kConfig =
    "# a comment\n"
    "[default]\n"
    "region = eu-west-1\n"
    "\n"
    "[profile fleet]\n"
    "region=eu-central-1\n"
    "endpoint_url = http://localhost:7480\n"
    "s3 =\n"
    "  addressing_style = virtual\n"
    "  max_concurrent_requests = 20\n"
    "; another comment\n"
    "[profile proc]\n"
    "credential_process = /bin/false\n"
    "[fleet]\n"  // no "profile " prefix: not a profile in the config file
    "region = nowhere-1\n";

const char* kCredentials =
    "[default]\n"
    "aws_access_key_id = AKIADEFAULT\n"
    "aws_secret_access_key = default/secret\n"
    "[fleet]\n"
    "aws_access_key_id = AKIAFLEET\n"
    "aws_secret_access_key = fleet+secret\n"
    "aws_session_token = tok\n";

}  // namespace

TEST_CASE("aws ini: sections, keys, comments, nested blocks, continuations", "[aws]") {
  auto ini = aws::parse_aws_ini(kConfig, "config");
  REQUIRE(ini.sections.size() == 4);
  CHECK(ini.sections["default"]["region"] == "eu-west-1");
  CHECK(ini.sections["profile fleet"]["region"] == "eu-central-1");
  CHECK(ini.sections["profile fleet"]["endpoint_url"] == "http://localhost:7480");
  CHECK(ini.sections["profile fleet"]["s3"].empty());
  CHECK(ini.sections["profile fleet"]["s3.addressing_style"] == "virtual");
  CHECK(ini.sections["profile fleet"]["s3.max_concurrent_requests"] == "20");
  CHECK(ini.sections["profile proc"]["credential_process"] == "/bin/false");

  auto c = aws::parse_aws_ini("[a]\r\nk = v\r\n  more\r\n[a]\nj: w # not a comment\n", "x");
  CHECK(c.sections["a"]["k"] == "v\nmore");
  CHECK(c.sections["a"]["j"] == "w # not a comment");  // as botocore: no inline comments
}

TEST_CASE("aws ini: malformed files name the line and never echo a value", "[aws]") {
  auto err = [](const std::string& text) {
    try {
      aws::parse_aws_ini(text, "cfg");
    } catch (const InputError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK(err("k = v\n") == "cfg:1: a setting before the first [section]");
  CHECK(err("[a]\nsecretvalue\n") == "cfg:2: expected 'key = value'");
  CHECK(err("[a\nk = v\n") == "cfg:1: a section header without ']'");
  CHECK(err("[ ]\n") == "cfg:1: an empty section name");
  CHECK(err("[a]\n= x\n") == "cfg:2: a line with no key");
  CHECK(err("  k = v\n") == "cfg:1: an indented line with no key above it");
  CHECK(err("[a]\ns3 =\n  nokey\n") == "cfg:3: expected 'key = value' inside 's3'");
  CHECK(err(std::string("[a]\nk = \0\n", 9)) == "cfg:2: a NUL byte");
  CHECK(err("[a]\nsecretvalue\n").find("secretvalue") == std::string::npos);
}

TEST_CASE("aws profiles: config and credentials files, explicit and default", "[aws]") {
  AwsHome h;
  h.write(".aws/config", kConfig);
  h.write(".aws/credentials", kCredentials);
  auto d = aws::load_profile("default", false);
  CHECK(d.found);
  CHECK(d.get("region") == "eu-west-1");
  CHECK(d.get("aws_access_key_id") == "AKIADEFAULT");
  auto f = aws::load_profile("fleet", true);
  CHECK(f.get("region") == "eu-central-1");  // not the "[fleet]" section of the config file
  CHECK(f.get("s3.addressing_style") == "virtual");
  CHECK(f.get("aws_session_token") == "tok");
  CHECK_THROWS_AS(aws::load_profile("nope", true), UsageError);
  CHECK_FALSE(aws::load_profile("nope", false).found);
  // AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE move them.
  h.write("other-config", "[profile x]\nregion = ap-south-1\n");
  ::setenv("AWS_CONFIG_FILE", (h.dir / "other-config").c_str(), 1);
  ::setenv("AWS_SHARED_CREDENTIALS_FILE", (h.dir / "missing").c_str(), 1);
  auto x = aws::load_profile("x", true);
  CHECK(x.get("region") == "ap-south-1");
  CHECK_FALSE(x.get("aws_access_key_id"));
  CHECK_THROWS_AS(aws::load_profile("fleet", true), UsageError);
  h.write("other-config", "[profile x]\nregion\n");
  CHECK_THROWS_AS(aws::load_profile("x", true), InputError);
}

TEST_CASE("credential_process: JSON, expiry, failures", "[aws]") {
  using namespace std::chrono;
  const auto now = system_clock::from_time_t(1'800'000'000);  // 2027-01-15
  auto c = aws::parse_process_credentials(
      R"({"Version": 1, "AccessKeyId": "AK", "SecretAccessKey": "SK", "SessionToken": "ST",
          "Expiration": "2027-02-01T00:00:00Z"})",
      now);
  CHECK(c.access_key == "AK");
  CHECK(c.secret_key == "SK");
  CHECK(c.session_token == "ST");
  REQUIRE(c.expiration);
  CHECK(aws::parse_process_credentials(R"({"Version":1,"AccessKeyId":"a","SecretAccessKey":"b",
      "Expiration":"2027-02-01T01:00:00.5+01:00"})", now).expiration == c.expiration);
  for (const char* bad : {"", "garbage", "[]", R"({"Version":2,"AccessKeyId":"a","SecretAccessKey":"b"})",
                          R"({"AccessKeyId":"a","SecretAccessKey":"b"})", R"({"Version":1,"SecretAccessKey":"b"})",
                          R"({"Version":1,"AccessKeyId":"","SecretAccessKey":"b"})",
                          R"({"Version":1,"AccessKeyId":"a","SecretAccessKey":7})",
                          R"({"Version":1,"AccessKeyId":"a","SecretAccessKey":"b","Expiration":"soon"})",
                          R"({"Version":1,"AccessKeyId":"a","SecretAccessKey":"b","Expiration":"2020-01-01T00:00:00Z"})",
                          R"({"Version":1,"AccessKeyId":"a\nb","SecretAccessKey":"b"})"}) {
    INFO(bad);
    CHECK_THROWS_AS(aws::parse_process_credentials(bad, now), InputError);
  }
  try {
    aws::parse_process_credentials(R"({"Version":1,"AccessKeyId":"a","SecretAccessKey":"topsecret","Expiration":"x"})", now);
  } catch (const InputError& e) {
    CHECK(std::string(e.what()).find("topsecret") == std::string::npos);
  }

  CHECK(aws::split_command(R"(/bin/get "a b" 'c d' e\ f)") ==
        std::vector<std::string>{"/bin/get", "a b", "c d", "e f"});
  CHECK_THROWS_AS(aws::split_command("a 'b"), InputError);
  CHECK_THROWS_AS(aws::split_command("   "), InputError);

  AwsHome h;
  auto ok = h.script("ok", "echo '{\"Version\": 1, \"AccessKeyId\": \"'\"$1\"'\", \"SecretAccessKey\": \"s\"}'\n");
  CHECK(aws::run_credential_process(ok.string() + " 'key id'").access_key == "key id");
  auto fails = h.script("fails", "echo nope >&2; exit 3\n");
  CHECK_THROWS_WITH(aws::run_credential_process(fails.string()), Catch::Contains("failed (exit 3)"));
  auto garbage = h.script("garbage", "echo 'SECRETGARBAGE'\n");
  CHECK_THROWS_WITH(aws::run_credential_process(garbage.string()), !Catch::Contains("SECRETGARBAGE"));
  CHECK_THROWS_AS(aws::run_credential_process((h.dir / "missing").string()), InputError);
  auto slow = h.script("slow", "exec sleep 30\n");
  CHECK_THROWS_WITH(aws::run_credential_process(slow.string(), std::chrono::milliseconds(300)),
                    Catch::Contains("no answer"));
}

TEST_CASE("addressing: names, endpoints, auto", "[aws]") {
  CHECK(s3::parse_addressing("Virtual") == s3::Addressing::Virtual);
  CHECK(s3::parse_addressing("path") == s3::Addressing::Path);
  CHECK(s3::parse_addressing("auto") == s3::Addressing::Auto);
  CHECK_FALSE(s3::parse_addressing("dns"));
  CHECK(s3::dns_compatible_bucket("fleet-footage"));
  CHECK(s3::dns_compatible_bucket("fleet.footage"));
  for (const char* bad : {"ab", "Fleet", "fleet_footage", "-fleet", "fleet-", "a..b", "a.-b", "a-.b", "192.168.1.1",
                          "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"})
    CHECK_FALSE(s3::dns_compatible_bucket(bad));
  CHECK(s3::is_aws_endpoint("https://s3.eu-west-1.amazonaws.com"));
  CHECK(s3::is_aws_endpoint("https://s3.cn-north-1.amazonaws.com.cn:443"));
  CHECK_FALSE(s3::is_aws_endpoint("http://127.0.0.1:7480"));
  CHECK_FALSE(s3::is_aws_endpoint("https://amazonaws.com.example.net"));
  s3::Config c;
  c.endpoint = "http://127.0.0.1:7480";
  c.access_key = "a";
  c.secret_key = "b";
  c.addressing = s3::Addressing::Virtual;
  CHECK_THROWS_AS(s3::Client(c), UsageError);  // an IP address has no bucket subdomains
  c.endpoint = "http://localhost:1";
  s3::Client client(c);
  CHECK_THROWS_WITH(client.head_bucket("Bad_Name"), Catch::Contains("virtual-hosted"));
}

TEST_CASE("s3_config: flags > environment > profile > nex config", "[aws]") {
  AwsHome h;
  h.write(".aws/config", kConfig);
  h.write(".aws/credentials", kCredentials);
  const Context ctx = Context::quiet();
  Config cfg = Config::from_string(
      "s3:\n  endpoint: http://cfg:1\n  region: cfg-1\n  access_key_id: AKIACFG\n  secret_access_key: cfgsecret\n"
      "  addressing: path\n");

  // The default profile over the nex config (endpoint only in the config).
  auto c = sync::s3_config(cfg, ctx);
  CHECK(c.access_key == "AKIADEFAULT");
  CHECK(c.region == "eu-west-1");
  CHECK(c.endpoint == "http://cfg:1");
  CHECK(c.addressing == s3::Addressing::Path);

  // AWS_PROFILE picks another; its endpoint_url and addressing_style apply.
  ::setenv("AWS_PROFILE", "fleet", 1);
  c = sync::s3_config(cfg, ctx);
  CHECK(c.access_key == "AKIAFLEET");
  CHECK(c.session_token == "tok");
  CHECK(c.endpoint == "http://localhost:7480");
  CHECK(c.addressing == s3::Addressing::Virtual);
  CHECK(c.region == "eu-central-1");

  // The environment beats the profile...
  ::setenv("AWS_ACCESS_KEY_ID", "AKIAENV", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "envsecret", 1);
  ::setenv("AWS_REGION", "env-1", 1);
  ::setenv("AWS_ENDPOINT_URL", "http://env:2", 1);
  c = sync::s3_config(cfg, ctx);
  CHECK(c.access_key == "AKIAENV");
  CHECK(c.session_token.empty());  // the token goes with its keys
  CHECK(c.region == "env-1");
  CHECK(c.endpoint == "http://env:2");

  // ...and --profile beats the environment's credentials (not its region).
  cfg.set_flag("s3.profile", "default");
  c = sync::s3_config(cfg, ctx);
  CHECK(c.access_key == "AKIADEFAULT");
  CHECK(c.region == "env-1");

  // A profile that is not there, named by the flag or the environment: usage error.
  cfg.set_flag("s3.profile", "typo");
  CHECK_THROWS_AS(sync::s3_config(cfg, ctx), UsageError);
  cfg.set_flag("s3.profile", "proc");  // credential_process /bin/false
  CHECK_THROWS_WITH(sync::s3_config(cfg, ctx), Catch::Contains("credential_process"));

  // --stall-timeout > NEX_S3_STALL_TIMEOUT.
  cfg.set_flag("s3.profile", "default");
  ::setenv("NEX_S3_STALL_TIMEOUT", "30s", 1);
  CHECK(sync::s3_config(cfg, ctx).stall_timeout == std::chrono::seconds(30));
  cfg.set_flag("s3.stall_timeout", "2s");
  CHECK(sync::s3_config(cfg, ctx).stall_timeout == std::chrono::seconds(2));
  cfg.set_flag("s3.stall_timeout", "0s");
  CHECK_THROWS_AS(sync::s3_config(cfg, ctx), UsageError);

  // Nothing but a region: AWS itself.
  AwsHome bare;
  ::setenv("AWS_ACCESS_KEY_ID", "a", 1);
  ::setenv("AWS_SECRET_ACCESS_KEY", "b", 1);
  ::setenv("AWS_REGION", "eu-north-1", 1);
  c = sync::s3_config(Config{}, ctx);
  CHECK(c.endpoint == "https://s3.eu-north-1.amazonaws.com");
  CHECK(c.addressing == s3::Addressing::Auto);
  ::unsetenv("AWS_SECRET_ACCESS_KEY");
  CHECK_THROWS_AS(sync::s3_config(Config{}, ctx), UsageError);
}
