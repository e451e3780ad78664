#include "core/bootstrap/bootstrap.hpp"

#include <algorithm>

#include "core/common/fs.hpp"
#include "core/common/path.hpp"
#include "core/pki/pki.hpp"

namespace ef::bootstrap {

namespace fs = std::filesystem;

namespace {

// name: how the message calls the field ("server_url", "server_urls[2]").
Status check_server_url(std::string_view url, const std::string& name) {
  auto bad = [&](const std::string& why) {
    return make_error(Errc::invalid_argument, name + " \"" + printable(url) + "\" " + why);
  };
  if (!url.starts_with("https://"))
    return bad("must start with https:// (control traffic is always TLS)");
  const auto host = url.substr(8);
  if (host.empty() || host.size() > 253) return bad("has no host");
  for (char c : host) {
    const bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                    c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
    if (!ok) return bad("may hold only a host and port (no path, user or query)");
  }
  return {};
}

void strip_trailing_slashes(std::string& url) {
  while (!url.empty() && url.back() == '/')
    url.pop_back();
}

// Host names are case-insensitive: https://A:8443 and https://a:8443 are one server.
std::string lowercase(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return s;
}

Error too_many(std::size_t count) {
  return make_error(Errc::invalid_argument, "server_urls lists " + std::to_string(count) +
                                                " servers, at most " +
                                                std::to_string(kMaxServerUrls) + " are allowed");
}

Status check_list(std::vector<std::string>& urls, bool check_urls) {
  if (urls.empty())
    return make_error(Errc::invalid_argument, "server_urls is empty: list at least one server");
  if (urls.size() > kMaxServerUrls) return too_many(urls.size());
  for (std::size_t i = 0; i < urls.size(); ++i) {
    const std::string name = "server_urls[" + std::to_string(i) + "]";
    strip_trailing_slashes(urls[i]);
    if (check_urls) EF_CHECK(check_server_url(urls[i], name));
    if (urls[i].empty()) return make_error(Errc::invalid_argument, name + " is empty");
    for (std::size_t j = 0; j < i; ++j) {
      if (lowercase(urls[j]) == lowercase(urls[i])) {
        return make_error(Errc::invalid_argument,
                          "server_urls lists \"" + printable(urls[i]) + "\" twice");
      }
    }
  }
  return {};
}

// The one-field form: "server_url" alone, or beside "server_urls" (then one of them).
Result<std::string> read_single(const json::Json& object, bool check_urls) {
  EF_TRY(std::string url, json::get_string(object, "server_url"));
  strip_trailing_slashes(url);
  if (check_urls) EF_CHECK(check_server_url(url, "server_url"));
  if (url.empty()) return make_error(Errc::invalid_argument, "server_url is empty");
  return url;
}

Result<std::string> read_text(const fs::path& dir, const char* name, std::size_t max) {
  auto text = read_file(dir / name, max);
  if (!text) return std::move(text).error().context("bootstrap file " + std::string(name));
  return text;
}

}  // namespace

Status check_server_urls(std::vector<std::string>& urls) {
  return check_list(urls, true);
}

Result<std::vector<std::string>> read_server_urls(const json::Json& object, bool check_urls) {
  if (!object.is_object()) return make_error(Errc::malformed, "not a JSON object");
  const bool has_list = object.contains("server_urls");
  if (!has_list) {
    EF_TRY(std::string url, read_single(object, check_urls));
    return std::vector<std::string>{url};
  }
  EF_TRY(const json::Json* list, json::get_array(object, "server_urls"));
  if (list->size() > kMaxServerUrls) return too_many(list->size());
  std::vector<std::string> urls;
  for (const auto& entry : *list) {
    if (!entry.is_string()) {
      return make_error(Errc::malformed, "server_urls holds a " + std::string(entry.type_name()) +
                                             ", not only strings");
    }
    urls.push_back(entry.get<std::string>());
  }
  EF_CHECK(check_list(urls, check_urls));
  if (object.contains("server_url")) {
    EF_TRY(std::string single, read_single(object, check_urls));
    const bool listed = std::any_of(urls.begin(), urls.end(), [&](const std::string& u) {
      return lowercase(u) == lowercase(single);
    });
    if (!listed) {
      return make_error(Errc::invalid_argument,
                        "server_url \"" + printable(single) +
                            "\" is not one of server_urls (older agents would use it)");
    }
  }
  return urls;
}

void write_server_urls(json::Json& object, const std::vector<std::string>& urls) {
  object["server_urls"] = urls;
  if (!urls.empty()) object["server_url"] = urls.front();
}

Result<Bootstrap> load(const fs::path& dir, bool require_token) {
  if (!fs::is_directory(dir))
    return make_error(Errc::not_found, "bootstrap folder " + dir.string() + " does not exist");
  Bootstrap b;
  EF_TRY(std::string device_text, read_text(dir, "device.json", 64 * 1024));
  auto device = json::parse_strict(device_text);
  if (!device) return std::move(device).error().context("bootstrap file device.json");
  auto id = json::get_string(*device, "device_id");
  if (!id) return std::move(id).error().context("bootstrap file device.json");
  b.device_id = *id;
  if (auto st = pki::check_device_id(b.device_id); !st)
    return std::move(st).error().context("bootstrap file device.json");
  auto urls = read_server_urls(*device);
  if (!urls) return std::move(urls).error().context("bootstrap file device.json");
  b.server_urls = std::move(*urls);

  EF_TRY(b.server_ca_pem, read_text(dir, "server-ca.pem", 256 * 1024));
  if (b.server_ca_pem.find("-----BEGIN CERTIFICATE-----") == std::string::npos ||
      b.server_ca_pem.find("-----END CERTIFICATE-----") == std::string::npos) {
    return make_error(Errc::malformed,
                      "bootstrap file server-ca.pem is not a complete PEM certificate");
  }

  auto token = read_file(dir / "enrollment-token", 4096);
  if (token) {
    std::string t = *token;
    while (!t.empty() && (t.back() == '\n' || t.back() == '\r' || t.back() == ' '))
      t.pop_back();
    for (char c : t) {
      if (c < 0x21 || c > 0x7e)
        return make_error(Errc::malformed,
                          "bootstrap file enrollment-token holds non-printable bytes");
    }
    b.enrollment_token = t;
  } else if (token.error().code != Errc::not_found) {
    return std::move(token).error().context("bootstrap file enrollment-token");
  }
  if (require_token && b.enrollment_token.empty()) {
    return make_error(Errc::not_found,
                      "bootstrap folder " + dir.string() +
                          " has no enrollment-token, and this device is not enrolled yet");
  }

  if (fs::exists(dir / "network.json")) {
    EF_TRY(std::string net_text, read_text(dir, "network.json", 64 * 1024));
    auto net = json::parse_strict(net_text);
    if (!net || !net->is_object()) {
      return make_error(Errc::malformed, "bootstrap file network.json is not a JSON object");
    }
    b.network = std::move(*net);
  }
  return b;
}

}  // namespace ef::bootstrap
