#pragma once
// The AWS shared configuration, as the AWS CLI, boto3 and the SDKs read it:
// the credentials file (AWS_SHARED_CREDENTIALS_FILE, default
// ~/.aws/credentials) and the config file (AWS_CONFIG_FILE, default
// ~/.aws/config), profiles (--profile, AWS_PROFILE, "default"), and
// credential_process.
//
// parse_aws_ini() is the pure reader of one such file (untrusted input: any
// text is safe, malformed text ends in nex::InputError naming file and line).
// Values are never put into error messages (they may be secrets).
#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace nex::aws {

// One section's settings. A nested block ("s3 =" followed by indented
// "addressing_style = virtual") is kept as "s3.addressing_style".
using Settings = std::map<std::string, std::string>;

struct IniFile {
  std::map<std::string, Settings> sections;  // section header as written, trimmed ("profile ci", "default")
};

// Section headers "[name]", "key = value" lines (keys are case-sensitive and
// trimmed; values trimmed), full-line comments ('#' or ';'), blank lines,
// indented continuation lines and nested blocks. A repeated section merges,
// a repeated key keeps the last value. Throws InputError "<origin>:<line>: why".
IniFile parse_aws_ini(std::string_view text, std::string_view origin);

// The settings of one profile: the config file's "[profile NAME]" ("[default]"
// for default) overlaid by the credentials file's "[NAME]".
struct Profile {
  std::string name;
  bool found = false;  // in either file
  Settings settings;   // aws_access_key_id, region, endpoint_url, s3.addressing_style, ...
  std::filesystem::path config_file, credentials_file;
  std::optional<std::string> get(const std::string& key) const;
};

// The files named by AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE or under
// $HOME/.aws; absent files are empty. An explicit profile (explicit_name true:
// --profile or AWS_PROFILE) that neither file has is an InputError, as the
// AWS CLI's "The config profile (x) could not be found".
Profile load_profile(const std::string& name, bool explicit_name);

struct Credentials {
  std::string access_key;
  std::string secret_key;
  std::string session_token;
  std::optional<std::chrono::system_clock::time_point> expiration;
};

// The JSON a credential_process prints (Version 1, AccessKeyId,
// SecretAccessKey, optional SessionToken and Expiration, ISO 8601 UTC).
// Throws InputError without quoting the text; an Expiration in the past
// (relative to `now`) is an error too.
Credentials parse_process_credentials(std::string_view json, std::chrono::system_clock::time_point now);

// Runs a credential_process command line (split like a shell's words: blanks,
// single and double quotes, backslash; no shell is involved), its stderr
// going to ours, and parses what it prints. Throws InputError when it cannot
// be run, fails, takes longer than `timeout` or prints garbage.
Credentials run_credential_process(const std::string& command,
                                   std::chrono::milliseconds timeout = std::chrono::seconds(60));

// The words of a credential_process command line. Throws InputError on an
// unterminated quote or an empty command.
std::vector<std::string> split_command(std::string_view command);

}  // namespace nex::aws
