#include "core/crypto/openssl_errors.hpp"

#include <openssl/err.h>

namespace ef::crypto {

std::string openssl_errors(std::string_view if_none) {
  std::string out;
  while (const unsigned long code = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(code, text, sizeof text);
    if (!out.empty()) out += "; ";
    out += text;
  }
  return out.empty() ? std::string(if_none) : out;
}

}  // namespace ef::crypto
