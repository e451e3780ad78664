#include "server/control_plane/control_plane.hpp"

#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>

#include "core/common/fs.hpp"
#include "core/metrics/metrics.hpp"
#include "core/pki/pki.hpp"
#include "server/audit/audit.hpp"
#include "server/control_plane/worker_threads.hpp"
#include "server/desired_state/change_hub.hpp"
#include "server/desired_state/desired_state.hpp"
#include "server/inventory/inventory.hpp"
#include "server/operator_auth/operator_auth.hpp"
#include "server/prometheus_relay/queue_slot.hpp"
#include "server/prometheus_relay/relay.hpp"
#include "server/store/group_commit/group_commit.hpp"
#include "server/store/open/open_store.hpp"
#include "server/store/per_thread/per_thread_store.hpp"
#include "server/store/postgres_listener/change_listener.hpp"

namespace ef::control_plane {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using http::Request;
using http::Response;

namespace {

constexpr auto kFlushInterval = std::chrono::seconds(5);
constexpr auto kServerCertValidity = std::chrono::hours(24 * 365);
constexpr auto kServerCertRenewBefore = std::chrono::hours(24 * 30);

// Request latency buckets in seconds: API calls take milliseconds, long-polls up to a minute.
const std::vector<double> kLatencyBuckets = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                             0.1,    0.25,  0.5,    1,     5,    30,    60};

struct TlsFiles {
  fs::path certificate;
  fs::path key;
};

// Issues the server certificate unless a current one for the same names exists.
Result<TlsFiles> ensure_server_identity(const pki::CertificateAuthority& ca, const fs::path& dir,
                                        const Config& config) {
  TlsFiles files{dir / "server.crt", dir / "server.key"};
  const auto names_file = dir / "server.names";
  std::string names;
  for (const auto& n : config.server_dns_names)
    names += "DNS:" + n + "\n";
  for (const auto& a : config.server_ip_addresses)
    names += "IP:" + a + "\n";
  std::error_code ec;
  if (fs::exists(files.certificate, ec) && fs::exists(files.key, ec)) {
    auto pem = read_file(files.certificate, 1 << 20);
    auto recorded = read_file(names_file, 1 << 16);
    if (pem && recorded && *recorded == names) {
      auto info = pki::inspect_certificate(*pem);
      if (info && info->not_after - utc_now() > kServerCertRenewBefore) return files;
    }
  }
  EF_TRY(auto identity,
         ca.issue_server(config.server_dns_names, config.server_ip_addresses, kServerCertValidity));
  EF_CHECK(write_file_atomic(files.key, identity.private_key_pem, 0600));
  EF_CHECK(write_file_atomic(files.certificate, identity.certificate_pem, 0644));
  EF_CHECK(write_file_atomic(names_file, names, 0644));
  return files;
}

}  // namespace

struct ControlPlane::Impl {
  Impl(asio::io_context& c, Config cfg)
      : context(c),
        config(std::move(cfg)),
        repository(config.data_dir / "repository", config.data_dir / "repository-keys",
                   config.repository),
        flush_timer(c),
        refresh_timer(c) {}

  asio::io_context& context;
  Config config;
  std::unique_ptr<store::Store> store;  // one connection per thread (PerThreadStore)
  std::unique_ptr<store::GroupCommit> reports;
  // With PostgreSQL: changes made through other replicas wake this one's long-polls.
  std::unique_ptr<store::ChangeListener> listener;
  std::optional<pki::CertificateAuthority> ca;
  std::unique_ptr<audit::AuditLog> log;
  std::unique_ptr<operator_auth::OperatorAuth> auth;
  desired_state::ChangeHub hub;
  device_registry::Presence presence;
  metrics::Registry metrics;
  std::unique_ptr<http::Server> server;
  std::unique_ptr<WorkerThreads> workers;  // threads beyond this one (config.threads - 1)
  std::vector<std::unique_ptr<http::Server>> worker_servers;
  std::unique_ptr<http::Server> metrics_server;
  std::optional<prometheus_relay::QueueSlot> relay_queue;  // this replica's, locked while it runs
  std::unique_ptr<prometheus_relay::Relay> relay;
  std::optional<std::string> admin_token;
  desired_state::RepositoryUrls urls;  // set once the TLS port is known
  release_hosting::Repository repository;
  asio::steady_timer flush_timer;
  asio::steady_timer refresh_timer;
  std::uint16_t port = 0;
  std::optional<std::uint16_t> metrics_port;
  bool stopped = false;

