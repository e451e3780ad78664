// Checks for names that come from untrusted metadata and end up as file paths or URL parts.
#pragma once

#include <string>
#include <string_view>

#include "core/common/result.hpp"

namespace ef {

// A relative path made of '/'-separated components, each non-empty, not "." or "..", without NUL,
// backslash, control characters, '%', '?' or '#'; not absolute; at most 4096 bytes and 32 levels.
// Returns an unsafe_path error that quotes the name (escaped) and says which rule it broke.
Status check_relative_path(std::string_view path);

// A single name: one component of check_relative_path, so also no '/'.
Status check_plain_name(std::string_view name);

// Prints untrusted text for a message: printable ASCII kept, anything else as \xNN, cut at
// max_chars (names are short; reasons from other programs may be longer).
std::string printable(std::string_view text, std::size_t max_chars = 80);

}  // namespace ef
