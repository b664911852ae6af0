#include "nex/config.hpp"

#include <yaml-cpp/yaml.h>

#include <cstdlib>
#include <map>
#include <sstream>

#include "nex/error.hpp"
#include "nex/fsutil.hpp"

namespace nex {

struct Config::Impl {
  YAML::Node root;
  std::map<std::string, std::string> flags;
};

Config::Config() : impl_(std::make_unique<Impl>()) {}
Config::~Config() = default;
Config::Config(Config&&) noexcept = default;
Config& Config::operator=(Config&&) noexcept = default;

std::filesystem::path Config::default_path() {
  if (const char* p = std::getenv("NEX_CONFIG"); p && *p) return p;
  if (const char* x = std::getenv("XDG_CONFIG_HOME"); x && *x) return std::filesystem::path(x) / "nex/config.yaml";
  if (const char* h = std::getenv("HOME"); h && *h) return std::filesystem::path(h) / ".config/nex/config.yaml";
  return {};
}

Config Config::from_string(const std::string& yaml) {
  Config c;
  try {
    c.impl_->root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    throw InputError(std::string("config: ") + e.what());
  }
  if (c.impl_->root && !c.impl_->root.IsNull() && !c.impl_->root.IsMap())
    throw InputError("config: not a YAML mapping");
  return c;
}

Config Config::load(const std::string& explicit_path) {
  std::filesystem::path p = explicit_path.empty() ? default_path() : std::filesystem::path(explicit_path);
  std::error_code ec;
  if (p.empty() || !std::filesystem::exists(p, ec)) {
    if (!explicit_path.empty() || std::getenv("NEX_CONFIG"))
      throw InputError(p.string() + ": config file not found");
    return Config();
  }
  Config c;
  try {
    c = from_string(read_file(p));
  } catch (const InputError& e) {
    throw InputError(p.string() + ": " + e.what());
  }
  c.path_ = p;
  return c;
}

std::optional<std::string> Config::get(const std::string& key) const {
  // Node::reset rebinds; operator= would write into the tree.
  if (!impl_->root.IsDefined() || impl_->root.IsNull()) return std::nullopt;
  YAML::Node n;
  n.reset(impl_->root);
  std::stringstream ss(key);
  std::string part;
  while (std::getline(ss, part, '.')) {
    if (!n.IsMap()) return std::nullopt;
    const YAML::Node& cn = n;
    const YAML::Node child = cn[part];
    if (!child.IsDefined()) return std::nullopt;
    n.reset(child);
  }
  if (!n || !n.IsScalar()) return std::nullopt;
  return n.as<std::string>();
}

void Config::set_flag(const std::string& key, std::string value) { impl_->flags[key] = std::move(value); }

std::optional<std::string> Config::flag(const std::string& key) const {
  auto it = impl_->flags.find(key);
  if (it == impl_->flags.end()) return std::nullopt;
  return it->second;
}

std::string resolve(const std::optional<std::string>& flag, const char* env, const Config& cfg,
                    const std::string& key, const std::string& fallback) {
  if (flag) return *flag;
  if (env) {
    if (const char* v = std::getenv(env); v && *v) return v;
  }
  if (!key.empty())
    if (auto v = cfg.get(key)) return *v;
  return fallback;
}

}  // namespace nex
