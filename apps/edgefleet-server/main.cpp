// edgefleet-server: the control plane. One process, one data folder, nothing else to install.
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <iostream>

#include "core/common/fs.hpp"
#include "server/control_plane/control_plane.hpp"

namespace {

// "host:port" -> (host, port); "[::1]:443" for IPv6.
bool split_address(const std::string& text, std::string* host, std::uint16_t* port) {
  const auto colon = text.rfind(':');
  if (colon == std::string::npos) return false;
  *host = text.substr(0, colon);
  if (host->size() > 2 && host->front() == '[' && host->back() == ']')
    *host = host->substr(1, host->size() - 2);
  try {
    const long value = std::stol(text.substr(colon + 1));
    if (value < 0 || value > 65535) return false;
    *port = static_cast<std::uint16_t>(value);
  } catch (...) {
    return false;
  }
  return !host->empty();
}

// Each device holds a connection open: use every descriptor the system allows.
void raise_file_limit() {
  struct rlimit limit {};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "edgefleet-server: the edgefleet control plane (enrollment, check-in, releases, inventory)",
      "edgefleet-server"};
  ef::control_plane::Config config;
  std::string data_dir, listen = "0.0.0.0:8443", metrics_listen, port_file, tls_cert, tls_key;
  long cert_days = 14, max_wait = 60;
  std::vector<std::string> names, ips;
  app.add_option("--data", data_dir, "data folder (created on first start)");
  app.require_subcommand(0, 1);
  auto* init = app.add_subcommand(
      "init-repository",
      "one-time local step: give the release repository its trusted root and the online "
      "snapshot/timestamp keys from a keys folder (root and targets keys are not copied)");
  std::string init_data, init_keys;
  init->add_option("--data", init_data, "the server's data folder")->required();
  init->add_option("--keys", init_keys, "the folder `edgefleet keys init` created")->required();
  app.add_option("--listen", listen, "HTTPS address for devices and operators")
      ->capture_default_str();
  app.add_option("--metrics-listen", metrics_listen,
                 "plain-HTTP address for /healthz and /metrics only");
  app.add_option("--server-name", names,
                 "DNS name in the generated server certificate (repeatable)");
  app.add_option("--server-ip", ips, "IP address in the generated server certificate (repeatable)");
  app.add_option("--tls-cert", tls_cert,
                 "use this PEM certificate chain instead of the generated one");
  app.add_option("--tls-key", tls_key, "the private key for --tls-cert");
  app.add_option("--public-url", config.public_url,
                 "how devices reach this server (default https://NAME:PORT)");
  app.add_option("--device-cert-days", cert_days, "validity of device certificates")
      ->capture_default_str()
      ->check(CLI::Range(1, 365));
  app.add_option("--max-wait", max_wait, "longest check-in long-poll, seconds")
      ->capture_default_str()
      ->check(CLI::Range(1, 600));
  app.add_option("--port-file", port_file, "write the bound HTTPS port here (for --listen HOST:0)");
  CLI11_PARSE(app, argc, argv);
  if (init->parsed()) {
    if (auto done = ef::control_plane::init_repository_folder(init_data, init_keys); !done) {
      std::cerr << "edgefleet-server: init-repository: " << done.error().message << "\n";
      return 1;
    }
    std::cout << "edgefleet-server: repository ready in " << init_data
              << "/repository; online keys in " << init_data << "/repository-keys" << std::endl;
    return 0;
  }
  if (data_dir.empty()) {
    std::cerr << "edgefleet-server: --data DIR is required\n";
    return 2;
  }

  config.data_dir = data_dir;
  if (!split_address(listen, &config.listen_host, &config.listen_port)) {
    std::cerr << "edgefleet-server: --listen wants HOST:PORT, not " << listen << "\n";
    return 2;
  }
  if (!metrics_listen.empty()) {
    std::string host;
    if (!split_address(metrics_listen, &host, &config.metrics_port)) {
      std::cerr << "edgefleet-server: --metrics-listen wants HOST:PORT, not " << metrics_listen
                << "\n";
      return 2;
    }
    config.metrics_host = host;
  }
  if (!names.empty()) config.server_dns_names = names;
  if (!ips.empty()) config.server_ip_addresses = ips;
  if (!tls_cert.empty()) config.tls_certificate = tls_cert;
  if (!tls_key.empty()) config.tls_private_key = tls_key;
  config.enrollment.certificate_validity = std::chrono::hours(24 * cert_days);
  config.checkin.max_wait = std::chrono::seconds(max_wait);
  config.registry.online_window = std::chrono::seconds(2 * max_wait + 30);
  // A long-poll may be held for max_wait: idle keep-alive connections must outlast it.
  config.limits.idle_timeout = std::max(
      config.limits.idle_timeout, std::chrono::milliseconds(std::chrono::seconds(max_wait + 30)));

  raise_file_limit();
  boost::asio::io_context context(1);
  auto plane = ef::control_plane::ControlPlane::start(context, config);
  if (!plane) {
    std::cerr << "edgefleet-server: " << plane.error().message << "\n";
    return 1;
  }
  auto& control = **plane;
  if (const auto& token = control.initial_admin_token()) {
    std::cout << "edgefleet-server: initial admin token (shown once; only its hash is stored): "
              << *token << std::endl;
  }
  std::cout << "edgefleet-server: listening on https://" << config.listen_host << ":"
            << control.port();
  if (control.metrics_port())
    std::cout << ", metrics on http://" << *config.metrics_host << ":" << *control.metrics_port();
  std::cout << std::endl;
  if (!port_file.empty()) {
    if (auto written = ef::write_file_atomic(port_file, std::to_string(control.port()) + "\n");
        !written) {
      std::cerr << "edgefleet-server: " << written.error().message << "\n";
      return 1;
    }
  }

  boost::asio::signal_set signals(context, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    std::cout << "edgefleet-server: stopping" << std::endl;
    control.stop();
  });
  std::signal(SIGPIPE, SIG_IGN);
  context.run();  // returns once every connection has ended after stop()
  return 0;
}
