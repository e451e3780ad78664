// edgefleet-server: the control plane. One process, one data folder, nothing else to install.
// This file only parses flags; control_plane::serve does the rest.
#include <CLI/CLI.hpp>
#include <iostream>

#include "server/control_plane/serve.hpp"

namespace {

int init_repository(const std::string& data, const std::string& keys) {
  if (auto done = ef::control_plane::init_repository_folder(data, keys); !done) {
    std::cerr << "edgefleet-server: init-repository: " << done.error().message << "\n";
    return 1;
  }
  std::cout << "edgefleet-server: repository ready in " << data << "/repository; online keys in "
            << data << "/repository-keys" << std::endl;
  return 0;
}

}  // namespace

// Long because: the flags read best as one list, in the order --help prints them.
int main(int argc, char** argv) {
  CLI::App app{
      "edgefleet-server: the edgefleet control plane (enrollment, check-in, releases, inventory)",
      "edgefleet-server"};
  ef::control_plane::ServeOptions options;
  std::string data_dir, tls_cert, tls_key, port_file;
  long max_wait = 900;
  long ooo_window_hours = 72;
  app.add_option("--data", data_dir, "data folder (created on first start)");
  app.add_option("--database", options.database,
                 "keep the fleet's records in PostgreSQL at this URL (postgresql://USER@HOST/DB; "
                 "docs/server.md, \"PostgreSQL\"); default: SQLite in the data folder");
  app.require_subcommand(0, 1);
  auto* init = app.add_subcommand(
      "init-repository",
      "one-time local step: give the release repository its trusted root and the online "
      "snapshot/timestamp keys from a keys folder (root and targets keys are not copied)");
  std::string init_data, init_keys;
  init->add_option("--data", init_data, "the server's data folder")->required();
  init->add_option("--keys", init_keys, "the folder `edgefleet keys init` created")->required();
  app.add_option("--listen", options.listen, "HTTPS address for devices and operators")
      ->capture_default_str();
  app.add_option("--metrics-listen", options.metrics_listen,
                 "plain-HTTP address for /healthz and /metrics only");
  app.add_option("--server-name", options.server_names,
                 "DNS name in the generated server certificate (repeatable)");
  app.add_option("--server-ip", options.server_ips,
                 "IP address in the generated server certificate (repeatable)");
  app.add_option("--tls-cert", tls_cert,
                 "use this PEM certificate chain instead of the generated one");
  app.add_option("--tls-key", tls_key, "the private key for --tls-cert");
  app.add_option("--public-url", options.public_url,
                 "how devices reach this server (default https://NAME:PORT)");
  app.add_option("--device-cert-days", options.device_certificate_days,
                 "validity of device certificates")
      ->capture_default_str()
      ->check(CLI::Range(1, 365));
  app.add_option("--max-wait", max_wait, "longest check-in long-poll, seconds")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600));
  long telemetry_window = options.telemetry_online_window.count();
  app.add_option("--telemetry-online-window", telemetry_window,
                 "a device that pushes telemetry is offline after this many seconds without a "
                 "push or check-in")
      ->capture_default_str()
      ->check(CLI::Range(5, 3600));
  app.add_option("--prometheus-url", options.prometheus_url,
                 "relay device telemetry to this Prometheus remote-write receiver "
                 "(http://HOST:PORT/api/v1/write)");
  app.add_option("--prometheus-ooo-window-hours", ooo_window_hours,
                 "Prometheus' storage.tsdb.out_of_order_time_window, in hours: older samples are "
                 "dropped (counted), not sent")
      ->capture_default_str()
      ->check(CLI::Range(1, 24 * 30));
  app.add_option("--shifts", options.shifts_file,
                 "shift schedules per site (JSON; docs/telemetry.md, \"Shifts\"): the "
                 "edgefleet_server_site_shift gauge and GET /api/v1/shifts");
  app.add_option("--threads", options.threads,
                 "threads serving devices' check-ins (0: one per core); other requests run on one")
      ->capture_default_str()
      ->check(CLI::Range(0, 256));
  app.add_option("--max-connections", options.max_connections,
                 "most open connections (0: the open-file limit less a tenth); more are closed at "
                 "accept, counted")
      ->capture_default_str();
  app.add_option("--max-connections-per-source", options.max_connections_per_source,
                 "most open connections from one IPv4 address or IPv6 /64 (0: no bound); a "
                 "plant's devices may share one NAT address")
      ->capture_default_str();
  app.add_option("--port-file", port_file, "write the bound HTTPS port here (for --listen HOST:0)");
  CLI11_PARSE(app, argc, argv);
  if (init->parsed()) return init_repository(init_data, init_keys);

  options.data_dir = data_dir;
  options.tls_certificate = tls_cert;
  options.tls_private_key = tls_key;
  options.port_file = port_file;
  options.max_wait = std::chrono::seconds(max_wait);
  options.telemetry_online_window = std::chrono::seconds(telemetry_window);
  options.prometheus_out_of_order_window = std::chrono::hours(ooo_window_hours);
  if (auto served = ef::control_plane::serve(options); !served) {
    std::cerr << "edgefleet-server: " << served.error().message << "\n";
    return served.error().code == ef::Errc::invalid_argument ? 2 : 1;  // 2: a usage error
  }
  return 0;
}
