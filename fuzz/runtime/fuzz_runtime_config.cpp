// libFuzzer target for the runtime's configuration parser (config/runtime.json of a release, with
// the camera source settings inside it): any input is refused with a message or parsed, never a
// crash, leak, overflow or hang.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "runtime/config/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto config = ef::runtime::parse_runtime_config(input);
  if (!config && config.error().message.empty()) __builtin_trap();  // a refusal says why
  (void)ef::runtime::parse_listen_address(input);
  return 0;
}
