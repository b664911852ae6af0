#pragma once
// The command-line conventions all four tools share (DESIGN.md §4): common
// options, logging to stderr, config and environment precedence, one-line
// errors with hints, exit codes, Ctrl-C. A tool's main() builds its CLI11 app,
// then hands over to Tool::run().
#include <CLI/CLI.hpp>

#include <functional>
#include <iosfwd>
#include <optional>
#include <string>

#include "nex/config.hpp"
#include "nex/context.hpp"
#include "nex/output.hpp"

namespace nex::cli {

struct CommonOptions {
  int verbose = 0;
  bool quiet = false;
  std::string config_file;
  std::optional<std::string> format;  // table|json|ndjson|csv
  bool json = false;
  std::string color = "auto";
};

// What the body of a tool gets once the command line is parsed.
struct Invocation {
  Context ctx;
  Config config;
  Format format = Format::Table;
  bool color = false;
  std::ostream* out = nullptr;  // stdout: data only
  // Set by a body that runs until SIGINT/SIGTERM (a server): stopping on a
  // signal is then its normal end, exit 0 rather than 130.
  bool signal_is_normal_stop = false;
};

class Tool {
 public:
  // with_format: whether the tool prints data (adds --format/--json).
  Tool(std::string name, std::string description, bool with_format = true);
  CLI::App& app() { return app_; }
  const std::string& name() const { return name_; }

  // Adds the common options to a subcommand too (so they work after it).
  void add_common_options(CLI::App& sub);

  // Parses argv, sets up logging and config, runs body, and maps every
  // failure to a one-line error and its exit code. Returns the exit code.
  int run(int argc, char** argv, const std::function<int(Invocation&)>& body);

 private:
  std::string name_;
  CLI::App app_;
  CommonOptions common_;
  bool with_format_;
};

// "tool 0.1.0 (libavformat 59.27.100, libcurl 7.88.1)"
std::string version_line(const std::string& tool);

}  // namespace nex::cli
