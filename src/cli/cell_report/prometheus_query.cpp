#include "cli/cell_report/prometheus_query.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>

#include "core/http_client/http_client.hpp"
#include "core/json/json.hpp"

namespace ef::cell_report {

namespace {

constexpr std::size_t kMaxAnswerBytes = 16 * 1024 * 1024;

Error garbled(const std::string& what) {
  return make_error(Errc::malformed, "Prometheus answered something unexpected: " + what);
}

// Prometheus writes sample values as strings: decimals, "NaN", "+Inf", "-Inf".
Result<double> sample_value(const json::Json& pair) {
  if (!pair.is_array() || pair.size() != 2 || !pair[0].is_number() || !pair[1].is_string())
    return garbled("a sample value is not [time, \"number\"]");
  const auto& text = pair[1].get_ref<const std::string&>();
  if (text == "NaN") return std::nan("");
  if (text == "+Inf") return HUGE_VAL;
  if (text == "-Inf") return -HUGE_VAL;
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty())
    return garbled("sample value \"" + text.substr(0, 40) + "\" is not a number");
  return value;
}

Result<Sample> parse_sample(const json::Json& item) {
  if (!item.is_object()) return garbled("a result is not an object");
  auto metric = item.find("metric");
  auto value = item.find("value");
  if (metric == item.end() || !metric->is_object() || value == item.end())
    return garbled("a result lacks its metric or value");
  Sample sample;
  for (const auto& [name, label] : metric->items()) {
    if (!label.is_string()) return garbled("label " + name + " is not a string");
    sample.labels[name] = label.get<std::string>();
  }
  EF_TRY(sample.value, sample_value(*value));
  return sample;
}

Result<std::vector<Sample>> parse_vector(const json::Json& data) {
  if (!data.is_object()) return garbled("no data object");
  auto type = data.find("resultType");
  auto result = data.find("result");
  if (type == data.end() || !type->is_string() || result == data.end() || !result->is_array())
    return garbled("data lacks resultType or result");
  if (*type != "vector") return garbled("resultType " + type->get<std::string>() + ", not vector");
  std::vector<Sample> out;
  for (const auto& item : *result) {
    EF_TRY(auto sample, parse_sample(item));
    out.push_back(std::move(sample));
  }
  return out;
}

}  // namespace

Result<std::vector<Sample>> parse_query_answer(long http_status, std::string_view body) {
  auto doc = json::parse_strict(body, {.max_bytes = kMaxAnswerBytes, .allow_floats = true});
  if (!doc || !doc->is_object()) {
    return make_error(Errc::malformed,
                      "Prometheus answered HTTP " + std::to_string(http_status) +
                          " without a JSON object" +
                          (doc ? std::string() : " (" + doc.error().message + ")"));
  }
  auto status = doc->find("status");
  if (status == doc->end() || !status->is_string()) return garbled("no status");
  if (*status == "error") {
    const auto type = doc->value("errorType", std::string("?"));
    const auto error = doc->value("error", std::string("?"));
    return make_error(Errc::refused, "Prometheus refused the query (HTTP " +
                                         std::to_string(http_status) + ", " + type + "): " + error);
  }
  if (*status != "success" || http_status != 200)
    return garbled("status " + status->dump() + " with HTTP " + std::to_string(http_status));
  auto data = doc->find("data");
  if (data == doc->end()) return garbled("no data");
  return parse_vector(*data);
}

std::string promql_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

QueryFn prometheus_http(std::string base_url) {
  while (!base_url.empty() && base_url.back() == '/')
    base_url.pop_back();
  return [base_url, client = std::make_shared<http_client::HttpClient>()](
             const std::string& promql, std::int64_t time) -> Result<std::vector<Sample>> {
    const std::string url = base_url + "/api/v1/query?query=" + http_client::url_encode(promql) +
                            "&time=" + std::to_string(time);
    http_client::Options options;
    options.connect_timeout = std::chrono::seconds(10);
    options.total_timeout = std::chrono::seconds(120);
    options.max_body_bytes = kMaxAnswerBytes;
    auto response = client->get(url, options);
    if (!response) {
      return make_error(Errc::network,
                        "cannot reach Prometheus at " + base_url + ": " + response.error().message);
    }
    return parse_query_answer(response->status, response->body);
  };
}

}  // namespace ef::cell_report
