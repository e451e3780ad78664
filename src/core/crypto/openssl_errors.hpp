// OpenSSL reports failures on a per-thread error queue; this turns it into one line for an
// Error message, for every library that calls OpenSSL (crypto, pki, http's TLS).
#pragma once

#include <string>
#include <string_view>

namespace ef::crypto {

// Drains this thread's OpenSSL error queue into "first; second; ..."; `if_none` when it is empty.
std::string openssl_errors(std::string_view if_none = "unknown OpenSSL error");

}  // namespace ef::crypto
