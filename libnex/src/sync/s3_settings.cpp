// S3 settings by AWS conventions (nex/destination.hpp s3_config): command-line
// flags > environment > the AWS profile > nex's config > defaults, as the AWS
// CLI documents it ("Configuration settings and precedence"), with one AWS CLI
// rule kept: a profile named on the command line (--profile) takes the
// credentials from that profile even when AWS_ACCESS_KEY_ID is set.
#include <cstdlib>

#include "nex/aws_config.hpp"
#include "nex/destination.hpp"
#include "nex/error.hpp"
#include "nex/timeutil.hpp"

namespace nex::sync {

namespace {

std::optional<std::string> env(const char* name) {
  const char* v = std::getenv(name);
  if (!v || !*v) return std::nullopt;
  return std::string(v);
}

struct Creds {
  std::string access_key, secret_key, session_token;
  std::string source;  // for the log: "environment", "profile 'x'", ... never a value
};

std::optional<Creds> env_creds() {
  auto k = env("AWS_ACCESS_KEY_ID"), s = env("AWS_SECRET_ACCESS_KEY");
  if (!k && !s) return std::nullopt;
  if (!k) throw UsageError("AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not", "set both, or neither");
  if (!s) throw UsageError("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not", "set both, or neither");
  return Creds{*k, *s, env("AWS_SESSION_TOKEN").value_or(""), "the environment"};
}

std::optional<Creds> profile_creds(const aws::Profile& p) {
  if (!p.found) return std::nullopt;
  auto k = p.get("aws_access_key_id"), s = p.get("aws_secret_access_key");
  const std::string where = "AWS profile '" + p.name + "'";
  if (k || s) {
    if (!k || !s)
      throw InputError(where + " has " + (k ? "aws_access_key_id but no aws_secret_access_key"
                                            : "aws_secret_access_key but no aws_access_key_id"),
                       "give both in " + p.credentials_file.string());
    return Creds{*k, *s, p.get("aws_session_token").value_or(""), where};
  }
  if (auto cmd = p.get("credential_process")) {
    aws::Credentials c = aws::run_credential_process(*cmd);
    return Creds{c.access_key, c.secret_key, c.session_token, where + " (credential_process)"};
  }
  return std::nullopt;
}

std::optional<Creds> config_creds(const Config& cfg) {
  auto k = cfg.get("s3.access_key_id"), s = cfg.get("s3.secret_access_key");
  if (!k && !s) return std::nullopt;
  if (!k) throw UsageError("no S3 access key", "set AWS_ACCESS_KEY_ID or s3.access_key_id in the config");
  if (!s) throw UsageError("no S3 secret key", "set AWS_SECRET_ACCESS_KEY or s3.secret_access_key in the config");
  return Creds{*k, *s, cfg.get("s3.session_token").value_or(""), "the config (" + cfg.path().string() + ")"};
}

}  // namespace

s3::Config s3_config(const Config& cfg, const Context& ctx) {
  s3::Config c;
  // The profile: --profile > AWS_PROFILE > s3.profile > "default".
  const auto flag_profile = cfg.flag("s3.profile");
  std::optional<std::string> named = flag_profile;
  if (!named) named = env("AWS_PROFILE");
  if (!named) named = cfg.get("s3.profile");
  const aws::Profile p = aws::load_profile(named.value_or("default"), named.has_value());

  auto pick = [](std::initializer_list<std::optional<std::string>> layers) -> std::optional<std::string> {
    for (const auto& l : layers)
      if (l && !l->empty()) return l;
    return std::nullopt;
  };

  if (auto r = pick({env("AWS_REGION"), env("AWS_DEFAULT_REGION"), p.get("region"), cfg.get("s3.region")}))
    c.region = *r;

  auto endpoint = pick({env("AWS_ENDPOINT_URL_S3"), env("AWS_ENDPOINT_URL"), p.get("s3.endpoint_url"),
                        p.get("endpoint_url"), cfg.get("s3.endpoint")});
  // No endpoint anywhere: AWS itself, in the region.
  c.endpoint = endpoint ? *endpoint : "https://s3." + c.region + ".amazonaws.com";

  std::optional<Creds> creds;
  if (flag_profile) creds = profile_creds(p);
  if (!creds) creds = env_creds();
  if (!creds && !flag_profile) creds = profile_creds(p);
  if (!creds) creds = config_creds(cfg);
  if (!creds)
    throw UsageError("no S3 credentials",
                     "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or aws_access_key_id and "
                     "aws_secret_access_key (or credential_process) in an AWS profile (" +
                         p.credentials_file.string() + ", --profile), or s3.access_key_id in the config");
  c.access_key = creds->access_key;
  c.secret_key = creds->secret_key;
  c.session_token = creds->session_token;

  c.ca_bundle = pick({env("AWS_CA_BUNDLE"), p.get("ca_bundle"), cfg.get("s3.ca_bundle")}).value_or("");

  // Addressing: NEX_S3_ADDRESSING > the profile's "s3 = addressing_style" > s3.addressing > auto.
  if (auto a = env("NEX_S3_ADDRESSING")) {
    auto v = s3::parse_addressing(*a);
    if (!v) throw UsageError("bad NEX_S3_ADDRESSING '" + *a + "'", "auto, virtual or path");
    c.addressing = *v;
  } else if (auto pa = p.get("s3.addressing_style")) {
    auto v = s3::parse_addressing(*pa);
    if (!v)
      throw InputError("AWS profile '" + p.name + "': bad s3 addressing_style '" + *pa + "'", "auto, virtual or path");
    c.addressing = *v;
  } else if (auto ca = cfg.get("s3.addressing")) {
    auto v = s3::parse_addressing(*ca);
    if (!v) throw InputError(cfg.path().string() + ": bad s3.addressing '" + *ca + "'", "auto, virtual or path");
    c.addressing = *v;
  }

  // Seconds without a byte moving before a request is abandoned (and retried
  // on a fresh connection): --stall-timeout > NEX_S3_STALL_TIMEOUT > s3.stall_timeout.
  std::optional<std::string> stall = cfg.flag("s3.stall_timeout");
  if (!stall) stall = pick({env("NEX_S3_STALL_TIMEOUT"), cfg.get("s3.stall_timeout")});
  if (stall) {
    auto ms = parse_duration(*stall);
    if (!ms || *ms < 1000) throw UsageError("bad S3 stall timeout '" + *stall + "'", "at least 1s, e.g. 30s");
    c.stall_timeout = std::chrono::seconds(*ms / 1000);
  }
  c.log = ctx.log;
  if (ctx.log)
    ctx.log->debug("s3: endpoint {}, region {}, {} addressing, credentials from {}{}",
                   c.endpoint.find('@') == std::string::npos ? c.endpoint : "(refused: it carries credentials)", c.region,
                   s3::to_string(c.addressing), creds->source, c.session_token.empty() ? "" : " with a session token");
  return c;
}

}  // namespace nex::sync
