// The control plane: opens the data folder, creates what a first start needs, and serves the API.
//
// Data folder (--data DIR), created on first start:
//   DIR/fleet.db                 SQLite: devices, tokens (hashes), certificates, pins, audit
//                                (not created when Config::database names PostgreSQL)
//   DIR/pki/ca.crt, ca.key       the fleet CA that signs device certificates (key mode 0600)
//   DIR/pki/server.crt, .key     the server's TLS certificate, issued by the fleet CA and renewed
//                                at start when it expires within 30 days or its names changed
//   DIR/repository/              the release repository (TUF metadata and blobs)
//   DIR/repository-keys/         the online snapshot and timestamp keys (init_repository_folder)
//   DIR/uploads/                 bodies of uploads in progress
//   DIR/telemetry-relay/         device telemetry not yet taken by Prometheus (bounded queue)
// The first start also creates an admin token, returned once by initial_admin_token().
//
// Listeners: the API over TLS (mTLS for devices, bearer tokens for operators) and, optionally, a
// plain-HTTP listener for /healthz and /metrics only (for Prometheus on the same host).
#pragma once

#include <boost/asio/io_context.hpp>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/http/server.hpp"
#include "core/shifts/shift_schedule.hpp"
#include "server/checkin/checkin.hpp"
#include "server/device_registry/device_registry.hpp"
#include "server/enrollment/enrollment.hpp"
#include "server/release_hosting/release_hosting.hpp"
#include "server/telemetry_ingest/ingest.hpp"

namespace ef::control_plane {

struct Config {
  std::filesystem::path data_dir;
  // The store: "" for SQLite at data_dir/fleet.db, or a postgresql:// URL (store/open).
  std::string database;
  std::string listen_host = "0.0.0.0";
  std::uint16_t listen_port = 8443;         // 0: any free port (tests)
  std::optional<std::string> metrics_host;  // plain HTTP /healthz + /metrics, when set
  std::uint16_t metrics_port = 9464;
  // The names in the generated server certificate; ignored with tls_certificate.
  std::vector<std::string> server_dns_names = {"localhost"};
  std::vector<std::string> server_ip_addresses = {"127.0.0.1"};
  // Operator-provided TLS material instead of the generated certificate (PEM files).
  std::optional<std::filesystem::path> tls_certificate;
  std::optional<std::filesystem::path> tls_private_key;
  // How devices reach this server (repository URLs in desired state); default
  // https://<first DNS name>:<port>.
  std::string public_url;
  // Threads serving the TLS port: this one (running the context given to start()) and threads - 1
  // more. Check-ins run on all of them; other routes run on this one (worker_threads.hpp).
  std::size_t threads = 1;
  http::Limits limits;
  enrollment::Settings enrollment;
  checkin::Settings checkin;
  device_registry::Settings registry;
  release_hosting::Settings repository;
  // Where device telemetry goes: Prometheus' remote-write receiver, http://host:port/api/v1/write.
  // Empty: the telemetry endpoint answers 503 and devices keep their telemetry spooled.
  std::string prometheus_remote_write_url;
  // Prometheus' storage.tsdb.out_of_order_time_window: older samples are dropped, not sent.
  std::chrono::seconds prometheus_out_of_order_window{std::chrono::hours(72)};
  telemetry_ingest::Settings telemetry;
  // Shift schedules per site: the edgefleet_server_site_shift gauge and GET /api/v1/shifts
  // (read-only operators). Without them neither has anything to say (no series; 404).
  std::optional<shifts::Schedules> shifts;
  std::chrono::seconds repository_refresh_interval{
      std::chrono::hours(1)};  // timestamp freshness checks
};

class ControlPlane {
 public:
  // Opens (or initialises) the data folder and listens. Run `context` to serve.
  static Result<std::unique_ptr<ControlPlane>> start(boost::asio::io_context& context,
                                                     Config config);
  ~ControlPlane();

  std::uint16_t port() const;
  std::optional<std::uint16_t> metrics_port() const;
  // The admin token created by this start (first start only).
  const std::optional<std::string>& initial_admin_token() const;

  // Stops listening, ends every connection and flushes state. Call on the context's thread or
  // after it stopped.
  void stop();

  struct Impl;

 private:
  explicit ControlPlane(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The one-time local step that gives the repository its trusted root and online keys (see
// release_hosting::init), in the layout start() expects.
Status init_repository_folder(const std::filesystem::path& data_dir,
                              const std::filesystem::path& keys);

// The OpenAPI document (docs/openapi.yaml), compiled in.
std::string_view openapi_yaml();

}  // namespace ef::control_plane
