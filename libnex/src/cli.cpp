#include "nex/cli.hpp"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <iostream>

#include "nex/error.hpp"
#include "nex/version.hpp"

namespace nex::cli {
namespace {

std::atomic<bool> g_interrupted{false};  // written only by the signal handler

extern "C" void on_signal(int) { g_interrupted.store(true); }

void install_signal_handlers() {
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  std::signal(SIGPIPE, SIG_IGN);
}

void print_error(const std::string& tool, const std::string& what, const std::string& hint) {
  std::cerr << tool << ": error: " << what << '\n';
  if (!hint.empty()) std::cerr << tool << ": hint: " << hint << '\n';
}

// Choices of an IsMember check, from the type name CLI11 builds ("TEXT:{a,b}").
ojson choices_of(const CLI::Option* o) {
  ojson out = ojson::array();
  const std::string t = o->get_type_name();
  const auto open = t.find('{'), close = t.rfind('}');
  if (open == std::string::npos || close == std::string::npos || close < open) return out;
  std::string item;
  for (char c : t.substr(open + 1, close - open - 1)) {
    if (c == ',') {
      out.push_back(item);
      item.clear();
    } else if (c != ' ') {
      item += c;
    }
  }
  if (!item.empty()) out.push_back(item);
  return out;
}

void describe_options(const CLI::App& app, ojson& options) {
  for (const CLI::Option* o : app.get_options()) {
    if (o->get_group().empty()) continue;  // hidden
    ojson j;
    ojson names = ojson::array();
    for (const auto& s : o->get_snames()) names.push_back("-" + s);
    for (const auto& l : o->get_lnames()) names.push_back("--" + l);
    j["names"] = names;
    j["positional"] = o->get_positional();
    if (o->get_positional()) j["name"] = o->get_name(true);
    j["takes_value"] = o->get_items_expected_max() > 0;
    std::string type = o->get_type_name();
    j["type"] = type.substr(0, type.find(':'));
    j["choices"] = choices_of(o);
    j["repeatable"] = o->get_expected_max() > 1 || o->get_multi_option_policy() == CLI::MultiOptionPolicy::TakeAll;
    j["description"] = o->get_description();
    options.push_back(j);
  }
  // Option groups are nameless sub-apps.
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App* a) { return a->get_name().empty(); }))
    describe_options(*sub, options);
}

ojson describe_app(const CLI::App& app) {
  ojson j;
  j["name"] = app.get_name();
  j["description"] = app.get_description();
  j["options"] = ojson::array();
  describe_options(app, j["options"]);
  j["subcommands"] = ojson::array();
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App* a) { return !a->get_name().empty(); }))
    j["subcommands"].push_back(describe_app(*sub));
  return j;
}

}  // namespace

std::string version_line(const std::string& tool) {
  return tool + " " + nex::version() + " (" + nex::runtime_versions() + ")";
}

Tool::Tool(std::string name, std::string description, bool with_format)
    : name_(std::move(name)), app_(std::move(description), name_), with_format_(with_format) {
  app_.set_version_flag("--version", [n = name_] { return version_line(n); }, "Print the version and exit");
  app_.option_defaults()->always_capture_default();
  add_common_options(app_);
  // Hidden: the option definitions as JSON, from which completions and the
  // man pages' option lists are generated (scripts/gen-cli-docs).
  app_.add_flag_callback("--dump-cli", [this] { throw CLI::CallForVersion(describe_app(app_).dump(2), 0); })
      ->group("");
}

void Tool::add_common_options(CLI::App& a) {
  auto* g = &a;
  g->add_flag("-v,--verbose", common_.verbose, "More log output on stderr (repeatable)");
  g->add_flag("-q,--quiet", common_.quiet, "Only errors on stderr");
  g->add_option("--config", common_.config_file, "Config file (default: $NEX_CONFIG or $XDG_CONFIG_HOME/nex/config.yaml)")
      ->type_name("FILE");
  g->add_option("--color", common_.color, "Colour in tables and logs")
      ->check(CLI::IsMember({"auto", "always", "never"}))
      ->type_name("WHEN");
  if (with_format_) {
    g->add_option_function<std::string>(
         "--format", [this](const std::string& v) { common_.format = v; }, "Output format")
        ->check(CLI::IsMember({"table", "json", "ndjson", "csv"}))
        ->type_name("table|json|ndjson|csv");
    g->add_flag("--json", common_.json, "Same as --format json");
  }
}

int Tool::run(int argc, char** argv, const std::function<int(Invocation&)>& body) {
  try {
    app_.parse(argc, argv);
  } catch (const CLI::Success& e) {
    return app_.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string what = e.what();
    print_error(name_, what, "see '" + name_ + " --help'");
    return kExitUsage;
  }

  install_signal_handlers();
  Invocation inv;
  inv.out = &std::cout;
  const bool tty = ::isatty(STDERR_FILENO) == 1;
  try {
    inv.config = Config::load(common_.config_file);
    std::optional<std::string> fmt = common_.format;
    if (common_.json) fmt = "json";
    const std::string f = resolve(fmt, "NEX_FORMAT", inv.config, "format", "table");
    const auto pf = parse_format(f);
    if (!pf) throw UsageError("bad output format '" + f + "'", "use table, json, ndjson or csv");
    inv.format = *pf;
    const std::string color = resolve(common_.color == "auto" ? std::nullopt : std::optional(common_.color),
                                      "NEX_COLOR", inv.config, "color", "auto");
    inv.color = color == "always" || (color == "auto" && ::isatty(STDOUT_FILENO) == 1 && !std::getenv("NO_COLOR"));

    auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>(
        color == "always" ? spdlog::color_mode::always
                          : (color == "never" || std::getenv("NO_COLOR") ? spdlog::color_mode::never
                                                                           : spdlog::color_mode::automatic));
    inv.ctx.log = std::make_shared<spdlog::logger>(name_, sink);
    inv.ctx.log->set_pattern("%n: %^%l%$: %v");
    spdlog::level::level_enum level = spdlog::level::warn;
    if (common_.quiet) level = spdlog::level::err;
    else if (common_.verbose == 1) level = spdlog::level::info;
    else if (common_.verbose == 2) level = spdlog::level::debug;
    else if (common_.verbose >= 3) level = spdlog::level::trace;
    inv.ctx.log->set_level(level);
    inv.ctx.progress = tty && !common_.quiet;
    inv.ctx.interrupted = &g_interrupted;
    if (!inv.config.path().empty()) inv.ctx.log->debug("config: {}", inv.config.path().string());

    const int rc = body(inv);
    std::cout.flush();
    if (g_interrupted.load() && !inv.signal_is_normal_stop) return kExitInterrupted;
    return rc;
  } catch (const Error& e) {
    std::cout.flush();
    print_error(name_, e.what(), e.hint());
    return e.exit_code();
  } catch (const std::exception& e) {
    std::cout.flush();
    print_error(name_, e.what(), "");
    return kExitError;
  }
}

}  // namespace nex::cli
