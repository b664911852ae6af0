// The AWS shared config and credentials files, profiles and credential_process
// (nex/aws_config.hpp). Nothing here puts a value of those files, or what a
// credential_process prints, into a message: they may be secrets.
#include "nex/aws_config.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>
#include <vector>

#include "nex/error.hpp"
#include "nex/fsutil.hpp"

extern char** environ;

namespace nex::aws {

namespace {

bool blank(char c) { return c == ' ' || c == '\t'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && (blank(s.front()) || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (blank(s.back()) || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

// A name for messages: printable, short (section and key names are not secret).
std::string shown(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 60)) out += (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) ? '?' : c;
  return out;
}

}  // namespace

IniFile parse_aws_ini(std::string_view text, std::string_view origin) {
  IniFile ini;
  Settings* section = nullptr;
  std::string key;          // the last key of the section (continuations, nested blocks)
  bool nested = false;      // key had an empty value: indented lines are "sub = value"
  std::size_t line_no = 0;
  auto fail = [&](const std::string& why) {
    throw InputError(std::string(origin) + ":" + std::to_string(line_no) + ": " + why,
                     "the AWS config and credentials files are INI: [section] then key = value lines");
  };
  while (!text.empty()) {
    ++line_no;
    std::size_t nl = text.find('\n');
    std::string_view raw = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (raw.find('\0') != std::string_view::npos) fail("a NUL byte");
    std::string_view line = trim(raw);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    const bool indented = blank(raw.front());
    if (indented && section && !key.empty()) {
      if (nested) {
        std::size_t eq = line.find_first_of("=:");
        if (eq == std::string_view::npos) fail("expected 'key = value' inside '" + shown(key) + "'");
        std::string_view sub = trim(line.substr(0, eq));
        if (sub.empty()) fail("a line with no key");
        (*section)[key + "." + std::string(sub)] = std::string(trim(line.substr(eq + 1)));
      } else {
        std::string& v = (*section)[key];
        v += "\n";
        v += line;
      }
      continue;
    }
    if (line.front() == '[') {
      if (indented) fail("a section header must start at the beginning of the line");
      if (line.back() != ']') fail("a section header without ']'");
      std::string_view name = trim(line.substr(1, line.size() - 2));
      if (name.empty()) fail("an empty section name");
      section = &ini.sections[std::string(name)];
      key.clear();
      nested = false;
      continue;
    }
    if (indented) fail("an indented line with no key above it");
    if (!section) fail("a setting before the first [section]");
    std::size_t eq = line.find_first_of("=:");
    if (eq == std::string_view::npos) fail("expected 'key = value'");
    std::string_view k = trim(line.substr(0, eq));
    if (k.empty()) fail("a line with no key");
    std::string_view v = trim(line.substr(eq + 1));
    key = std::string(k);
    nested = v.empty();
    (*section)[key] = std::string(v);
  }
  return ini;
}

std::optional<std::string> Profile::get(const std::string& key) const {
  auto it = settings.find(key);
  if (it == settings.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

namespace {

std::filesystem::path aws_file(const char* env, const char* name) {
  if (const char* v = std::getenv(env); v && *v) {
    std::string p = v;
    if (p.rfind("~/", 0) == 0)
      if (const char* h = std::getenv("HOME"); h && *h) p = std::string(h) + p.substr(1);
    return p;
  }
  if (const char* h = std::getenv("HOME"); h && *h) return std::filesystem::path(h) / ".aws" / name;
  return {};
}

std::optional<IniFile> read_ini(const std::filesystem::path& p) {
  std::error_code ec;
  if (p.empty() || !std::filesystem::exists(p, ec)) return std::nullopt;
  if (std::filesystem::is_directory(p, ec)) throw InputError(p.string() + ": is a folder, not an AWS config file");
  std::string text = read_file(p);
  if (text.size() > (4u << 20)) throw InputError(p.string() + ": larger than 4 MiB; not an AWS config file");
  return parse_aws_ini(text, p.string());
}

}  // namespace

Profile load_profile(const std::string& name, bool explicit_name) {
  Profile p;
  p.name = name;
  p.config_file = aws_file("AWS_CONFIG_FILE", "config");
  p.credentials_file = aws_file("AWS_SHARED_CREDENTIALS_FILE", "credentials");
  if (auto cfg = read_ini(p.config_file)) {
    // "[profile NAME]"; the default profile is "[default]" (or "[profile default]").
    for (const auto& [section, settings] : cfg->sections) {
      std::string_view s = section;
      bool match = false;
      if (s.rfind("profile", 0) == 0 && s.size() > 7 && blank(s[7])) match = trim(s.substr(7)) == name;
      else match = name == "default" && s == "default";
      if (!match) continue;
      p.found = true;
      for (const auto& [k, v] : settings) p.settings[k] = v;
    }
  }
  if (auto cred = read_ini(p.credentials_file)) {
    auto it = cred->sections.find(name);
    if (it != cred->sections.end()) {
      p.found = true;
      for (const auto& [k, v] : it->second) p.settings[k] = v;  // credentials file wins
    }
  }
  if (!p.found && explicit_name)
    throw UsageError("AWS profile '" + shown(name) + "' not found in " +
                         (p.config_file.empty() ? std::string("~/.aws/config") : p.config_file.string()) + " or " +
                         (p.credentials_file.empty() ? std::string("~/.aws/credentials")
                                                     : p.credentials_file.string()),
                     "list the profiles with: grep '^\\[' ~/.aws/config ~/.aws/credentials");
  return p;
}

namespace {

// "2026-12-06T23:00:00Z", "2026-12-06T23:00:00.123Z", "2026-12-06T23:00:00+01:00".
std::optional<std::chrono::system_clock::time_point> parse_utc(std::string_view s) {
  auto num = [&](std::size_t at, std::size_t n) -> int {
    if (at + n > s.size()) return -1;
    int v = 0;
    for (std::size_t i = at; i < at + n; ++i) {
      if (s[i] < '0' || s[i] > '9') return -1;
      v = v * 10 + (s[i] - '0');
    }
    return v;
  };
  if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
      s[13] != ':' || s[16] != ':')
    return std::nullopt;
  std::tm tm{};
  int y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2), se = num(17, 2);
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 60)
    return std::nullopt;
  std::size_t i = 19;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
  }
  long offset = 0;
  std::string_view zone = s.substr(i);
  if (zone == "Z" || zone == "z") {
  } else if (zone.size() == 6 && (zone[0] == '+' || zone[0] == '-') && zone[3] == ':') {
    int oh = num(i + 1, 2), om = num(i + 4, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return std::nullopt;
    offset = (oh * 3600L + om * 60L) * (zone[0] == '-' ? -1 : 1);
  } else {
    return std::nullopt;
  }
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = se;
  const time_t t = ::timegm(&tm);
  if (t == static_cast<time_t>(-1)) return std::nullopt;
  return std::chrono::system_clock::from_time_t(t - offset);
}

}  // namespace

Credentials parse_process_credentials(std::string_view text, std::chrono::system_clock::time_point now) {
  const std::string hint = "it must print JSON: {\"Version\": 1, \"AccessKeyId\": ..., \"SecretAccessKey\": ...}";
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    throw InputError("credential_process: its output is not a JSON object", hint);
  auto it = j.find("Version");
  if (it == j.end() || !it->is_number_integer() || it->get<long long>() != 1)
    throw InputError("credential_process: its output has no \"Version\": 1", hint);
  auto str = [&](const char* name, bool required) -> std::string {
    auto f = j.find(name);
    if (f == j.end() || f->is_null()) {
      if (required) throw InputError(std::string("credential_process: its output has no ") + name, hint);
      return {};
    }
    if (!f->is_string() || (required && f->get_ref<const std::string&>().empty()))
      throw InputError(std::string("credential_process: ") + name + " is not a non-empty string", hint);
    return f->get<std::string>();
  };
  Credentials c;
  c.access_key = str("AccessKeyId", true);
  c.secret_key = str("SecretAccessKey", true);
  c.session_token = str("SessionToken", false);
  std::string exp = str("Expiration", false);
  if (!exp.empty()) {
    c.expiration = parse_utc(exp);
    if (!c.expiration)
      throw InputError("credential_process: Expiration is not an ISO 8601 time", "e.g. 2026-12-06T23:00:00Z");
    if (*c.expiration <= now) throw InputError("credential_process: the credentials it printed have expired");
  }
  for (const std::string* s : {&c.access_key, &c.secret_key, &c.session_token})
    for (char ch : *s)
      if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f)
        throw InputError("credential_process: a credential contains a control character");
  return c;
}

