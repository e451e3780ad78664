#include "server/store/sqlite/sqlite_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <map>
#include <variant>

#include "server/store/sqlite/migrations.hpp"

namespace ef::store {

namespace {

using Value = std::variant<std::nullptr_t, std::int64_t, std::string_view>;

std::int64_t seconds(UtcTime t) {
  return t.time_since_epoch().count();
}
UtcTime from_seconds(std::int64_t s) {
  return UtcTime(std::chrono::seconds(s));
}

// One prepared statement, reset after each use.
class Statement {
 public:
  Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
  ~Statement() { sqlite3_finalize(stmt_); }

  Status bind(std::initializer_list<Value> values) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
    int index = 1;
    for (const auto& v : values) {
      int rc = SQLITE_OK;
      if (std::holds_alternative<std::nullptr_t>(v)) {
        rc = sqlite3_bind_null(stmt_, index);
      } else if (const auto* i = std::get_if<std::int64_t>(&v)) {
        rc = sqlite3_bind_int64(stmt_, index, *i);
      } else {
        const auto s = std::get<std::string_view>(v);
        rc =
            sqlite3_bind_text(stmt_, index, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
      }
      if (rc != SQLITE_OK) return error("binding a value");
      ++index;
    }
    return {};
  }

  // SQLITE_ROW -> true, SQLITE_DONE -> false.
  Result<bool> step() {
    const int rc = sqlite3_step(stmt_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    if ((rc & 0xff) == SQLITE_CONSTRAINT) {
      return make_error(Errc::exists, std::string("constraint failed: ") + sqlite3_errmsg(db_));
    }
    return error("running a statement");
  }

  std::string text(int column) const {
    const auto* p = sqlite3_column_text(stmt_, column);
    return p == nullptr
               ? std::string()
               : std::string(reinterpret_cast<const char*>(p),
                             static_cast<std::size_t>(sqlite3_column_bytes(stmt_, column)));
  }
  std::int64_t integer(int column) const { return sqlite3_column_int64(stmt_, column); }
  bool null(int column) const { return sqlite3_column_type(stmt_, column) == SQLITE_NULL; }
  std::optional<UtcTime> opt_time(int column) const {
    if (null(column)) return std::nullopt;
    return from_seconds(integer(column));
  }
  void reset() { sqlite3_reset(stmt_); }

 private:
  Error error(std::string_view what) const {
    return make_error(Errc::io, "database error " + std::string(what) + ": " + sqlite3_errmsg(db_));
  }
  sqlite3* db_;
  sqlite3_stmt* stmt_;
};

// Resets a statement when leaving scope, so an unfinished SELECT does not hold a read lock.
struct ResetOnExit {
  Statement& s;
  ~ResetOnExit() { s.reset(); }
};

json::Json parse_json_column(const std::string& text) {
  if (text.empty()) return nullptr;
  // Columns hold what the store wrote; device reports carry measurements (floats).
  auto parsed = json::parse_strict(text, {.allow_floats = true});
  return parsed ? std::move(*parsed) : json::Json(nullptr);
}

class SqliteStore : public Store {
 public:
  explicit SqliteStore(sqlite3* db) : db_(db) {}
  ~SqliteStore() override {
    statements_.clear();
    sqlite3_close_v2(db_);
  }

  Status open() {
    EF_CHECK(exec("PRAGMA journal_mode=WAL"));
    EF_CHECK(exec("PRAGMA synchronous=FULL"));
    EF_CHECK(exec("PRAGMA foreign_keys=ON"));
    EF_CHECK(exec("PRAGMA busy_timeout=5000"));
    EF_CHECK(
        exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, "
             "applied_at INTEGER NOT NULL)"));
    EF_TRY(Statement & current, prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations"));
    EF_TRY(bool row, current.step());
    const std::int64_t have = row ? current.integer(0) : 0;
    current.reset();
    const auto all = detail::migrations();
    if (have > static_cast<std::int64_t>(all.size())) {
      return make_error(Errc::unsupported,
                        "the database schema is version " + std::to_string(have) +
                            ", newer than this edgefleet-server knows (" +
                            std::to_string(all.size()) + "); run the newer server");
    }
    for (std::size_t n = static_cast<std::size_t>(have) + 1; n <= all.size(); ++n) {
      EF_CHECK(in_transaction([&]() -> Status {
        EF_CHECK(exec(std::string(all[n - 1])));
        EF_TRY(Statement & record,
               prepare("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)"));
        EF_CHECK(record.bind({static_cast<std::int64_t>(n), seconds(utc_now())}));
        EF_TRY(bool unused, record.step());
        (void)unused;
        return {};
      }));
    }
    return {};
  }

