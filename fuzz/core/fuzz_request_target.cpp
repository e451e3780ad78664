// libFuzzer target for the HTTP server's request-target parser: any input must be refused or
// split cleanly, and what is accepted must hold the parser's promises (a path that starts with
// '/', no NUL, no '.' or '..' segment).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/http/request_target.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view target(reinterpret_cast<const char*>(data), size);
  ef::http::Request request;
  if (ef::http::parse_target(target, request)) return 0;  // refused, with a reason
  const std::string& path = request.path;
  if (path.empty() || path.front() != '/') __builtin_trap();
  if (path.find('\0') != std::string::npos) __builtin_trap();
  const std::string padded = path + "/";
  if (padded.find("/./") != std::string::npos || padded.find("/../") != std::string::npos) {
    __builtin_trap();
  }
  for (const auto& [key, value] : request.query) {
    if (key.find('\0') != std::string::npos || value.find('\0') != std::string::npos) {
      __builtin_trap();
    }
  }
  return 0;
}
