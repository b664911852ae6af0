#pragma once
#include <string>

namespace nex {
std::string version();           // "0.1.0"
std::string runtime_versions();  // "libavformat 59.27.100, libcurl 7.88.1"
}  // namespace nex