  Status in_transaction(const std::function<Status()>& work) override {
    if (depth_ > 0) {  // nested: part of the outer transaction
      ++depth_;
      auto status = work();
      --depth_;
      return status;
    }
    EF_CHECK(exec("BEGIN IMMEDIATE"));
    depth_ = 1;
    Status status;
    try {
      status = work();
    } catch (...) {
      depth_ = 0;
      (void)exec("ROLLBACK");
      throw;
    }
    depth_ = 0;
    if (!status) {
      (void)exec("ROLLBACK");
      return status;
    }
    auto committed = exec("COMMIT");
    if (!committed) (void)exec("ROLLBACK");
    return committed;
  }

  Status add_device(const Device& d) override {
    EF_TRY(Statement & s,
           prepare("INSERT INTO devices (id, site, cell, location, labels, status, created_at) "
                   "VALUES (?, ?, ?, ?, ?, ?, ?)"));
    const std::string labels = d.labels.dump();
    EF_CHECK(s.bind(
        {d.id, d.site, d.cell, d.location, labels, status_name(d.status), seconds(d.created_at)}));
    auto done = s.step();
    if (!done && done.error().code == Errc::exists) {
      return make_error(Errc::exists, "device " + d.id + " already exists");
    }
    return done ? Status{} : Status(done.error());
  }

  static constexpr const char* kDeviceColumns =
      "id, site, cell, location, labels, status, created_at, enrolled_at, revoked_at, last_seen, "
      "cert_serial, cert_not_after, report, report_at";

  // A row the schema allows but the code cannot read (a status or role it does not know) is
  // reported as malformed, naming the row, rather than trusted.
  static Result<Device> read_device(const Statement& s) {
    Device d;
    d.id = s.text(0);
    d.site = s.text(1);
    d.cell = s.text(2);
    d.location = s.text(3);
    d.labels = parse_json_column(s.text(4));
    if (!d.labels.is_object()) d.labels = json::Json::object();
    auto status = status_from_name(s.text(5));
    if (!status) {
      return make_error(Errc::malformed,
                        "devices row '" + d.id + "': status: " + status.error().message);
    }
    d.status = *status;
    d.created_at = from_seconds(s.integer(6));
    d.enrolled_at = s.opt_time(7);
    d.revoked_at = s.opt_time(8);
    d.last_seen = s.opt_time(9);
    d.cert_serial = s.text(10);
    d.cert_not_after = s.opt_time(11);
    d.report = s.null(12) ? json::Json(nullptr) : parse_json_column(s.text(12));
    d.report_at = s.opt_time(13);
    return d;
  }

  Result<Device> device(std::string_view id) override {
    EF_TRY(Statement & s,
           prepare(std::string("SELECT ") + kDeviceColumns + " FROM devices WHERE id = ?"));
    ResetOnExit reset{s};
    EF_CHECK(s.bind({id}));
    EF_TRY(bool row, s.step());
    if (!row) return make_error(Errc::not_found, "no device " + std::string(id));
    return read_device(s);
  }

  Result<CheckinView> checkin_view(std::string_view id) override {
    EF_TRY(Statement & s, prepare("SELECT d.status, a.release FROM devices d LEFT JOIN "
                                  "assignments a ON a.device_id = d.id WHERE d.id = ?"));
    ResetOnExit reset{s};
    EF_CHECK(s.bind({id}));
    EF_TRY(bool row, s.step());
    if (!row) return make_error(Errc::not_found, "no device " + std::string(id));
    return make_checkin_view(id, s.text(0),
                             s.null(1) ? std::nullopt : std::optional<std::string>(s.text(1)));
  }

