#include "nex/context.hpp"

#include <spdlog/sinks/null_sink.h>

#include <chrono>
#include <cstdio>

#include "nex/error.hpp"

namespace nex {

void Context::check_interrupt() const {
  if (interrupted && interrupted->load()) throw Interrupted();
}

Context Context::quiet() {
  Context c;
  c.log = std::make_shared<spdlog::logger>("nex", std::make_shared<spdlog::sinks::null_sink_mt>());
  return c;
}

Progress::Progress(const Context& ctx, std::string label, uint64_t total)
    : enabled_(ctx.progress), label_(std::move(label)), total_(total) {
  draw(true);
}

Progress::~Progress() { finish(); }

void Progress::update(uint64_t done) {
  done_ = done;
  draw(false);
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (!enabled_) return;
  done_ = total_;
  draw(true);
  std::fputc('\n', stderr);
}

void Progress::draw(bool force) {
  if (!enabled_) return;
  const int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::steady_clock::now().time_since_epoch())
                          .count();
  if (!force && now - last_draw_ms_ < 100) return;
  last_draw_ms_ = now;
  const double f = total_ ? static_cast<double>(done_) / static_cast<double>(total_) : 0.0;
  const int w = 30, filled = static_cast<int>(f * w);
  std::fprintf(stderr, "\r%s [%.*s%*s] %3d%%", label_.c_str(), filled, "##############################",
               w - filled, "", static_cast<int>(f * 100));
  std::fflush(stderr);
}

}  // namespace nex
