#pragma once
// The user's config file: $NEX_CONFIG, else $XDG_CONFIG_HOME/nex/config.yaml,
// else ~/.config/nex/config.yaml. Precedence: flags > environment > config >
// defaults; resolve() applies it for one setting.
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace nex {

class Config {
 public:
  Config();
  ~Config();
  Config(Config&&) noexcept;
  Config& operator=(Config&&) noexcept;

  // Loads `explicit_path` (must exist) or the default location (may be absent).
  // Throws InputError on a malformed file.
  static Config load(const std::string& explicit_path = {});
  static Config from_string(const std::string& yaml);
  static std::filesystem::path default_path();

  // Dotted key ("nexsync.bwlimit"); nullopt when absent.
  std::optional<std::string> get(const std::string& dotted_key) const;

  // A setting given on the command line, for settings that the library
  // resolves itself where the tool cannot pass them down (s3.profile from
  // --profile, s3.stall_timeout from --stall-timeout). It ranks above the
  // environment; get() does not see it.
  void set_flag(const std::string& dotted_key, std::string value);
  std::optional<std::string> flag(const std::string& dotted_key) const;
  const std::filesystem::path& path() const { return path_; }

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::filesystem::path path_;
};

// flag (if given) > env var (if set and non-empty) > config key > fallback.
std::string resolve(const std::optional<std::string>& flag, const char* env, const Config& cfg,
                    const std::string& key, const std::string& fallback);

}  // namespace nex
