#include "nex/version.hpp"

#include <curl/curl.h>
extern "C" {
#include <libavformat/avformat.h>
}

namespace nex {
namespace detail {
extern const char* const kVersion;
}

std::string version() { return detail::kVersion; }

std::string runtime_versions() {
  const unsigned v = avformat_version();
  return "FFmpeg libavformat " + std::to_string(v >> 16) + "." + std::to_string((v >> 8) & 0xff) + "." +
         std::to_string(v & 0xff) + ", libcurl " + curl_version_info(CURLVERSION_NOW)->version;
}

}  // namespace nex
