#include "server/store/sqlite/migrations.hpp"

namespace ef::store::detail {

namespace {

// Times are Unix seconds (UTC). JSON columns hold compact JSON text.
constexpr std::string_view kMigrations[] = {
    // 1: devices, enrolment, certificates, pins, releases, operator tokens, audit log.
    R"sql(
CREATE TABLE devices (
  id TEXT PRIMARY KEY,
  site TEXT NOT NULL DEFAULT '',
  cell TEXT NOT NULL DEFAULT '',
  location TEXT NOT NULL DEFAULT '',
  labels TEXT NOT NULL DEFAULT '{}',
  status TEXT NOT NULL CHECK (status IN ('registered', 'active', 'revoked')),
  created_at INTEGER NOT NULL,
  enrolled_at INTEGER,
  revoked_at INTEGER,
  last_seen INTEGER,
  cert_serial TEXT NOT NULL DEFAULT '',
  cert_not_after INTEGER,
  report TEXT,
  report_at INTEGER
);
CREATE INDEX devices_site_cell ON devices (site, cell);

CREATE TABLE enrollment_tokens (
  hash TEXT PRIMARY KEY,
  device_id TEXT NOT NULL REFERENCES devices (id),
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at INTEGER
);
CREATE INDEX enrollment_tokens_device ON enrollment_tokens (device_id);

CREATE TABLE certificates (
  serial TEXT PRIMARY KEY,
  device_id TEXT NOT NULL REFERENCES devices (id),
  sha256 TEXT NOT NULL,
  not_before INTEGER NOT NULL,
  not_after INTEGER NOT NULL,
  issued_at INTEGER NOT NULL
);
CREATE INDEX certificates_device ON certificates (device_id);

CREATE TABLE assignments (
  device_id TEXT PRIMARY KEY REFERENCES devices (id),
  release TEXT NOT NULL,
  assigned_at INTEGER NOT NULL,
  assigned_by TEXT NOT NULL
);

CREATE TABLE releases (
  version TEXT PRIMARY KEY,
  targets_version INTEGER NOT NULL,
  epoch INTEGER NOT NULL,
  bytes INTEGER NOT NULL,
  files INTEGER NOT NULL,
  published_at INTEGER NOT NULL,
  published_by TEXT NOT NULL
);

CREATE TABLE operator_tokens (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('read-only', 'operator', 'admin')),
  hash TEXT NOT NULL UNIQUE,
  created_at INTEGER NOT NULL,
  revoked_at INTEGER
);

CREATE TABLE audit_log (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  at INTEGER NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  source TEXT NOT NULL,
  details TEXT NOT NULL
);
)sql",
    // 2: what each device ran when (stamps telemetry), and the telemetry it delivered.
    R"sql(
CREATE TABLE device_versions (
  device_id TEXT NOT NULL REFERENCES devices (id),
  since INTEGER NOT NULL,
  release TEXT NOT NULL,
  model_version TEXT NOT NULL
);
CREATE INDEX device_versions_device ON device_versions (device_id, since);
ALTER TABLE devices ADD COLUMN telemetry_delivered INTEGER NOT NULL DEFAULT 0;
)sql",
};

}  // namespace

std::span<const std::string_view> migrations() {
  return kMigrations;
}

}  // namespace ef::store::detail