  Result<std::vector<Device>> devices(const DeviceFilter& f) override {
    EF_TRY(Statement & s,
           prepare(std::string("SELECT ") + kDeviceColumns +
                   " FROM devices WHERE (?1 IS NULL OR site = ?1) AND (?2 IS NULL OR cell = ?2) "
                   "AND (?3 IS NULL OR status = ?3) ORDER BY id"));
    ResetOnExit reset{s};
    const std::string status = f.status ? std::string(status_name(*f.status)) : "";
    EF_CHECK(s.bind({f.site ? Value(std::string_view(*f.site)) : Value(nullptr),
                     f.cell ? Value(std::string_view(*f.cell)) : Value(nullptr),
                     f.status ? Value(std::string_view(status)) : Value(nullptr)}));
    std::vector<Device> out;
    for (;;) {
      EF_TRY(bool row, s.step());
      if (!row) break;
      EF_TRY(auto device, read_device(s));
      out.push_back(std::move(device));
    }
    return out;
  }

  Status update_device_details(const Device& d) override {
    EF_TRY(Statement & s,
           prepare("UPDATE devices SET site = ?, cell = ?, location = ?, labels = ? WHERE id = ?"));
    const std::string labels = d.labels.dump();
    EF_CHECK(s.bind({d.site, d.cell, d.location, labels, d.id}));
    return run_one(s, "device " + d.id);
  }

  Status revoke_device(std::string_view id, UtcTime at) override {
    return in_transaction([&]() -> Status {
      EF_TRY(Statement & s,
             prepare("UPDATE devices SET status = 'revoked', revoked_at = ? WHERE id = ?"));
      EF_CHECK(s.bind({seconds(at), id}));
      EF_CHECK(run_one(s, "device " + std::string(id)));
      // Its unused enrolment tokens die with it.
      EF_TRY(Statement & t,
             prepare("DELETE FROM enrollment_tokens WHERE device_id = ? AND used_at IS NULL"));
      EF_CHECK(t.bind({id}));
      return run(t);
    });
  }

  Status save_report(std::string_view id, const json::Json& report, UtcTime at) override {
    EF_TRY(Statement & s,
           prepare("UPDATE devices SET report = ?, report_at = ?, last_seen = ? WHERE id = ?"));
    const std::string text = report.dump(-1, ' ', false, json::Json::error_handler_t::replace);
    EF_CHECK(s.bind({text, seconds(at), seconds(at), id}));
    return run_one(s, "device " + std::string(id));
  }

  Status save_last_seen(const std::vector<std::pair<std::string, UtcTime>>& seen) override {
    if (seen.empty()) return {};
    return in_transaction([&]() -> Status {
      EF_TRY(Statement & s,
             prepare("UPDATE devices SET last_seen = MAX(COALESCE(last_seen, 0), ?) WHERE id = ?"));
      for (const auto& [id, at] : seen) {
        EF_CHECK(s.bind({seconds(at), id}));
        EF_CHECK(run(s));
      }
      return {};
    });
  }

  Status add_enrollment_token(const EnrollmentToken& t) override {
    return in_transaction([&]() -> Status {
      EF_TRY(Statement & drop,
             prepare("DELETE FROM enrollment_tokens WHERE device_id = ? AND used_at IS NULL"));
      EF_CHECK(drop.bind({t.device_id}));
      EF_CHECK(run(drop));
      EF_TRY(Statement & s,
             prepare("INSERT INTO enrollment_tokens (hash, device_id, created_at, expires_at) "
                     "VALUES (?, ?, ?, ?)"));
      EF_CHECK(s.bind({t.hash, t.device_id, seconds(t.created_at), seconds(t.expires_at)}));
      return run(s);
    });
  }

  Result<EnrollmentToken> enrollment_token(std::string_view hash) override {
    EF_TRY(Statement & s, prepare("SELECT hash, device_id, created_at, expires_at, used_at FROM "
                                  "enrollment_tokens WHERE hash = ?"));
    ResetOnExit reset{s};
    EF_CHECK(s.bind({hash}));
    EF_TRY(bool row, s.step());
    if (!row) return make_error(Errc::not_found, "unknown enrollment token");
    return EnrollmentToken{s.text(0), s.text(1), from_seconds(s.integer(2)),
                           from_seconds(s.integer(3)), s.opt_time(4)};
  }

