#include "server/inventory/inventory.hpp"

#include <cstdio>

#include "core/http/json_body.hpp"

namespace ef::inventory {

const std::vector<std::string>& columns() {
  static const std::vector<std::string> names = {"id",
                                                 "make",
                                                 "model",
                                                 "serial",
                                                 "site",
                                                 "cell",
                                                 "location",
                                                 "release",
                                                 "trial_release",
                                                 "assigned_release",
                                                 "model_version",
                                                 "agent_version",
                                                 "update_phase",
                                                 "update_progress",
                                                 "last_failure_reason",
                                                 "cpu",
                                                 "memory_bytes",
                                                 "disk_bytes",
                                                 "last_seen",
                                                 "status",
                                                 "enrollment",
                                                 "labels",
                                                 "frames_per_second",
                                                 "latency_p99_ms",
                                                 "frames_processed",
                                                 "frames_dropped",
                                                 "runtime_restarts",
                                                 "runtime_uptime_seconds",
                                                 "last_update_release",
                                                 "last_update_kind",
                                                 "last_update_outcome",
                                                 "last_update_downloaded_bytes",
                                                 "last_update_duration_ms"};
  return names;
}

namespace {

std::string text(const json::Json& object, const char* key) {
  if (!object.is_object() || !object.contains(key)) return "";
  const auto& v = object[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<std::int64_t>());
  return "";
}

// A reported number with at most `decimals` decimals ("" when absent).
std::string number(const json::Json& object, const char* key, int decimals, double scale = 1) {
  if (!object.is_object() || !object.contains(key) || !object[key].is_number()) return "";
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, object[key].get<double>() * scale);
  return buffer;
}

json::Json member(const json::Json& report, const char* key) {
  return report.is_object() && report.contains(key) ? report[key] : json::Json();
}

std::string csv_field(std::string value) {
  if (!value.empty() && (value[0] == '=' || value[0] == '+' || value[0] == '-' || value[0] == '@' ||
                         value[0] == '\t' || value[0] == '\r')) {
    value.insert(0, "'");
  }
  if (value.find_first_of(",\"\r\n") == std::string::npos) return value;
  std::string out = "\"";
  for (char c : value) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

}  // namespace

Result<std::vector<std::vector<std::string>>> rows(store::Store& store,
                                                   const device_registry::Presence& presence,
                                                   const device_registry::Settings& settings,
                                                   const store::DeviceFilter& filter) {
  EF_TRY(auto devices, store.devices(filter));
  std::vector<std::vector<std::string>> out;
  const auto now = utc_now();
  for (const auto& d : devices) {
    EF_TRY(auto pin, store.assignment(d.id));
    const auto& report = d.report;
    const json::Json hardware = member(report, "hardware");
    const json::Json update = member(report, "update");
    const json::Json runtime = member(report, "runtime");
    const json::Json last_update = member(report, "last_update");
    const auto last_seen = presence.last_seen(d);
    std::string labels;
    for (const auto& [k, v] : d.labels.items()) {
      labels += (labels.empty() ? "" : ";") + k + "=" + (v.is_string() ? v.get<std::string>() : "");
    }
    out.push_back({d.id,
                   text(hardware, "make"),
                   text(hardware, "model"),
                   text(hardware, "serial"),
                   d.site,
                   d.cell,
                   d.location,
                   text(report, "installed_release"),
                   text(report, "trial_release"),
                   pin ? pin->release : "",
                   text(report, "model_version"),
                   text(report, "agent_version"),
                   text(update, "phase"),
                   text(update, "progress"),
                   text(report, "last_failure_reason"),
                   text(hardware, "cpu"),
                   text(hardware, "memory_bytes"),
                   text(hardware, "disk_bytes"),
                   last_seen ? format_utc(*last_seen) : "",
                   device_registry::connectivity(d, presence, now, settings.online),
                   std::string(store::status_name(d.status)),
                   labels,
                   number(runtime, "frames_per_second", 1),
                   number(runtime, "latency_p99_seconds", 2, 1000),
                   number(runtime, "frames_processed", 0),
                   number(runtime, "frames_dropped", 0),
                   text(runtime, "restarts"),
                   number(runtime, "uptime_seconds", 0),
                   text(last_update, "release"),
                   text(last_update, "kind"),
                   text(last_update, "outcome"),
                   text(last_update, "downloaded_bytes"),
                   text(last_update, "duration_ms")});
  }
  return out;
}

std::string to_csv(const std::vector<std::vector<std::string>>& rows) {
  std::string out;
  for (std::size_t i = 0; i < columns().size(); ++i)
    out += (i ? "," : "") + columns()[i];
  out += "\r\n";
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i)
      out += (i ? "," : "") + csv_field(row[i]);
    out += "\r\n";
  }
  return out;
}

void add_routes(http::Router& router, store::Store& store,
                const device_registry::Presence& presence, device_registry::Settings settings,
                http::Guard read_guard) {
  http::RouteOptions options;
  options.name = "inventory.export";
  options.guard = std::move(read_guard);
  router.add_sync(
      http::Verb::get, "/api/v1/inventory",
      [&store, &presence, settings](http::Request& r) {
        store::DeviceFilter filter;
        if (auto v = r.query_param("site")) filter.site = std::string(*v);
        if (auto v = r.query_param("cell")) filter.cell = std::string(*v);
        const std::string format(r.query_param("format").value_or("json"));
        if (format != "json" && format != "csv") {
          return http::Response::error(400, "bad_query", "format must be json or csv");
        }
        auto table = rows(store, presence, settings, filter);
        if (!table) return http::error_response(table.error());
        if (format == "csv") {
          auto response = http::Response::text(200, to_csv(*table), "text/csv; charset=utf-8");
          response.set("Content-Disposition", "attachment; filename=\"inventory.csv\"");
          return response;
        }
        json::Json list = json::Json::array();
        for (const auto& row : *table) {
          json::Json item = json::Json::object();
          for (std::size_t i = 0; i < row.size(); ++i)
            item[columns()[i]] = row[i];
          list.push_back(std::move(item));
        }
        return http::Response::json(200, {{"columns", columns()}, {"devices", list}});
      },
      options);
}

}  // namespace ef::inventory
