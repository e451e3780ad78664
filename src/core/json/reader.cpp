#include "core/json/reader.hpp"

#include <cmath>

namespace ef::json {

namespace {
std::string number_text(double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) return std::to_string(static_cast<long long>(v));
  std::string s = std::to_string(v);
  while (s.size() > 1 && s.back() == '0')
    s.pop_back();
  return s;
}
}  // namespace

ObjectReader::ObjectReader(const Json& object, std::string where)
    : object_(object), where_(std::move(where)) {}

std::string ObjectReader::path(std::string_view key) const {
  return where_.empty() ? std::string(key) : where_ + "." + std::string(key);
}

Error ObjectReader::bad(std::string_view key, const std::string& what) const {
  return make_error(Errc::malformed, path(key) + ": " + what);
}

Status ObjectReader::valid() const {
  if (!object_.is_object()) {
    return make_error(Errc::malformed, (where_.empty() ? std::string("document") : where_) +
                                           " must be a JSON object, not " + object_.type_name());
  }
  return {};
}

bool ObjectReader::has(std::string_view key) const {
  return object_.is_object() && object_.find(key) != object_.end();
}

bool ObjectReader::mark_if_absent(std::string_view key) {
  read_.insert(std::string(key));
  return !has(key);
}

Result<const Json*> ObjectReader::field(std::string_view key) {
  EF_CHECK(valid());
  read_.insert(std::string(key));
  auto it = object_.find(key);
  if (it == object_.end()) return static_cast<const Json*>(nullptr);
  return &*it;
}

Result<std::string> ObjectReader::string(std::string_view key) {
  EF_TRY(const Json* v, field(key));
  if (!v) return bad(key, "missing (a string is required)");
  if (!v->is_string()) return bad(key, std::string("must be a string, not ") + v->type_name());
  return v->get<std::string>();
}

Status ObjectReader::optional(std::string_view key, std::string& out) {
  EF_CHECK(valid());
  if (mark_if_absent(key)) return {};
  EF_TRY(out, string(key));
  return {};
}

Status ObjectReader::optional(std::string_view key, bool& out) {
  EF_TRY(const Json* v, field(key));
  if (!v) return {};
  if (!v->is_boolean())
    return bad(key, std::string("must be true or false, not ") + v->type_name());
  out = v->get<bool>();
  return {};
}

Result<double> ObjectReader::number(std::string_view key, double min, double max) {
  EF_TRY(const Json* v, field(key));
  if (!v) return bad(key, "missing (a number is required)");
  if (!v->is_number()) return bad(key, std::string("must be a number, not ") + v->type_name());
  const double d = v->get<double>();
  if (!std::isfinite(d) || d < min || d > max) {
    return bad(key, "must be between " + number_text(min) + " and " + number_text(max) + ", not " +
                        v->dump());
  }
  return d;
}

Status ObjectReader::optional(std::string_view key, double& out, double min, double max) {
  EF_CHECK(valid());
  if (mark_if_absent(key)) return {};
  EF_TRY(out, number(key, min, max));
  return {};
}

Result<std::int64_t> ObjectReader::integer(std::string_view key, std::int64_t min,
                                           std::int64_t max) {
  EF_TRY(const Json* v, field(key));
  if (!v) return bad(key, "missing (an integer is required)");
  if (!v->is_number_integer()) {
    return bad(key, std::string("must be an integer, not ") +
                        (v->is_number() ? "a fraction" : v->type_name()));
  }
  if (v->is_number_unsigned() && v->get<std::uint64_t>() > static_cast<std::uint64_t>(max)) {
    return bad(key, "must be at most " + std::to_string(max) + ", not " + v->dump());
  }
  const std::int64_t i = v->get<std::int64_t>();
  if (i < min || i > max) {
    return bad(key, "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                        ", not " + v->dump());
  }
  return i;
}

Status ObjectReader::optional(std::string_view key, std::int64_t& out, std::int64_t min,
                              std::int64_t max) {
  EF_CHECK(valid());
  if (mark_if_absent(key)) return {};
  EF_TRY(out, integer(key, min, max));
  return {};
}

Status ObjectReader::optional(std::string_view key, int& out, int min, int max) {
  std::int64_t wide = out;
  EF_CHECK(optional(key, wide, min, max));
  out = static_cast<int>(wide);
  return {};
}

Status ObjectReader::optional(std::string_view key, std::uint64_t& out) {
  EF_TRY(const Json* v, field(key));
  if (!v) return {};
  if (!v->is_number_unsigned()) {
    return bad(key, std::string("must be a non-negative integer, not ") +
                        (v->is_number() ? v->dump() : v->type_name()));
  }
  out = v->get<std::uint64_t>();
  return {};
}

Result<const Json*> ObjectReader::optional_object(std::string_view key) {
  EF_TRY(const Json* v, field(key));
  if (v && !v->is_object())
    return bad(key, std::string("must be an object, not ") + v->type_name());
  return v;
}

Result<const Json*> ObjectReader::optional_array(std::string_view key) {
  EF_TRY(const Json* v, field(key));
  if (v && !v->is_array()) return bad(key, std::string("must be an array, not ") + v->type_name());
  return v;
}

Status ObjectReader::finish() const {
  EF_CHECK(valid());
  for (const auto& [key, value] : object_.items()) {
    if (!read_.contains(key)) {
      std::string known;
      for (const auto& k : read_)
        known += (known.empty() ? "" : ", ") + k;
      return make_error(Errc::malformed, "unknown key \"" + path(key.substr(0, 64)) +
                                             "\" (known keys here: " + known + ")");
    }
  }
  return {};
}

}  // namespace ef::json