std::vector<std::string> split_command(std::string_view s) {
  std::vector<std::string> words;
  std::string cur;
  bool in_word = false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (blank(c) || c == '\n' || c == '\r') {
      if (in_word) words.push_back(std::move(cur));
      cur.clear();
      in_word = false;
    } else if (c == '\'') {
      std::size_t end = s.find('\'', i + 1);
      if (end == std::string_view::npos) throw InputError("credential_process: an unterminated ' quote");
      cur.append(s.substr(i + 1, end - i - 1));
      i = end;
      in_word = true;
    } else if (c == '"') {
      ++i;
      for (; i < s.size() && s[i] != '"'; ++i) {
        if (s[i] == '\\' && i + 1 < s.size() && (s[i + 1] == '"' || s[i + 1] == '\\')) ++i;
        cur += s[i];
      }
      if (i >= s.size()) throw InputError("credential_process: an unterminated \" quote");
      in_word = true;
    } else if (c == '\\' && i + 1 < s.size()) {
      cur += s[++i];
      in_word = true;
    } else {
      cur += c;
      in_word = true;
    }
  }
  if (in_word) words.push_back(std::move(cur));
  if (words.empty()) throw InputError("credential_process: an empty command");
  return words;
}

Credentials run_credential_process(const std::string& command, std::chrono::milliseconds timeout) {
  std::vector<std::string> words = split_command(command);
  const std::string prog = words[0];
  std::vector<char*> argv;
  for (auto& w : words) argv.push_back(w.data());
  argv.push_back(nullptr);

  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw IoError(std::string("credential_process: pipe: ") + std::strerror(errno));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  pid_t pid = 0;
  int rc = ::posix_spawnp(&pid, prog.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  ::close(fds[1]);
  if (rc != 0) {
    ::close(fds[0]);
    throw InputError("credential_process: cannot run '" + shown(prog) + "': " + std::strerror(rc),
                     "check credential_process in the AWS config (an absolute path is safest)");
  }
  std::string out;
  bool timed_out = false, too_big = false;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    int n = ::poll(&p, 1, static_cast<int>(std::min<long long>(left.count(), 1000)));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) continue;
    char buf[4096];
    ssize_t got = ::read(fds[0], buf, sizeof buf);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    out.append(buf, static_cast<std::size_t>(got));
    if (out.size() > (1u << 20)) {
      too_big = true;
      break;
    }
  }
  ::close(fds[0]);
  if (timed_out || too_big) ::kill(pid, SIGKILL);  // the child we started
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  // The output may hold secrets: wipe it from memory once parsed.
  struct Wipe {
    std::string& s;
    ~Wipe() { std::fill(s.begin(), s.end(), '\0'); }
  } wipe{out};
  if (timed_out)
    throw InputError("credential_process: '" + shown(prog) + "' gave no answer within " +
                     std::to_string(timeout.count() / 1000) + " s");
  if (too_big) throw InputError("credential_process: '" + shown(prog) + "' printed more than 1 MiB");
  if (WIFSIGNALED(status))
    throw InputError("credential_process: '" + shown(prog) + "' was killed by signal " +
                     std::to_string(WTERMSIG(status)));
  if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
    throw InputError("credential_process: '" + shown(prog) + "' failed (exit " +
                         std::to_string(WEXITSTATUS(status)) + ")",
                     WEXITSTATUS(status) == 127 ? "is the program installed?" : "see its message above");
  return parse_process_credentials(out, std::chrono::system_clock::now());
}

}  // namespace nex::aws
