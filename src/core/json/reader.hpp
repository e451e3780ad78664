// Strict reading of configuration objects: typed fields with ranges, errors that name the full
// path of the field ("camera.synthetic.defect_rate: ..."), and a final check that refuses keys
// nobody read (a misspelt "fsp" must not silently fall back to a default).
//
// Use with parse_strict(text, {.allow_floats = true}) for human-written files with numbers.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "core/json/json.hpp"

namespace ef::json {

class ObjectReader {
 public:
  // where: the path of this object in messages ("" for the document itself).
  ObjectReader(const Json& object, std::string where);

  // Whether the object is an object at all; every other call fails when it is not.
  Status valid() const;
  bool has(std::string_view key) const;

  // Required fields.
  Result<std::string> string(std::string_view key);
  // Optional fields: out keeps its value when the key is absent.
  Status optional(std::string_view key, std::string& out);
  Status optional(std::string_view key, bool& out);
  Status optional(std::string_view key, double& out, double min, double max);
  Status optional(std::string_view key, std::int64_t& out, std::int64_t min, std::int64_t max);
  Status optional(std::string_view key, int& out, int min, int max);
  Status optional(std::string_view key, std::uint64_t& out);
  // Required numbers.
  Result<double> number(std::string_view key, double min, double max);
  Result<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max);
  // A nested object or array, or nullptr when absent.
  Result<const Json*> optional_object(std::string_view key);
  Result<const Json*> optional_array(std::string_view key);

  // The path of a child for nested readers: path("synthetic") == "camera.synthetic".
  std::string path(std::string_view key) const;
  // Fails when the object has keys that were never asked for.
  Status finish() const;

 private:
  Result<const Json*> field(std::string_view key);
  bool mark_if_absent(std::string_view key);
  Error bad(std::string_view key, const std::string& what) const;
  const Json& object_;
  std::string where_;
  std::set<std::string, std::less<>> read_;
};

}  // namespace ef::json