  Status complete_enrollment(std::string_view token_hash, const CertificateRecord& cert,
                             UtcTime at) override {
    return in_transaction([&]() -> Status {
      EF_TRY(Statement & use, prepare("UPDATE enrollment_tokens SET used_at = ? WHERE hash = ? AND "
                                      "device_id = ? AND used_at IS NULL"));
      EF_CHECK(use.bind({seconds(at), token_hash, cert.device_id}));
      EF_CHECK(run(use));
      if (sqlite3_changes(db_) != 1) {
        return make_error(Errc::exists, "the enrollment token has already been used");
      }
      EF_TRY(Statement & dev,
             prepare("UPDATE devices SET status = 'active', enrolled_at = ? WHERE id = ? "
                     "AND status != 'revoked'"));
      EF_CHECK(dev.bind({seconds(at), cert.device_id}));
      EF_CHECK(run_one(dev, "active device " + cert.device_id));
      return add_certificate(cert);
    });
  }

  Status add_certificate(const CertificateRecord& c) override {
    return in_transaction([&]() -> Status {
      EF_TRY(Statement & s,
             prepare("INSERT INTO certificates (serial, device_id, sha256, not_before, "
                     "not_after, issued_at) VALUES (?, ?, ?, ?, ?, ?)"));
      EF_CHECK(s.bind({c.serial_hex, c.device_id, c.sha256_hex, seconds(c.not_before),
                       seconds(c.not_after), seconds(c.issued_at)}));
      EF_CHECK(run(s));
      EF_TRY(Statement & d,
             prepare("UPDATE devices SET cert_serial = ?, cert_not_after = ? WHERE id = ?"));
      EF_CHECK(d.bind({c.serial_hex, seconds(c.not_after), c.device_id}));
      return run_one(d, "device " + c.device_id);
    });
  }

  Status set_assignment(const Assignment& a) override {
    EF_TRY(Statement & s,
           prepare("INSERT INTO assignments (device_id, release, assigned_at, assigned_by) "
                   "VALUES (?, ?, ?, ?) ON CONFLICT (device_id) DO UPDATE SET "
                   "release = excluded.release, assigned_at = excluded.assigned_at, "
                   "assigned_by = excluded.assigned_by"));
    EF_CHECK(s.bind({a.device_id, a.release, seconds(a.assigned_at), a.assigned_by}));
    return run(s);
  }

  // One prepared statement run per device: SQLite is in-process, a statement costs microseconds.
  Status set_assignments(const std::vector<std::string>& device_ids, const std::string& release,
                         UtcTime at, const std::string& assigned_by) override {
    return in_transaction([&]() -> Status {
      for (const auto& id : device_ids)
        EF_CHECK(set_assignment({id, release, at, assigned_by}));
      return {};
    });
  }

  Status clear_assignment(std::string_view device_id) override {
    EF_TRY(Statement & s, prepare("DELETE FROM assignments WHERE device_id = ?"));
    EF_CHECK(s.bind({device_id}));
    return run(s);
  }

  Result<std::optional<Assignment>> assignment(std::string_view device_id) override {
    EF_TRY(Statement & s,
           prepare("SELECT device_id, release, assigned_at, assigned_by FROM assignments "
                   "WHERE device_id = ?"));
    ResetOnExit reset{s};
    EF_CHECK(s.bind({device_id}));
    EF_TRY(bool row, s.step());
    if (!row) return std::optional<Assignment>();
    return std::optional<Assignment>(
        Assignment{s.text(0), s.text(1), from_seconds(s.integer(2)), s.text(3)});
  }

  Status add_release(const ReleaseRecord& r) override {
    EF_TRY(Statement & s,
           prepare("INSERT INTO releases (version, targets_version, epoch, bytes, files, "
                   "published_at, published_by) VALUES (?, ?, ?, ?, ?, ?, ?)"));
    EF_CHECK(s.bind({r.version, r.targets_version, r.epoch, static_cast<std::int64_t>(r.bytes),
                     static_cast<std::int64_t>(r.files), seconds(r.published_at), r.published_by}));
    auto done = s.step();
    if (!done && done.error().code == Errc::exists) {
      return make_error(Errc::exists, "release " + r.version + " is already published");
    }
    return done ? Status{} : Status(done.error());
  }

  static ReleaseRecord read_release(const Statement& s) {
    return ReleaseRecord{s.text(0),
                         s.integer(1),
                         s.integer(2),
                         static_cast<std::uint64_t>(s.integer(3)),
                         static_cast<std::uint64_t>(s.integer(4)),
                         from_seconds(s.integer(5)),
                         s.text(6)};
  }

