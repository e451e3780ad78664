#include "server/control_plane/serve.hpp"

#include <sys/resource.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <charconv>
#include <csignal>
#include <iostream>
#include <thread>

#include "core/common/fs.hpp"
#include "server/store/open/open_store.hpp"

namespace ef::control_plane {

namespace {

// "host:port" -> (host, port); "[::1]:443" for IPv6.
Status split_address(std::string_view flag, const std::string& text, std::string* host,
                     std::uint16_t* port) {
  const auto bad =
      make_error(Errc::invalid_argument, std::string(flag) + " wants HOST:PORT, not " + text);
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) return bad;
  *host = text.substr(0, colon);
  if (host->size() > 2 && host->front() == '[' && host->back() == ']')
    *host = host->substr(1, host->size() - 2);
  const char* first = text.data() + colon + 1;
  const char* last = text.data() + text.size();
  const auto [end, ec] = std::from_chars(first, last, *port);
  if (ec != std::errc() || end != last || first == last || host->empty()) return bad;
  return {};
}

// Each device holds a connection open: use every descriptor the system allows.
void raise_file_limit() {
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

void announce(const ControlPlane& control, const Config& config) {
  if (const auto& token = control.initial_admin_token()) {
    std::cout << "edgefleet-server: initial admin token (shown once; only its hash is stored): "
              << *token << std::endl;
  }
  std::cout << "edgefleet-server: listening on https://" << config.listen_host << ":"
            << control.port() << " (" << config.threads
            << (config.threads == 1 ? " thread" : " threads") << ")";
  if (control.metrics_port())
    std::cout << ", metrics on http://" << *config.metrics_host << ":" << *control.metrics_port();
  std::cout << std::endl;
  std::cout << "edgefleet-server: store: "
            << (config.database.empty() ? "SQLite " + (config.data_dir / "fleet.db").string()
                                        : "PostgreSQL " + store::redacted_database(config.database))
            << std::endl;
}

Result<shifts::Schedules> load_shifts(const std::filesystem::path& file) {
  auto text = read_file(file, shifts::kMaxFileBytes + 1);
  if (!text) return make_error(Errc::invalid_argument, "--shifts: " + text.error().message);
  auto schedules = shifts::Schedules::parse(*text);
  if (!schedules) {
    return make_error(Errc::invalid_argument,
                      "--shifts " + file.string() + ": " + schedules.error().message);
  }
  return std::move(*schedules);
}

}  // namespace

Result<Config> config_from(const ServeOptions& options) {
  if (options.data_dir.empty()) return make_error(Errc::invalid_argument, "--data DIR is required");
  Config config;
  config.data_dir = options.data_dir;
  EF_CHECK(store::check_database(options.database));
  config.database = options.database;
  EF_CHECK(split_address("--listen", options.listen, &config.listen_host, &config.listen_port));
  if (!options.metrics_listen.empty()) {
    std::string host;
    EF_CHECK(
        split_address("--metrics-listen", options.metrics_listen, &host, &config.metrics_port));
    config.metrics_host = host;
  }
  if (!options.server_names.empty()) config.server_dns_names = options.server_names;
  if (!options.server_ips.empty()) config.server_ip_addresses = options.server_ips;
  if (!options.tls_certificate.empty()) config.tls_certificate = options.tls_certificate;
  if (!options.tls_private_key.empty()) config.tls_private_key = options.tls_private_key;
  config.public_url = options.public_url;
  config.enrollment.certificate_validity = std::chrono::hours(24 * options.device_certificate_days);
  config.checkin.max_wait = options.max_wait;
  config.limits.max_connections = options.max_connections;
  config.limits.max_connections_per_source = options.max_connections_per_source;
  config.threads =
      options.threads != 0 ? options.threads : std::max(1U, std::thread::hardware_concurrency());
  config.prometheus_remote_write_url = options.prometheus_url;
  config.prometheus_out_of_order_window = options.prometheus_out_of_order_window;
  if (!options.shifts_file.empty()) {
    EF_TRY(config.shifts, load_shifts(options.shifts_file));
  }
  config.registry.online.checkin = 2 * options.max_wait + std::chrono::seconds(30);
  config.registry.online.telemetry = options.telemetry_online_window;
  config.limits.idle_timeout =
      std::max(config.limits.idle_timeout,
               std::chrono::milliseconds(options.max_wait + std::chrono::seconds(30)));
  return config;
}

Status serve(const ServeOptions& options) {
  EF_TRY(auto config, config_from(options));
  raise_file_limit();
  boost::asio::io_context context(1);
  EF_TRY(auto control, ControlPlane::start(context, config));
  announce(*control, config);
  if (!options.port_file.empty()) {
    EF_CHECK(write_file_atomic(options.port_file, std::to_string(control->port()) + "\n"));
  }
  boost::asio::signal_set signals(context, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    std::cout << "edgefleet-server: stopping" << std::endl;
    control->stop();
  });
  std::signal(SIGPIPE, SIG_IGN);
  context.run();  // returns once every connection has ended after stop()
  return {};
}

}  // namespace ef::control_plane
