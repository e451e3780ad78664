// Lower-case hexadecimal encoding, as TUF uses for hashes, key ids and signatures.
#pragma once

#include <string>
#include <string_view>

#include "core/common/result.hpp"

namespace ef {

std::string to_hex(std::string_view bytes);

// Decodes hex (either case); refuses odd lengths and non-hex characters.
Result<std::string> from_hex(std::string_view hex);

// True when s is non-empty lower-case hex of exactly `length` characters (0: any even length).
bool is_lower_hex(std::string_view s, std::size_t length = 0);

}  // namespace ef