  Status record_running(std::string_view device_id, const RunningVersion& running) override {
    EF_TRY(auto newest, running_history(device_id, 1));
    if (!newest.empty() && newest.back().release == running.release &&
        newest.back().model_version == running.model_version) {
      return {};
    }
    EF_TRY(Statement & s, prepare("INSERT INTO device_versions (device_id, since, release, "
                                  "model_version) VALUES (?, ?, ?, ?)"));
    EF_CHECK(s.bind({device_id, seconds(running.since), running.release, running.model_version}));
    return run(s);
  }

  Result<std::vector<RunningVersion>> running_history(std::string_view device_id,
                                                      std::size_t limit) override {
    EF_TRY(Statement & s, prepare("SELECT release, model_version, since FROM device_versions "
                                  "WHERE device_id = ? ORDER BY since DESC, rowid DESC LIMIT ?"));
    ResetOnExit reset{s};
    EF_CHECK(s.bind({device_id, static_cast<std::int64_t>(limit)}));
    std::vector<RunningVersion> out;
    for (;;) {
      EF_TRY(bool row, s.step());
      if (!row) break;
      out.push_back({s.text(0), s.text(1), from_seconds(s.integer(2))});
    }
    std::reverse(out.begin(), out.end());
    return out;
  }

  Result<std::uint64_t> telemetry_delivered(std::string_view device_id) override {
    EF_TRY(Statement & s, prepare("SELECT telemetry_delivered FROM devices WHERE id = ?"));
    ResetOnExit reset{s};
    EF_CHECK(s.bind({device_id}));
    EF_TRY(bool row, s.step());
    if (!row) return make_error(Errc::not_found, "device " + std::string(device_id));
    return static_cast<std::uint64_t>(s.integer(0));
  }

  Status set_telemetry_delivered(std::string_view device_id, std::uint64_t sequence) override {
    EF_TRY(Statement & s, prepare("UPDATE devices SET telemetry_delivered = "
                                  "MAX(telemetry_delivered, ?) WHERE id = ?"));
    EF_CHECK(s.bind({static_cast<std::int64_t>(sequence), device_id}));
    return run_one(s, "device " + std::string(device_id));
  }

  Result<std::vector<ReleaseRecord>> releases() override {
    EF_TRY(Statement & s,
           prepare("SELECT version, targets_version, epoch, bytes, files, published_at, "
                   "published_by FROM releases ORDER BY published_at, version"));
    ResetOnExit reset{s};
    EF_CHECK(s.bind({}));
    std::vector<ReleaseRecord> out;
    for (;;) {
      EF_TRY(bool row, s.step());
      if (!row) break;
      out.push_back(read_release(s));
    }
    return out;
  }

  Result<std::optional<ReleaseRecord>> release(std::string_view version) override {
    EF_TRY(Statement & s,
           prepare("SELECT version, targets_version, epoch, bytes, files, published_at, "
                   "published_by FROM releases WHERE version = ?"));
    ResetOnExit reset{s};
    EF_CHECK(s.bind({version}));
    EF_TRY(bool row, s.step());
    if (!row) return std::optional<ReleaseRecord>();
    return std::optional<ReleaseRecord>(read_release(s));
  }

  Status add_operator_token(const OperatorToken& t) override {
    EF_TRY(Statement & s,
           prepare("INSERT INTO operator_tokens (id, name, role, hash, created_at) VALUES "
                   "(?, ?, ?, ?, ?)"));
    EF_CHECK(s.bind({t.id, t.name, role_name(t.role), t.hash, seconds(t.created_at)}));
    return run(s);
  }

  static Result<OperatorToken> read_token(const Statement& s) {
    auto role = role_from_name(s.text(2));
    if (!role) {
      return make_error(Errc::malformed,
                        "operator_tokens row '" + s.text(0) + "': role: " + role.error().message);
    }
    return OperatorToken{s.text(0),    s.text(1), *role, s.text(3), from_seconds(s.integer(4)),
                         s.opt_time(5)};
  }

  Result<std::optional<OperatorToken>> operator_token_by_hash(std::string_view hash) override {
    EF_TRY(Statement & s,
           prepare("SELECT id, name, role, hash, created_at, revoked_at FROM operator_tokens "
                   "WHERE hash = ?"));
    ResetOnExit reset{s};
    EF_CHECK(s.bind({hash}));
    EF_TRY(bool row, s.step());
    if (!row) return std::optional<OperatorToken>();
    EF_TRY(auto token, read_token(s));
    return std::optional<OperatorToken>(std::move(token));
  }

