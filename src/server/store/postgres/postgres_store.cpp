#include "server/store/postgres/postgres_store.hpp"

#include <algorithm>

#include "server/store/postgres/connection.hpp"
#include "server/store/postgres/migrations.hpp"

namespace ef::store {

namespace {

using postgres_detail::Connection;
using postgres_detail::Param;
using postgres_detail::Rows;

// Held for the length of a migration, so replicas starting together migrate one after the other.
constexpr std::int64_t kMigrationLock = 0x65660001;  // "ef", 1
// Held from an audit entry's insert to its commit, so entries commit in the order of their seq and
// a reader paging by seq (audit(after, ...)) never passes over one that commits later.
constexpr std::int64_t kAuditLock = 0x65660002;  // "ef", 2

std::int64_t seconds(UtcTime t) {
  return t.time_since_epoch().count();
}

json::Json parse_json_column(const std::string& text) {
  if (text.empty()) return nullptr;
  // Columns hold what the store wrote; device reports carry measurements (floats).
  auto parsed = json::parse_strict(text, {.allow_floats = true});
  return parsed ? std::move(*parsed) : json::Json(nullptr);
}

std::string json_text(const json::Json& value) {
  return value.dump(-1, ' ', false, json::Json::error_handler_t::replace);
}

constexpr const char* kDeviceColumns =
    "id, site, cell, location, labels, status, created_at, enrolled_at, revoked_at, last_seen, "
    "cert_serial, cert_not_after, report, report_at";

// A row the schema allows but the code cannot read (a status it does not know) is reported as
// malformed, naming the row, rather than trusted.
Result<Device> read_device(const Rows& r, int i) {
  Device d;
  d.id = r.text(i, 0);
  d.site = r.text(i, 1);
  d.cell = r.text(i, 2);
  d.location = r.text(i, 3);
  d.labels = parse_json_column(r.text(i, 4));
  if (!d.labels.is_object()) d.labels = json::Json::object();
  auto status = status_from_name(r.text(i, 5));
  if (!status) {
    return make_error(Errc::malformed,
                      "devices row '" + d.id + "': status: " + status.error().message);
  }
  d.status = *status;
  d.created_at = r.time(i, 6);
  d.enrolled_at = r.opt_time(i, 7);
  d.revoked_at = r.opt_time(i, 8);
  d.last_seen = r.opt_time(i, 9);
  d.cert_serial = r.text(i, 10);
  d.cert_not_after = r.opt_time(i, 11);
  d.report = r.null(i, 12) ? json::Json(nullptr) : parse_json_column(r.text(i, 12));
  d.report_at = r.opt_time(i, 13);
  return d;
}

ReleaseRecord read_release(const Rows& r, int i) {
  return ReleaseRecord{r.text(i, 0),
                       r.integer(i, 1),
                       r.integer(i, 2),
                       static_cast<std::uint64_t>(r.integer(i, 3)),
                       static_cast<std::uint64_t>(r.integer(i, 4)),
                       r.time(i, 5),
                       r.text(i, 6)};
}

Result<OperatorToken> read_token(const Rows& r, int i) {
  auto role = role_from_name(r.text(i, 2));
  if (!role) {
    return make_error(Errc::malformed,
                      "operator_tokens row '" + r.text(i, 0) + "': role: " + role.error().message);
  }
  return OperatorToken{r.text(i, 0), r.text(i, 1), *role,
                       r.text(i, 3), r.time(i, 4), r.opt_time(i, 5)};
}

AuditEntry read_audit(const Rows& r, int i) {
  AuditEntry e;
  e.seq = r.integer(i, 0);
  e.at = r.time(i, 1);
  e.actor = r.text(i, 2);
  e.action = r.text(i, 3);
  e.target = r.text(i, 4);
  e.source = r.text(i, 5);
  e.details = parse_json_column(r.text(i, 6));
  return e;
}

class PostgresStore : public Store {
 public:
  explicit PostgresStore(std::unique_ptr<Connection> connection) : conn_(std::move(connection)) {}