  std::mutex metric_cache_mutex;  // the caches below, filled from every serving thread
  std::map<std::pair<std::string, unsigned>, metrics::Counter*> request_counters;
  std::map<std::string, metrics::Histogram*> latency;
  std::map<std::string, metrics::Counter*> enrollments;
  std::map<unsigned, metrics::Counter*> checkins;

  Status open();
  Status listen();
  Status register_gauges();
  Status start_relay();
  metrics::Registry::GaugeReadings devices_online();
  metrics::Registry::GaugeReadings site_shifts();
  void add_shift_routes(http::Router& router);
  http::Router api_routes();
  Status open_store();
  Status listen_tls(http::Router router);
  Status start_workers(const http::Router& router, const std::shared_ptr<http::TlsContext>& tls);
  std::size_t connection_count() const;
  metrics::Registry::GaugeReadings connections_refused() const;
  Status listen_metrics();
  void add_common_routes(http::Router& router);
  void observe(const http::RequestRecord& record);
  void count_enrollment(std::string_view outcome);
  void count_checkin(unsigned status);
  void schedule_flush();
  void schedule_refresh();
  void stop();
  ~Impl();
};

Status ControlPlane::Impl::open() {
  auto& dir = config.data_dir;
  EF_CHECK(make_dirs(dir, 0700));
  EF_CHECK(make_dirs(dir / "pki", 0700));
  EF_CHECK(make_dirs(dir / "uploads", 0700));
  EF_CHECK(make_dirs(dir / "repository" / "metadata", 0755));
  EF_CHECK(make_dirs(dir / "repository" / "blobs" / "sha256", 0755));
  EF_CHECK(open_store());
  EF_TRY(auto authority,
         pki::CertificateAuthority::load_or_create(dir / "pki", "edgefleet fleet CA"));
  ca = std::move(authority);
  log = std::make_unique<audit::AuditLog>(*store);
  auth = std::make_unique<operator_auth::OperatorAuth>(*store);
  EF_TRY(auto first_admin, auth->bootstrap_admin());
  if (first_admin) {
    admin_token = *first_admin;
    EF_CHECK(log->record("server", "token.create", "initial admin", "local", {{"role", "admin"}}));
  }
  config.limits.upload_dir = dir / "uploads";
  return {};
}

// Every serving thread reads through its own connection; changed check-in reports go through one
// more, the group-commit writer's.
Status ControlPlane::Impl::open_store() {
  auto open = [database = config.database, dir = config.data_dir] {
    return store::open_store(database, dir);
  };
  EF_TRY(auto first, open());
  store = std::make_unique<store::PerThreadStore>(open, std::move(first));
  EF_TRY(auto writer, open());
  reports = std::make_unique<store::GroupCommit>(std::move(writer));
  if (!store::is_postgres_url(config.database)) return {};
  // The hub is thread-safe: the listener's thread wakes long-polls directly. After a lost
  // connection notices may have been missed, so every long-poll re-reads its state.
  EF_TRY(listener,
         store::ChangeListener::start(
             config.database, {.on_change = [this](const std::string& id) { hub.notify(id); },
                               .on_resync = [this] { hub.notify_all(); }}));
  return {};
}

