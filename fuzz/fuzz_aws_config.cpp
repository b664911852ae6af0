// Fuzz target: the AWS shared config and credentials files (aws_config.hpp)
// and the JSON a credential_process prints. First byte: 'j' the JSON reader,
// else the INI reader. Rejects with InputError only.
#include <chrono>
#include <cstdint>
#include <string>

#include "nex/aws_config.hpp"
#include "nex/error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    if (data[0] == 'j') {
      (void)nex::aws::parse_process_credentials(text, std::chrono::system_clock::from_time_t(1'800'000'000));
      (void)nex::aws::split_command(text);
    } else {
      nex::aws::IniFile ini = nex::aws::parse_aws_ini(text, "fuzz");
      for (const auto& [name, settings] : ini.sections)
        for (const auto& [k, v] : settings)
          if (k.empty() || name.empty()) __builtin_trap();  // the reader never yields empty names
    }
  } catch (const nex::InputError&) {
  }
  return 0;
}
