#pragma once
// Internal: the report page printed to PDF by headless Chromium (Debian
// package chromium; $NEX_CHROMIUM names another binary).
#include <filesystem>
#include <string>

#include "nex/context.hpp"

namespace nex::report::detail {

// Writes `html` printed as PDF to `out` (temporary name, renamed when
// complete). InputError when no browser can be run, IoError when it fails.
void print_pdf(const std::string& html, const std::filesystem::path& out, const Context& ctx);

}  // namespace nex::report::detail