namespace {

// The metric cached under key, registered by make() on first use.
template <typename Metric, typename Key, typename Make>
Result<Metric*> cached(std::map<Key, Metric*>& cache, const Key& key, Make make) {
  auto& slot = cache[key];
  if (slot == nullptr) {
    EF_TRY(slot, make());
  }
  return slot;
}

// Registering a metric fails only when its name clashes with another's; the server keeps serving
// without that one figure and says so.
void report_metric_error(const Error& error) {
  std::fprintf(stderr, "edgefleet-server: a metric is not recorded: %s\n", error.message.c_str());
}

}  // namespace

void ControlPlane::Impl::observe(const http::RequestRecord& record) {
  std::lock_guard lock(metric_cache_mutex);
  const std::string route = record.route.empty() ? "unmatched" : std::string(record.route);
  auto counter = cached(request_counters, {route, record.status}, [&] {
    return metrics.counter("edgefleet_server_http_requests_total",
                           "HTTP requests answered, by route and status",
                           {{"route", route}, {"code", std::to_string(record.status)}});
  });
  if (!counter) return report_metric_error(counter.error());
  (*counter)->inc();
  auto histogram = cached(latency, route, [&] {
    return metrics.histogram(
        "edgefleet_server_http_request_duration_seconds",
        "Time from the first byte of a request to the end of its answer (long-polls included)",
        kLatencyBuckets, {{"route", route}});
  });
  if (!histogram) return report_metric_error(histogram.error());
  (*histogram)->observe(std::chrono::duration<double>(record.duration).count());
}

void ControlPlane::Impl::count_enrollment(std::string_view outcome) {
  std::lock_guard lock(metric_cache_mutex);
  auto counter = cached(enrollments, std::string(outcome), [&] {
    return metrics.counter("edgefleet_server_enrollments_total", "Enrollment attempts, by outcome",
                           {{"outcome", std::string(outcome)}});
  });
  if (!counter) return report_metric_error(counter.error());
  (*counter)->inc();
}

void ControlPlane::Impl::count_checkin(unsigned status) {
  std::lock_guard lock(metric_cache_mutex);
  auto counter = cached(checkins, status, [&] {
    return metrics.counter("edgefleet_server_checkins_total",
                           "Device check-ins answered, by status",
                           {{"code", std::to_string(status)}});
  });
  if (!counter) return report_metric_error(counter.error());
  (*counter)->inc();
}

void ControlPlane::Impl::add_common_routes(http::Router& router) {
  router.add_sync(http::Verb::get, "/healthz",
                  [](Request&) {
                    return Response::json(200, {{"status", "ok"}});
                  },
                  {.name = "healthz"});
  router.add_sync(http::Verb::get, "/metrics",
                  [this](Request&) {
                    return Response::text(200, metrics.expose(),
                                          std::string(metrics::kExpositionContentType));
                  },
                  {.name = "metrics"});
}

Status ControlPlane::Impl::register_gauges() {
  EF_CHECK(metrics.gauge_fn("edgefleet_server_devices_online",
                            "Devices heard from within their online window", {}, [this] {
                              return static_cast<double>(
                                  presence.count_online(utc_now(), config.registry.online));
                            }));
  EF_CHECK(metrics.gauge_fn("edgefleet_server_long_polls_waiting",
                            "Check-ins held open waiting for a change", {},
                            [this] { return static_cast<double>(hub.waiting()); }));
  EF_CHECK(metrics.gauges_fn("edgefleet_server_device_online",
                             "1 while the device is heard from within the online window, else 0 "
                             "(revoked devices are left out).",
                             {"cell", "device", "site"}, [this] { return devices_online(); }));
  if (config.shifts) {
    EF_CHECK(metrics.gauges_fn("edgefleet_server_site_shift",
                               "1 for the shift running now at the site, 0 for its other shifts "
                               "(sites with registered devices or listed in --shifts)",
                               {"shift", "site"}, [this] { return site_shifts(); }));
  }
  EF_CHECK(metrics.gauge_fn("edgefleet_server_report_writes",
                            "Changed check-in reports written (group commit), since start", {},
                            [this] { return static_cast<double>(reports->stats().writes); }));
  EF_CHECK(metrics.gauge_fn(
      "edgefleet_server_report_transactions",
      "Transactions (each one fsync) that wrote changed check-in reports, since start", {},
      [this] { return static_cast<double>(reports->stats().transactions); }));
  EF_CHECK(metrics.gauges_fn(
      "edgefleet_server_connections_refused",
      "Connections refused at accept or cut before their request was read, by reason, since start",
      {"reason"}, [this] { return connections_refused(); }));
  return metrics.gauge_fn("edgefleet_server_connections", "Open client connections", {},
                          [this] { return static_cast<double>(connection_count()); });
}

