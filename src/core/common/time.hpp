// UTC times in the one format TUF metadata uses: "YYYY-MM-DDTHH:MM:SSZ".
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "core/common/result.hpp"

namespace ef {

using UtcTime = std::chrono::sys_seconds;

// Parses exactly "YYYY-MM-DDTHH:MM:SSZ" (no fractions, no offsets), refusing impossible dates.
Result<UtcTime> parse_utc(std::string_view text);

std::string format_utc(UtcTime t);

UtcTime utc_now();

}  // namespace ef
