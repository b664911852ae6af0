// nexls --report --pdf: the same page, printed by a real browser engine.
#include "report/pdf.hpp"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "nex/error.hpp"
#include "nex/fsutil.hpp"

extern char** environ;

namespace nex::report::detail {

namespace fs = std::filesystem;

void print_pdf(const std::string& html, const fs::path& out, const Context& ctx) {
  const std::string base = "." + out.filename().string() + ".tmp-" + std::to_string(::getpid());
  const fs::path dir = out.parent_path().empty() ? fs::path(".") : out.parent_path();
  const fs::path page = fs::absolute(dir / (base + ".html")), pdf = fs::absolute(dir / (base + ".pdf"));
  TempFileGuard page_guard(page), pdf_guard(pdf);
  write_file_atomic(page, html);
  std::string profile_tmpl = (fs::temp_directory_path() / "nex-report-chromium.XXXXXX").string();
  if (!::mkdtemp(profile_tmpl.data())) throw IoError("cannot make a browser profile folder: " + errno_text(errno));
  const fs::path profile = profile_tmpl;
  struct RemoveDir {
    fs::path p;
    ~RemoveDir() {
      std::error_code ec;
      fs::remove_all(p, ec);
    }
  } profile_guard{profile};

  const char* env = std::getenv("NEX_CHROMIUM");
  std::vector<std::string> args = {env && *env ? env : "chromium", "--headless", "--disable-gpu",
                                   "--disable-background-networking", "--disable-component-update",
                                   "--disable-sync", "--no-first-run", "--no-pdf-header-footer",
                                   "--user-data-dir=" + profile.string(), "--print-to-pdf=" + pdf.string(),
                                   "file://" + page.string()};
  if (::geteuid() == 0) args.insert(args.begin() + 1, "--no-sandbox");  // Chromium refuses root otherwise
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
  pid_t pid = 0;
  const int rc = ::posix_spawnp(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0)
    throw InputError(std::string("--pdf: cannot run ") + argv[0] + ": " + std::strerror(rc),
                     "install Debian's chromium, or name a Chromium binary in NEX_CHROMIUM");
  ctx.log->debug("printing the report with {} (pid {})", argv[0], pid);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  std::error_code ec;
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !fs::is_regular_file(pdf, ec) || fs::file_size(pdf, ec) == 0)
    throw IoError(std::string("--pdf: ") + argv[0] + " did not print the page", "run it by hand to see why");
  fs::rename(pdf, out, ec);
  if (ec) throw IoError("cannot rename the PDF to " + out.string() + ": " + ec.message());
  pdf_guard.release();
}

}  // namespace nex::report::detail