// Read at every scrape: one series per enrolled device, for the device-offline alert.
metrics::Registry::GaugeReadings ControlPlane::Impl::devices_online() {
  metrics::Registry::GaugeReadings out;
  auto devices = store->devices({.status = store::DeviceStatus::active});
  if (!devices) return out;
  const auto now = utc_now();
  for (const auto& d : *devices) {
    out.push_back({{{"cell", d.cell}, {"device", d.id}, {"site", d.site}},
                   presence.online(d, now, config.registry.online) ? 1.0 : 0.0});
  }
  return out;
}

// Read at every scrape: one series per (site, shift), for the per-shift recording rules to join
// on. Sites come from the schedule file and from devices not revoked (enrolled or only registered;
// they may follow "default").
metrics::Registry::GaugeReadings ControlPlane::Impl::site_shifts() {
  metrics::Registry::GaugeReadings out;
  std::set<std::string> sites;
  for (const auto& [name, schedule] : config.shifts->sites())
    sites.insert(name);
  if (auto devices = store->devices({}); devices) {
    for (const auto& d : *devices) {
      if (d.status != store::DeviceStatus::revoked) sites.insert(d.site);
    }
  }
  const auto now = utc_now().time_since_epoch().count();
  for (const auto& site : sites) {
    const auto* schedule = config.shifts->for_site(site);
    auto current = config.shifts->shift_at(site, now);
    if (schedule == nullptr || !current) continue;
    for (const auto& shift : schedule->shifts) {
      out.push_back(
          {{{"shift", shift.name}, {"site", site}}, shift.name == current->name ? 1.0 : 0.0});
    }
  }
  return out;
}

// GET /api/v1/shifts: the schedules as the --shifts file gives them (the CLI's report computes
// shift windows from them), for read-only operators and above.
void ControlPlane::Impl::add_shift_routes(http::Router& router) {
  operator_auth::add_operator_route(
      router, http::Verb::get, "/api/v1/shifts", *auth, store::Role::read_only,
      [this](Request&, const operator_auth::Actor&) {
        if (!config.shifts) {
          return Response::error(
              404, "no_shifts", "this server has no shift schedules (start it with --shifts FILE)");
        }
        return Response::json(200, config.shifts->to_json());
      },
      {.name = "shifts.get"});
}

Status ControlPlane::Impl::start_relay() {
  if (config.prometheus_remote_write_url.empty()) return {};
  EF_TRY(relay_queue, prometheus_relay::claim_queue_slot(config.data_dir / "telemetry-relay"));
  EF_TRY(relay, prometheus_relay::Relay::start(
                    {.queue_dir = relay_queue->dir,
                     .remote_write_url = config.prometheus_remote_write_url,
                     .out_of_order_window = config.prometheus_out_of_order_window},
                    metrics));
  // Prometheus refuses what is older than its window: so does the endpoint, by the same margin.
  config.telemetry.limits.max_age =
      config.prometheus_out_of_order_window - std::chrono::minutes(10);
  return {};
}

