#include "server/audit/audit.hpp"

#include <charconv>

#include "core/http/json_body.hpp"

namespace ef::audit {

Status AuditLog::record(std::string_view actor, std::string_view action, std::string_view target,
                        std::string_view source, json::Json details) {
  store::AuditEntry entry;
  entry.at = utc_now();
  entry.actor = actor;
  entry.action = action;
  entry.target = target;
  entry.source = source;
  entry.details = std::move(details);
  return store_.append_audit(entry);
}

json::Json entry_json(const store::AuditEntry& e) {
  return {{"seq", e.seq},        {"at", format_utc(e.at)}, {"actor", e.actor},
          {"action", e.action},  {"target", e.target},     {"source", e.source},
          {"details", e.details}};
}

namespace {

// A non-negative integer query parameter, or an error message.
std::optional<std::int64_t> int_param(const http::Request& r, std::string_view name,
                                      std::int64_t fallback, std::string* problem) {
  const auto value = r.query_param(name);
  if (!value) return fallback;
  std::int64_t out = 0;
  const auto [end, ec] = std::from_chars(value->data(), value->data() + value->size(), out);
  if (ec != std::errc() || end != value->data() + value->size() || out < 0) {
    *problem = "query parameter " + std::string(name) + " must be a non-negative integer";
    return std::nullopt;
  }
  return out;
}

}  // namespace

void add_routes(http::Router& router, store::Store& store, http::Guard read_guard) {
  http::RouteOptions options;
  options.name = "audit.list";
  options.guard = std::move(read_guard);
  router.add_sync(
      http::Verb::get, "/api/v1/audit",
      [&store](http::Request& r) {
        std::string problem;
        const auto after = int_param(r, "after", 0, &problem);
        const auto limit = int_param(r, "limit", 100, &problem);
        if (!after || !limit) return http::Response::error(400, "bad_query", problem);
        auto entries = store.audit(
            *after, static_cast<std::size_t>(std::clamp<std::int64_t>(*limit, 1, 1000)));
        if (!entries) return http::error_response(entries.error());
        json::Json list = json::Json::array();
        std::int64_t next = *after;
        for (const auto& e : *entries) {
          list.push_back(entry_json(e));
          next = e.seq;
        }
        return http::Response::json(200, {{"entries", list}, {"next", next}});
      },
      options);
}

}  // namespace ef::audit
