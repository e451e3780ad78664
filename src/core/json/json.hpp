// Strict JSON parsing and canonical JSON encoding for signed metadata.
//
// parse_strict refuses what a lenient parser would quietly accept and an attacker could exploit:
// duplicate object keys (two parsers could disagree on which value counts), floats (they have no
// canonical form), nesting deeper than a limit, input over a size limit and invalid UTF-8.
// canonical() is the OLPC canonical JSON that TUF signs (securesystemslib's encode_canonical):
// keys sorted by bytes, no whitespace, only '"' and '\' escaped, integers only.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "core/common/result.hpp"

namespace ef::json {

using Json = nlohmann::json;

struct Limits {
  std::size_t max_bytes = 8 * 1024 * 1024;
  std::size_t max_depth = 32;
  // Signed metadata refuses non-integers (no canonical form); configuration files need them.
  bool allow_floats = false;
};

// Parses a JSON document (an object or array at the top) or says precisely why not.
Result<Json> parse_strict(std::string_view text, const Limits& limits = {});

// Encodes a value as canonical JSON; fails on floats, which canonical JSON cannot represent.
Result<std::string> canonical(const Json& value);

// Typed field access with errors that name the field: get_string(obj, "version") etc.
Result<std::string> get_string(const Json& object, std::string_view key);
Result<std::int64_t> get_int(const Json& object, std::string_view key);
Result<bool> get_bool(const Json& object, std::string_view key);
Result<const Json*> get_object(const Json& object, std::string_view key);
Result<const Json*> get_array(const Json& object, std::string_view key);

}  // namespace ef::json
