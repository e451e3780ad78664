// Instant queries against Prometheus' HTTP API (GET /api/v1/query?query=...&time=...), for the
// CLI's reports. The answer is read strictly: a vector of samples whose values are decimal
// strings; anything else (an error status, garbled JSON, a matrix, a missing field, a value that
// is not a number) is an error naming what was wrong, never a silently empty report.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/result.hpp"

namespace ef::cell_report {

struct Sample {
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Runs one instant query at Unix time `time`.
using QueryFn =
    std::function<Result<std::vector<Sample>>(const std::string& promql, std::int64_t time)>;

// Reads an /api/v1/query answer (its HTTP status and body). Errors: Errc::refused when Prometheus
// answered {"status": "error"} (its errorType and error quoted), Errc::malformed otherwise.
Result<std::vector<Sample>> parse_query_answer(long http_status, std::string_view body);

// A QueryFn for the Prometheus at base_url ("http://host:9090", a path prefix allowed).
// Errc::network when it cannot be reached (the message names the URL).
QueryFn prometheus_http(std::string base_url);

// "abc" -> "\"abc\"" with \ and " escaped, for a PromQL string literal.
std::string promql_string(std::string_view text);

}  // namespace ef::cell_report