http::Router ControlPlane::Impl::api_routes() {
  http::Router router;
  add_common_routes(router);
  router.add_sync(
      http::Verb::get, "/api/v1/openapi.yaml",
      [](Request&) { return Response::text(200, std::string(openapi_yaml()), "application/yaml"); },
      {.name = "openapi"});
  operator_auth::add_routes(router, *auth, *store, *log);
  audit::add_routes(router, *store, auth->guard(store::Role::read_only));
  device_registry::add_routes(router, {*store, *auth, *log, hub, presence, config.registry});
  enrollment::add_routes(router, {*store, *ca, *log, config.enrollment,
                                  [this](std::string_view outcome) { count_enrollment(outcome); }});
  desired_state::add_routes(router, {*store, hub, *auth, *log, urls});
  checkin::add_routes(router, {*store, *reports, hub, presence, urls, config.checkin,
                               [this](unsigned status) { count_checkin(status); }});
  inventory::add_routes(router, *store, presence, config.registry,
                        auth->guard(store::Role::read_only));
  release_hosting::add_routes(router, {*store, repository, *auth, *log, config.repository});
  add_shift_routes(router);
  telemetry_ingest::Sink sink;
  if (relay) sink = [this](const std::vector<telemetry::Series>& s) { return relay->enqueue(s); };
  (void)telemetry_ingest::add_routes(
      router, {*store, metrics, std::move(sink), config.telemetry,
               [this](const std::string& id) { presence.pushed_telemetry(id, utc_now()); }});
  return router;
}

Status ControlPlane::Impl::listen_tls(http::Router router) {
  TlsFiles files;
  if (config.tls_certificate || config.tls_private_key) {
    if (!config.tls_certificate || !config.tls_private_key) {
      return make_error(Errc::invalid_argument, "give both a TLS certificate and its private key");
    }
    files = {*config.tls_certificate, *config.tls_private_key};
  } else {
    EF_TRY(files, ensure_server_identity(*ca, config.data_dir / "pki", config));
  }
  EF_TRY(auto tls, http::TlsContext::create(
                       {files.certificate, files.key, config.data_dir / "pki" / "ca.crt"}));

  const auto sharing =
      config.threads > 1 ? http::PortSharing::shared : http::PortSharing::exclusive;
  port = config.listen_port;
  if (sharing == http::PortSharing::shared) {
    EF_TRY(port, http::reserve_tcp_port(config.listen_host, config.listen_port));
  }
  server = std::make_unique<http::Server>(context, router, config.limits);
  server->set_observer([this](const http::RequestRecord& record) { observe(record); });
  EF_TRY(port, server->listen_tls(config.listen_host, port, tls, sharing));
  EF_CHECK(start_workers(router, tls));
  if (config.public_url.empty()) {
    const std::string host = config.server_dns_names.empty() ? config.server_ip_addresses.front()
                                                             : config.server_dns_names.front();
    config.public_url = "https://" + host + ":" + std::to_string(port);
  }
  urls = {config.public_url + "/repo/metadata/", config.public_url + "/repo/blobs/sha256/"};
  return {};
}

// Check-ins run on every thread; everything else on this one (see worker_threads.hpp).
Status ControlPlane::Impl::start_workers(const http::Router& router,
                                         const std::shared_ptr<http::TlsContext>& tls) {
  if (config.threads <= 1) return {};
  static const std::set<std::string, std::less<>> kParallel = {"devices.checkin"};
  workers = std::make_unique<WorkerThreads>(context, config.threads - 1);
  for (std::size_t i = 0; i < workers->size(); ++i) {
    auto worker = std::make_unique<http::Server>(
        workers->context(i), worker_router(router, context, kParallel), config.limits);
    worker->set_observer([this](const http::RequestRecord& record) { observe(record); });
    EF_CHECK(worker->listen_tls(config.listen_host, port, tls, http::PortSharing::shared));
    worker_servers.push_back(std::move(worker));
  }
  workers->start();
  return {};
}

std::size_t ControlPlane::Impl::connection_count() const {
  std::size_t n = server ? server->connection_count() : 0;
  for (const auto& worker : worker_servers)
    n += worker->connection_count();
  return n;
}

