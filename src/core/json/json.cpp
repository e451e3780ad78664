#include "core/json/json.hpp"

#include <algorithm>
#include <set>
#include <vector>

namespace ef::json {

namespace {

struct DuplicateKey {
  std::string key;
};
struct TooDeep {};
struct FloatValue {};

}  // namespace

Result<Json> parse_strict(std::string_view text, const Limits& limits) {
  if (text.size() > limits.max_bytes) {
    return make_error(Errc::too_large, "JSON document of " + std::to_string(text.size()) +
                                           " bytes exceeds the limit of " +
                                           std::to_string(limits.max_bytes));
  }
  // The parser callback sees every key in document order: a stack of key sets, one per open
  // object, finds duplicates that nlohmann would otherwise resolve silently (last one wins).
  std::vector<std::set<std::string>> open_objects;
  auto callback = [&](int depth, Json::parse_event_t event, Json& parsed) -> bool {
    if (static_cast<std::size_t>(depth) > limits.max_depth) throw TooDeep{};
    switch (event) {
      case Json::parse_event_t::object_start:
        open_objects.emplace_back();
        break;
      case Json::parse_event_t::object_end:
        if (!open_objects.empty()) open_objects.pop_back();
        break;
      case Json::parse_event_t::key: {
        const auto& key = parsed.get_ref<const std::string&>();
        if (!open_objects.empty() && !open_objects.back().insert(key).second) {
          throw DuplicateKey{key};
        }
        break;
      }
      case Json::parse_event_t::value:
        if (parsed.is_number_float() && !limits.allow_floats) throw FloatValue{};
        break;
      default:
        break;
    }
    return true;
  };
  try {
    Json value = Json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/true,
                             /*ignore_comments=*/false);
    if (!value.is_object() && !value.is_array()) {
      return make_error(Errc::malformed, "JSON document is not an object or array");
    }
    return value;
  } catch (const DuplicateKey& d) {
    return make_error(Errc::malformed, "duplicate JSON key \"" + d.key.substr(0, 64) + "\"");
  } catch (const TooDeep&) {
    return make_error(Errc::malformed,
                      "JSON nested deeper than " + std::to_string(limits.max_depth) + " levels");
  } catch (const FloatValue&) {
    return make_error(Errc::malformed, "JSON contains a non-integer number");
  } catch (const Json::exception& e) {
    return make_error(Errc::malformed, std::string("invalid JSON: ") + e.what());
  }
}

namespace {

void encode_string(const std::string& s, std::string& out) {
  out.push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('"');
}

Status encode(const Json& v, std::string& out) {
  switch (v.type()) {
    case Json::value_t::null:
      out += "null";
      return {};
    case Json::value_t::boolean:
      out += v.get<bool>() ? "true" : "false";
      return {};
    case Json::value_t::number_integer:
      out += std::to_string(v.get<std::int64_t>());
      return {};
    case Json::value_t::number_unsigned:
      out += std::to_string(v.get<std::uint64_t>());
      return {};
    case Json::value_t::string:
      encode_string(v.get_ref<const std::string&>(), out);
      return {};
    case Json::value_t::array: {
      out.push_back('[');
      bool first = true;
      for (const auto& item : v) {
        if (!first) out.push_back(',');
        first = false;
        EF_CHECK(encode(item, out));
      }
      out.push_back(']');
      return {};
    }
    case Json::value_t::object: {
      // nlohmann keeps object keys in a std::map, so iteration is already byte-wise sorted.
      out.push_back('{');
      bool first = true;
      for (const auto& [key, item] : v.items()) {
        if (!first) out.push_back(',');
        first = false;
        encode_string(key, out);
        out.push_back(':');
        EF_CHECK(encode(item, out));
      }
      out.push_back('}');
      return {};
    }
    default:
      return make_error(Errc::malformed, "canonical JSON cannot encode floats or binary values");
  }
}

const char* type_name(const Json& v) {
  return v.type_name();
}

Result<const Json*> get_field(const Json& object, std::string_view key) {
  if (!object.is_object()) return make_error(Errc::malformed, "expected a JSON object");
  auto it = object.find(key);
  if (it == object.end()) {
    return make_error(Errc::malformed, "missing field \"" + std::string(key) + "\"");
  }
  return &*it;
}

Error wrong_type(std::string_view key, const char* want, const Json& got) {
  return make_error(Errc::malformed, "field \"" + std::string(key) + "\" must be " + want +
                                         ", not " + type_name(got));
}

}  // namespace

Result<std::string> canonical(const Json& value) {
  std::string out;
  EF_CHECK(encode(value, out));
  return out;
}

Result<std::string> get_string(const Json& object, std::string_view key) {
  EF_TRY(const Json* v, get_field(object, key));
  if (!v->is_string()) return wrong_type(key, "a string", *v);
  return v->get<std::string>();
}

Result<std::int64_t> get_int(const Json& object, std::string_view key) {
  EF_TRY(const Json* v, get_field(object, key));
  if (v->is_number_unsigned()) {
    if (v->get<std::uint64_t>() > static_cast<std::uint64_t>(INT64_MAX)) {
      return make_error(Errc::malformed, "field \"" + std::string(key) + "\" is too large");
    }
    return static_cast<std::int64_t>(v->get<std::uint64_t>());
  }
  if (!v->is_number_integer()) return wrong_type(key, "an integer", *v);
  return v->get<std::int64_t>();
}

Result<bool> get_bool(const Json& object, std::string_view key) {
  EF_TRY(const Json* v, get_field(object, key));
  if (!v->is_boolean()) return wrong_type(key, "true or false", *v);
  return v->get<bool>();
}

Result<const Json*> get_object(const Json& object, std::string_view key) {
  EF_TRY(const Json* v, get_field(object, key));
  if (!v->is_object()) return wrong_type(key, "an object", *v);
  return v;
}

Result<const Json*> get_array(const Json& object, std::string_view key) {
  EF_TRY(const Json* v, get_field(object, key));
  if (!v->is_array()) return wrong_type(key, "an array", *v);
  return v;
}

}  // namespace ef::json
