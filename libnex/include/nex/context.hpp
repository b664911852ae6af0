#pragma once
// What a library job needs from its caller: a logger (to stderr for tools,
// anything for tests), whether a progress bar may be drawn, and the
// interrupt flag. Passed explicitly; libnex keeps no global state for it.
#include <spdlog/logger.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

namespace nex {

struct Context {
  std::shared_ptr<spdlog::logger> log;
  bool progress = false;                       // stderr is a terminal and not -q
  const std::atomic<bool>* interrupted = nullptr;

  // Throws nex::Interrupted once SIGINT/SIGTERM arrived.
  void check_interrupt() const;
  // A context whose logger discards everything (tests, library defaults).
  static Context quiet();
};

// A one-line progress bar on stderr, drawn only when ctx.progress is set.
class Progress {
 public:
  Progress(const Context& ctx, std::string label, uint64_t total);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  void update(uint64_t done);
  void finish();

 private:
  void draw(bool force);
  bool enabled_;
  std::string label_;
  uint64_t total_, done_ = 0;
  int64_t last_draw_ms_ = 0;
  bool finished_ = false;
};

}  // namespace nex