metrics::Registry::GaugeReadings ControlPlane::Impl::connections_refused() const {
  metrics::Registry::GaugeReadings out;
  for (const auto reason : http::kRefusals) {
    std::uint64_t n = 0;
    for (const auto* s : {server.get(), metrics_server.get()})
      n += s ? s->refused(reason) : 0;
    for (const auto& worker : worker_servers)
      n += worker->refused(reason);
    out.push_back({{{"reason", std::string(http::to_string(reason))}}, static_cast<double>(n)});
  }
  return out;
}

Status ControlPlane::Impl::listen_metrics() {
  if (!config.metrics_host) return {};
  http::Router plain;
  add_common_routes(plain);
  metrics_server = std::make_unique<http::Server>(context, std::move(plain), config.limits);
  EF_TRY(auto bound, metrics_server->listen_tcp(*config.metrics_host, config.metrics_port));
  metrics_port = bound;
  return {};
}

Status ControlPlane::Impl::listen() {
  EF_CHECK(register_gauges());
  EF_CHECK(start_relay());
  EF_CHECK(listen_tls(api_routes()));
  EF_CHECK(listen_metrics());
  schedule_flush();
  EF_CHECK(repository.refresh_if_due(utc_now()));
  schedule_refresh();
  return {};
}

void ControlPlane::Impl::schedule_refresh() {
  refresh_timer.expires_after(config.repository_refresh_interval);
  refresh_timer.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped) return;
    if (auto refreshed = repository.refresh_if_due(utc_now()); !refreshed) {
      std::fprintf(stderr, "edgefleet-server: refreshing the repository timestamp failed: %s\n",
                   refreshed.error().message.c_str());
    }
    schedule_refresh();
  });
}

void ControlPlane::Impl::schedule_flush() {
  flush_timer.expires_after(kFlushInterval);
  flush_timer.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped) return;
    (void)presence.flush(*store);  // retried at the next tick if the database is busy
    schedule_flush();
  });
}

Status init_repository_folder(const fs::path& data_dir, const fs::path& keys) {
  EF_CHECK(make_dirs(data_dir, 0700));
  return release_hosting::init(data_dir / "repository", data_dir / "repository-keys", keys);
}

Result<std::unique_ptr<ControlPlane>> ControlPlane::start(asio::io_context& context,
                                                          Config config) {
  auto impl = std::make_unique<Impl>(context, std::move(config));
  if (auto opened = impl->open(); !opened) return std::move(opened).error();
  if (auto listening = impl->listen(); !listening) return std::move(listening).error();
  return std::unique_ptr<ControlPlane>(new ControlPlane(std::move(impl)));
}

ControlPlane::ControlPlane(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

ControlPlane::~ControlPlane() = default;

std::uint16_t ControlPlane::port() const {
  return impl_->port;
}
std::optional<std::uint16_t> ControlPlane::metrics_port() const {
  return impl_->metrics_port;
}
const std::optional<std::string>& ControlPlane::initial_admin_token() const {
  return impl_->admin_token;
}

void ControlPlane::stop() {
  impl_->stop();
}

void ControlPlane::Impl::stop() {
  if (stopped) return;
  stopped = true;
  flush_timer.cancel();
  refresh_timer.cancel();
  hub.shut_down();
  if (server) server->stop();
  for (auto& worker : worker_servers)
    worker->stop();
  if (metrics_server) metrics_server->stop();
  if (relay) relay->stop();
  if (listener) listener->stop();
  if (store) (void)presence.flush(*store);
}

ControlPlane::Impl::~Impl() {
  stop();
  // Workers end once their connections have (a held check-in may still await its report's write,
  // so the writer outlives them); then the writer drains what is queued.
  if (workers) workers->join();
  worker_servers.clear();
  if (reports) reports->stop();
}

}  // namespace ef::control_plane