  Status migrate() {
    return in_transaction([&]() -> Status {
      EF_CHECK(run("SELECT pg_advisory_xact_lock($1)", {kMigrationLock}));
      EF_CHECK(
          conn_->script("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY "
                        "KEY, applied_at BIGINT NOT NULL)"));
      EF_TRY(auto current, conn_->query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
      const std::int64_t have = current.integer(0, 0);
      const auto all = postgres_detail::migrations();
      if (have > static_cast<std::int64_t>(all.size())) {
        return make_error(Errc::unsupported,
                          "the database schema is version " + std::to_string(have) +
                              ", newer than this edgefleet-server knows (" +
                              std::to_string(all.size()) + "); run the newer server");
      }
      for (std::size_t n = static_cast<std::size_t>(have) + 1; n <= all.size(); ++n) {
        EF_CHECK(conn_->script(std::string(all[n - 1])));
        EF_CHECK(run("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                     {static_cast<std::int64_t>(n), seconds(utc_now())}));
      }
      return {};
    });
  }

  Status in_transaction(const std::function<Status()>& work) override {
    if (depth_ > 0) {  // nested: part of the outer transaction
      ++depth_;
      auto status = work();
      --depth_;
      return status;
    }
    EF_CHECK(conn_->script("BEGIN"));
    depth_ = 1;
    conn_->set_in_transaction(true);
    Status status;
    try {
      status = work();
    } catch (...) {
      (void)end_transaction("ROLLBACK");
      throw;
    }
    if (!status) {
      (void)end_transaction("ROLLBACK");
      return status;
    }
    return end_transaction("COMMIT");
  }

  Status add_device(const Device& d) override {
    const std::string labels = d.labels.dump();
    auto done = run(
        "INSERT INTO devices (id, site, cell, location, labels, status, created_at) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7)",
        {d.id, d.site, d.cell, d.location, labels, status_name(d.status), seconds(d.created_at)});
    if (!done && done.error().code == Errc::exists) {
      return make_error(Errc::exists, "device " + d.id + " already exists");
    }
    return done;
  }

  Result<Device> device(std::string_view id) override {
    EF_TRY(auto r,
           conn_->query(std::string("SELECT ") + kDeviceColumns + " FROM devices WHERE id = $1",
                        {id}));
    if (r.size() == 0) return make_error(Errc::not_found, "no device " + std::string(id));
    return read_device(r, 0);
  }

  Result<CheckinView> checkin_view(std::string_view id) override {
    EF_TRY(auto r, conn_->query("SELECT d.status, a.release FROM devices d LEFT JOIN assignments "
                                "a ON a.device_id = d.id WHERE d.id = $1",
                                {id}));
    if (r.size() == 0) return make_error(Errc::not_found, "no device " + std::string(id));
    return make_checkin_view(
        id, r.text(0, 0), r.null(0, 1) ? std::nullopt : std::optional<std::string>(r.text(0, 1)));
  }

  Result<std::vector<Device>> devices(const DeviceFilter& f) override {
    const std::string status = f.status ? std::string(status_name(*f.status)) : "";
    EF_TRY(auto r, conn_->query(std::string("SELECT ") + kDeviceColumns +
                                    " FROM devices WHERE ($1::text IS NULL OR site = $1) AND "
                                    "($2::text IS NULL OR cell = $2) AND ($3::text IS NULL OR "
                                    "status = $3) ORDER BY id COLLATE \"C\"",
                                {f.site ? Param(std::string_view(*f.site)) : Param(nullptr),
                                 f.cell ? Param(std::string_view(*f.cell)) : Param(nullptr),
                                 f.status ? Param(std::string_view(status)) : Param(nullptr)}));
    std::vector<Device> out;
    for (int i = 0; i < r.size(); ++i) {
      EF_TRY(auto device, read_device(r, i));
      out.push_back(std::move(device));
    }
    return out;
  }

  Status update_device_details(const Device& d) override {
    const std::string labels = d.labels.dump();
    return run_one(
        "UPDATE devices SET site = $1, cell = $2, location = $3, labels = $4 WHERE id = $5",
        {d.site, d.cell, d.location, labels, d.id}, "device " + d.id);
  }

  Status revoke_device(std::string_view id, UtcTime at) override {
    return in_transaction([&]() -> Status {
      EF_CHECK(run_one("UPDATE devices SET status = 'revoked', revoked_at = $1 WHERE id = $2",
                       {seconds(at), id}, "device " + std::string(id)));
      // Its unused enrolment tokens die with it.
      EF_CHECK(run("DELETE FROM enrollment_tokens WHERE device_id = $1 AND used_at IS NULL", {id}));
      return run("SELECT pg_notify($1, $2)", {kDesiredStateChannel, id});
    });
  }

  Status save_report(std::string_view id, const json::Json& report, UtcTime at) override {
    const std::string text = json_text(report);
    return run_one("UPDATE devices SET report = $1, report_at = $2, last_seen = $3 WHERE id = $4",
                   {text, seconds(at), seconds(at), id}, "device " + std::string(id));
  }

  Status save_last_seen(const std::vector<std::pair<std::string, UtcTime>>& seen) override {
    if (seen.empty()) return {};
    return in_transaction([&]() -> Status {
      for (const auto& [id, at] : seen) {
        EF_CHECK(
            run("UPDATE devices SET last_seen = GREATEST(COALESCE(last_seen, 0), $1) "
                "WHERE id = $2",
                {seconds(at), id}));
      }
      return {};
    });
  }

  Status add_enrollment_token(const EnrollmentToken& t) override {
    return in_transaction([&]() -> Status {
      EF_CHECK(lock_device(t.device_id));  // two issuing at once: one unused token remains
      EF_CHECK(run("DELETE FROM enrollment_tokens WHERE device_id = $1 AND used_at IS NULL",
                   {t.device_id}));
      return run(
          "INSERT INTO enrollment_tokens (hash, device_id, created_at, expires_at) "
          "VALUES ($1, $2, $3, $4)",
          {t.hash, t.device_id, seconds(t.created_at), seconds(t.expires_at)});
    });
  }

  Result<EnrollmentToken> enrollment_token(std::string_view hash) override {
    EF_TRY(auto r, conn_->query("SELECT hash, device_id, created_at, expires_at, used_at FROM "
                                "enrollment_tokens WHERE hash = $1",
                                {hash}));
    if (r.size() == 0) return make_error(Errc::not_found, "unknown enrollment token");
    return EnrollmentToken{r.text(0, 0), r.text(0, 1), r.time(0, 2), r.time(0, 3),
                           r.opt_time(0, 4)};
  }

  Status complete_enrollment(std::string_view token_hash, const CertificateRecord& cert,
                             UtcTime at) override {
    return in_transaction([&]() -> Status {
      // The device first, as every writer here locks: a token's row second (no deadlock with
      // add_enrollment_token). The token UPDATE itself decides between two consumers.
      EF_CHECK(lock_device(cert.device_id));
      EF_TRY(auto used, conn_->query("UPDATE enrollment_tokens SET used_at = $1 WHERE hash = $2 "
                                     "AND device_id = $3 AND used_at IS NULL",
                                     {seconds(at), token_hash, cert.device_id}));
      if (used.affected() != 1) {
        return make_error(Errc::exists, "the enrollment token has already been used");
      }
      EF_CHECK(
          run_one("UPDATE devices SET status = 'active', enrolled_at = $1 WHERE id = $2 "
                  "AND status != 'revoked'",
                  {seconds(at), cert.device_id}, "active device " + cert.device_id));
      return add_certificate(cert);
    });
  }

  Status add_certificate(const CertificateRecord& c) override {
    return in_transaction([&]() -> Status {
      EF_CHECK(
          run("INSERT INTO certificates (serial, device_id, sha256, not_before, not_after, "
              "issued_at) VALUES ($1, $2, $3, $4, $5, $6)",
              {c.serial_hex, c.device_id, c.sha256_hex, seconds(c.not_before), seconds(c.not_after),
               seconds(c.issued_at)}));
      return run_one("UPDATE devices SET cert_serial = $1, cert_not_after = $2 WHERE id = $3",
                     {c.serial_hex, seconds(c.not_after), c.device_id}, "device " + c.device_id);
    });
  }

  // One statement: the upsert and its notification commit (or roll back) together, in one round
  // trip. The upsert's row lock orders two replicas assigning one device.
  Status set_assignment(const Assignment& a) override {
    return run(
        "WITH changed AS (INSERT INTO assignments (device_id, release, assigned_at, assigned_by) "
        "VALUES ($2, $3, $4, $5) ON CONFLICT (device_id) DO UPDATE SET "
        "release = excluded.release, assigned_at = excluded.assigned_at, "
        "assigned_by = excluded.assigned_by RETURNING device_id) "
        "SELECT pg_notify($1, device_id) FROM changed",
        {kDesiredStateChannel, a.device_id, a.release, seconds(a.assigned_at), a.assigned_by});
  }

  // Device ids in one comma-separated parameter, kBulkRows per statement: one round trip per
  // chunk instead of one per device. Ids cannot hold a comma (pki::check_device_id).
  Status set_assignments(const std::vector<std::string>& device_ids, const std::string& release,
                         UtcTime at, const std::string& assigned_by) override {
    constexpr std::size_t kBulkRows = 5000;
    for (const auto& id : device_ids) {
      if (id.empty() || id.find(',') != std::string::npos) {
        return make_error(Errc::invalid_argument, "not a device id: '" + id + "'");
      }
    }
    return in_transaction([&]() -> Status {
      for (std::size_t first = 0; first < device_ids.size(); first += kBulkRows) {
        std::string ids;
        for (std::size_t i = first; i < std::min(device_ids.size(), first + kBulkRows); ++i)
          ids += (i == first ? "" : ",") + device_ids[i];
        EF_CHECK(
            run("WITH changed AS (INSERT INTO assignments (device_id, release, assigned_at, "
                "assigned_by) SELECT id, $3, $4, $5 FROM unnest(string_to_array($2, ',')) AS id "
                "ON CONFLICT (device_id) DO UPDATE SET release = excluded.release, "
                "assigned_at = excluded.assigned_at, assigned_by = excluded.assigned_by "
                "RETURNING device_id) SELECT count(pg_notify($1, device_id)) FROM changed",
                {kDesiredStateChannel, ids, release, seconds(at), assigned_by}));
      }
      return {};
    });
  }

  // Notifies only when there was a pin to clear: otherwise nothing changed.
  Status clear_assignment(std::string_view device_id) override {
    return run(
        "WITH changed AS (DELETE FROM assignments WHERE device_id = $2 RETURNING device_id) "
        "SELECT pg_notify($1, device_id) FROM changed",
        {kDesiredStateChannel, device_id});
  }

  Result<std::optional<Assignment>> assignment(std::string_view device_id) override {
    EF_TRY(auto r, conn_->query("SELECT device_id, release, assigned_at, assigned_by FROM "
                                "assignments WHERE device_id = $1",
                                {device_id}));
    if (r.size() == 0) return std::optional<Assignment>();
    return std::optional<Assignment>(
        Assignment{r.text(0, 0), r.text(0, 1), r.time(0, 2), r.text(0, 3)});
  }

  // Reads, then writes: under the device's row lock, so that two replicas recording the same
  // change append it once (the second reads the first's row after the lock is granted).
  Status record_running(std::string_view device_id, const RunningVersion& running) override {
    return in_transaction([&]() -> Status {
      EF_CHECK(lock_device(device_id));
      EF_TRY(auto newest, running_history(device_id, 1));
      if (!newest.empty() && newest.back().release == running.release &&
          newest.back().model_version == running.model_version) {
        return {};
      }
      return run(
          "INSERT INTO device_versions (device_id, since, release, model_version) "
          "VALUES ($1, $2, $3, $4)",
          {device_id, seconds(running.since), running.release, running.model_version});
    });
  }

  Result<std::vector<RunningVersion>> running_history(std::string_view device_id,
                                                      std::size_t limit) override {
    EF_TRY(auto r, conn_->query("SELECT release, model_version, since FROM device_versions "
                                "WHERE device_id = $1 ORDER BY since DESC, id DESC LIMIT $2",
                                {device_id, static_cast<std::int64_t>(limit)}));
    std::vector<RunningVersion> out;
    for (int i = r.size() - 1; i >= 0; --i) {
      out.push_back({r.text(i, 0), r.text(i, 1), r.time(i, 2)});
    }
    return out;
  }

  Result<std::uint64_t> telemetry_delivered(std::string_view device_id) override {
    EF_TRY(auto r,
           conn_->query("SELECT telemetry_delivered FROM devices WHERE id = $1", {device_id}));
    if (r.size() == 0) return make_error(Errc::not_found, "device " + std::string(device_id));
    return static_cast<std::uint64_t>(r.integer(0, 0));
  }

  Status set_telemetry_delivered(std::string_view device_id, std::uint64_t sequence) override {
    return run_one(
        "UPDATE devices SET telemetry_delivered = GREATEST(telemetry_delivered, $1) WHERE id = $2",
        {static_cast<std::int64_t>(sequence), device_id}, "device " + std::string(device_id));
  }

  Status add_release(const ReleaseRecord& r) override {
    auto done =
        run("INSERT INTO releases (version, targets_version, epoch, bytes, files, published_at, "
            "published_by) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            {r.version, r.targets_version, r.epoch, static_cast<std::int64_t>(r.bytes),
             static_cast<std::int64_t>(r.files), seconds(r.published_at), r.published_by});
    if (!done && done.error().code == Errc::exists) {
      return make_error(Errc::exists, "release " + r.version + " is already published");
    }
    return done;
  }

  Result<std::vector<ReleaseRecord>> releases() override {
    EF_TRY(auto r, conn_->query("SELECT version, targets_version, epoch, bytes, files, "
                                "published_at, published_by FROM releases ORDER BY published_at, "
                                "version COLLATE \"C\""));
    std::vector<ReleaseRecord> out;
    for (int i = 0; i < r.size(); ++i)
      out.push_back(read_release(r, i));
    return out;
  }

  Result<std::optional<ReleaseRecord>> release(std::string_view version) override {
    EF_TRY(auto r, conn_->query("SELECT version, targets_version, epoch, bytes, files, "
                                "published_at, published_by FROM releases WHERE version = $1",
                                {version}));
    if (r.size() == 0) return std::optional<ReleaseRecord>();
    return std::optional<ReleaseRecord>(read_release(r, 0));
  }

  Status add_operator_token(const OperatorToken& t) override {
    return run(
        "INSERT INTO operator_tokens (id, name, role, hash, created_at) VALUES ($1, $2, $3, $4, "
        "$5)",
        {t.id, t.name, role_name(t.role), t.hash, seconds(t.created_at)});
  }

  Result<std::optional<OperatorToken>> operator_token_by_hash(std::string_view hash) override {
    EF_TRY(auto r, conn_->query("SELECT id, name, role, hash, created_at, revoked_at FROM "
                                "operator_tokens WHERE hash = $1",
                                {hash}));
    if (r.size() == 0) return std::optional<OperatorToken>();
    EF_TRY(auto token, read_token(r, 0));
    return std::optional<OperatorToken>(std::move(token));
  }

  Result<std::vector<OperatorToken>> operator_tokens() override {
    EF_TRY(auto r, conn_->query("SELECT id, name, role, hash, created_at, revoked_at FROM "
                                "operator_tokens ORDER BY created_at, id COLLATE \"C\""));
    std::vector<OperatorToken> out;
    for (int i = 0; i < r.size(); ++i) {
      EF_TRY(auto token, read_token(r, i));
      out.push_back(std::move(token));
    }
    return out;
  }

  Status revoke_operator_token(std::string_view id, UtcTime at) override {
    return run_one(
        "UPDATE operator_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        {seconds(at), id}, "active operator token " + std::string(id));
  }

  Status append_audit(const AuditEntry& e) override {
    const std::string details = json_text(e.details);
    return in_transaction([&]() -> Status {
      EF_CHECK(run("SELECT pg_advisory_xact_lock($1)", {kAuditLock}));
      return run(
          "INSERT INTO audit_log (at, actor, action, target, source, details) VALUES ($1, $2, "
          "$3, $4, $5, $6)",
          {seconds(e.at), e.actor, e.action, e.target, e.source, details});
    });
  }

  Result<std::vector<AuditEntry>> audit(std::int64_t after, std::size_t limit) override {
    EF_TRY(auto r, conn_->query("SELECT seq, at, actor, action, target, source, details FROM "
                                "audit_log WHERE seq > $1 ORDER BY seq LIMIT $2",
                                {after, static_cast<std::int64_t>(limit)}));
    std::vector<AuditEntry> out;
    for (int i = 0; i < r.size(); ++i)
      out.push_back(read_audit(r, i));
    return out;
  }

 private:
  Status run(std::string_view sql, std::initializer_list<Param> params) {
    auto rows = conn_->query(sql, params);
    return rows ? Status{} : Status(std::move(rows).error());
  }

  // Takes the device's row lock until the transaction ends: the one lock every read-then-write on
  // a device's rows holds first, so writers on several replicas queue instead of interleaving.
  // NO KEY: inserts referencing the device (their foreign-key checks) are not held up.
  Status lock_device(std::string_view id) {
    return run("SELECT 1 FROM devices WHERE id = $1 FOR NO KEY UPDATE", {id});
  }

  // Runs an UPDATE that must change exactly one row.
  Status run_one(std::string_view sql, std::initializer_list<Param> params,
                 const std::string& what) {
    EF_TRY(auto rows, conn_->query(sql, params));
    if (rows.affected() != 1) return make_error(Errc::not_found, "no " + what);
    return {};
  }

  // Ends the outermost transaction. PostgreSQL answers COMMIT with "ROLLBACK" when a statement in
  // the transaction failed: that is reported, never taken for a commit.
  Status end_transaction(const char* how) {
    auto done = conn_->query(how);
    depth_ = 0;
    conn_->set_in_transaction(false);
    if (!done) return std::move(done).error();
    if (done->command() != how) {
      return make_error(Errc::io, "the transaction was rolled back: a statement in it failed");
    }
    return {};
  }

  std::unique_ptr<Connection> conn_;
  int depth_ = 0;
};

}  // namespace

int postgres_schema_version() {
  return static_cast<int>(postgres_detail::migrations().size());
}

Result<std::unique_ptr<Store>> open_postgres_store(std::string_view conninfo) {
  auto connection = Connection::open(std::string(conninfo));
  if (!connection) return std::move(connection).error().context("opening the PostgreSQL store");
  auto store = std::make_unique<PostgresStore>(std::move(*connection));
  auto migrated = store->migrate();
  if (!migrated) return std::move(migrated).error().context("opening the PostgreSQL store");
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace ef::store
