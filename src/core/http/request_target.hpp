// The request target of an HTTP request ("/api/v1/devices/cam%2D01?state=online"), split into
// a percent-decoded path and query parameters before the router sees it.
//
// Refused (the message says why): a target not starting with '/', malformed percent-escapes,
// NUL anywhere, an encoded '/' in the path (a name could smuggle a separator past the router)
// and '.' or '..' path segments. '+' means space in the query only.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/http/message.hpp"

namespace ef::http {

// Fills request.path and request.query from target. Returns why it is refused, or nothing.
std::optional<std::string> parse_target(std::string_view target, Request& request);

}  // namespace ef::http
