#include "core/http/message.hpp"

#include <boost/beast/core/string.hpp>

namespace ef::http {

namespace {
bool iequals(std::string_view a, std::string_view b) {
  return boost::beast::iequals(boost::beast::string_view(a.data(), a.size()),
                               boost::beast::string_view(b.data(), b.size()));
}
}  // namespace

std::string_view Request::header(std::string_view name) const {
  const auto it = headers.find(boost::beast::string_view(name.data(), name.size()));
  if (it == headers.end()) return {};
  const auto value = it->value();
  return {value.data(), value.size()};
}

std::optional<std::string_view> Request::query_param(std::string_view name) const {
  const auto it = query.find(name);
  if (it == query.end()) return std::nullopt;
  return std::string_view(it->second);
}

std::string_view Request::param(std::string_view name) const {
  const auto it = params.find(name);
  return it == params.end() ? std::string_view() : std::string_view(it->second);
}

Response& Response::set(std::string name, std::string value) {
  for (auto& [n, v] : headers) {
    if (iequals(n, name)) {
      v = std::move(value);
      return *this;
    }
  }
  headers.emplace_back(std::move(name), std::move(value));
  return *this;
}

std::string_view Response::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (iequals(n, name)) return v;
  }
  return {};
}

Response Response::text(unsigned status, std::string body, std::string content_type) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.set("Content-Type", std::move(content_type));
  return r;
}

Response Response::json(unsigned status, const json::Json& value) {
  // Replacing invalid UTF-8 keeps an error message that quotes hostile input printable.
  return text(status, value.dump(-1, ' ', false, json::Json::error_handler_t::replace) + "\n",
              "application/json");
}

Response Response::error(unsigned status, std::string_view code, std::string_view message) {
  return json(status, {{"error", {{"code", code}, {"message", message}}}});
}

Response Response::no_content() {
  Response r;
  r.status = 204;
  return r;
}

}  // namespace ef::http
