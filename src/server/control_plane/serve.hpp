// Running the control plane as the edgefleet-server process: what its flags mean, and the loop
// that serves until SIGINT or SIGTERM. apps/edgefleet-server only parses flags into ServeOptions.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "core/common/result.hpp"
#include "server/control_plane/control_plane.hpp"

namespace ef::control_plane {

// The server's flags, as given (see docs/server.md, "Options").
struct ServeOptions {
  std::filesystem::path data_dir;
  std::string database;  // --database: a postgresql:// URL; empty: SQLite in data_dir
  std::string listen = "0.0.0.0:8443";  // HOST:PORT, "[::1]:443" for IPv6
  std::string metrics_listen;           // HOST:PORT, or empty for no plain-HTTP listener
  std::vector<std::string> server_names;
  std::vector<std::string> server_ips;
  std::filesystem::path tls_certificate;  // empty: the generated certificate
  std::filesystem::path tls_private_key;
  std::string public_url;
  int device_certificate_days = 14;
  std::chrono::seconds max_wait{900};
  std::chrono::seconds telemetry_online_window{300};  // see device_registry/presence.hpp
  std::filesystem::path port_file;  // written with the bound HTTPS port when not empty
  std::string prometheus_url;       // remote-write receiver; empty: telemetry is refused (503)
  std::chrono::hours prometheus_out_of_order_window{72};
  std::filesystem::path shifts_file;  // shift schedules per site; empty: none
  std::size_t threads = 0;            // serving threads; 0: one per core
  std::size_t max_connections = 0;    // 0: from the open-file limit (http::ConnectionBudget)
  std::size_t max_connections_per_source = http::ConnectionBudget::kDefaultMaxPerSource;
};

// The Config the options stand for; an unusable option is invalid_argument, naming the flag.
// The online window and the idle-connection timeout follow from max_wait: a long-poll may be held
// that long, so a device without telemetry counts as online for 2 x max_wait + 30 s (one that
// pushes telemetry: 5 min, see presence.hpp) and an idle keep-alive connection outlasts a
// long-poll. A shifts file that does not parse is invalid_argument with the parse error (the
// server refuses to start rather than report shifts wrongly).
Result<Config> config_from(const ServeOptions& options);

// Raises the open-file limit (every online device holds a connection), starts the control plane,
// prints the initial admin token (first start) and the addresses it listens on, writes the port
// file, and serves until SIGINT or SIGTERM, then stops gracefully.
Status serve(const ServeOptions& options);

}  // namespace ef::control_plane
