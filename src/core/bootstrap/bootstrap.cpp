#include "core/bootstrap/bootstrap.hpp"

#include "core/common/fs.hpp"
#include "core/common/path.hpp"
#include "core/pki/pki.hpp"

namespace ef::bootstrap {

namespace fs = std::filesystem;

namespace {

Status check_server_url(std::string_view url) {
  auto bad = [&](const std::string& why) {
    return make_error(Errc::invalid_argument, "server_url \"" + printable(url) + "\" " + why);
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

Result<std::string> read_text(const fs::path& dir, const char* name, std::size_t max) {
  auto text = read_file(dir / name, max);
  if (!text) return std::move(text).error().context("bootstrap file " + std::string(name));
  return text;
}

}  // namespace

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
  auto url = json::get_string(*device, "server_url");
  if (!url) return std::move(url).error().context("bootstrap file device.json");
  b.server_url = *url;
  while (!b.server_url.empty() && b.server_url.back() == '/')
    b.server_url.pop_back();
  EF_CHECK(check_server_url(b.server_url));

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