  Result<std::vector<OperatorToken>> operator_tokens() override {
    EF_TRY(Statement & s,
           prepare("SELECT id, name, role, hash, created_at, revoked_at FROM operator_tokens "
                   "ORDER BY created_at, id"));
    ResetOnExit reset{s};
    EF_CHECK(s.bind({}));
    std::vector<OperatorToken> out;
    for (;;) {
      EF_TRY(bool row, s.step());
      if (!row) break;
      EF_TRY(auto token, read_token(s));
      out.push_back(std::move(token));
    }
    return out;
  }

  Status revoke_operator_token(std::string_view id, UtcTime at) override {
    EF_TRY(
        Statement & s,
        prepare("UPDATE operator_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL"));
    EF_CHECK(s.bind({seconds(at), id}));
    return run_one(s, "active operator token " + std::string(id));
  }

  Status append_audit(const AuditEntry& e) override {
    EF_TRY(Statement & s,
           prepare("INSERT INTO audit_log (at, actor, action, target, source, details) VALUES "
                   "(?, ?, ?, ?, ?, ?)"));
    const std::string details =
        e.details.dump(-1, ' ', false, json::Json::error_handler_t::replace);
    EF_CHECK(s.bind({seconds(e.at), e.actor, e.action, e.target, e.source, details}));
    return run(s);
  }

  Result<std::vector<AuditEntry>> audit(std::int64_t after, std::size_t limit) override {
    EF_TRY(Statement & s,
           prepare("SELECT seq, at, actor, action, target, source, details FROM audit_log "
                   "WHERE seq > ? ORDER BY seq LIMIT ?"));
    ResetOnExit reset{s};
    EF_CHECK(s.bind({after, static_cast<std::int64_t>(limit)}));
    std::vector<AuditEntry> out;
    for (;;) {
      EF_TRY(bool row, s.step());
      if (!row) break;
      AuditEntry e;
      e.seq = s.integer(0);
      e.at = from_seconds(s.integer(1));
      e.actor = s.text(2);
      e.action = s.text(3);
      e.target = s.text(4);
      e.source = s.text(5);
      e.details = parse_json_column(s.text(6));
      out.push_back(std::move(e));
    }
    return out;
  }

 private:
  Status exec(const std::string& sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
      std::string text = message ? message : sqlite3_errmsg(db_);
      sqlite3_free(message);
      return make_error(Errc::io, "database error: " + text);
    }
    return {};
  }

  Result<Statement*> prepare_ptr(const std::string& sql) {
    auto it = statements_.find(sql);
    if (it != statements_.end()) return it->second.get();
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), static_cast<int>(sql.size()), &stmt, nullptr) !=
        SQLITE_OK) {
      return make_error(Errc::internal, std::string("bad SQL: ") + sqlite3_errmsg(db_));
    }
    auto [pos, inserted] = statements_.emplace(sql, std::make_unique<Statement>(db_, stmt));
    return pos->second.get();
  }

  // A reference to a cached statement (EF_TRY binds by value, so wrap the pointer).
  Result<std::reference_wrapper<Statement>> prepare(const std::string& sql) {
    EF_TRY(Statement * s, prepare_ptr(sql));
    return std::ref(*s);
  }

  static Status run(Statement& s) {
    auto done = s.step();
    s.reset();
    return done ? Status{} : Status(done.error());
  }

  // Runs an UPDATE that must change exactly one row.
  Status run_one(Statement& s, const std::string& what) {
    EF_CHECK(run(s));
    if (sqlite3_changes(db_) != 1) return make_error(Errc::not_found, "no " + what);
    return {};
  }

  sqlite3* db_;
  std::map<std::string, std::unique_ptr<Statement>> statements_;
  int depth_ = 0;
};

}  // namespace

int sqlite_schema_version() {
  return static_cast<int>(detail::migrations().size());
}

Result<std::unique_ptr<Store>> open_sqlite_store(const std::filesystem::path& path) {
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(
      path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close_v2(db);
    return make_error(Errc::io, "cannot open the database " + path.string() + ": " + message);
  }
  auto store = std::make_unique<SqliteStore>(db);
  auto opened = store->open();
  if (!opened) return std::move(opened).error().context("opening " + path.string());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace ef::store
