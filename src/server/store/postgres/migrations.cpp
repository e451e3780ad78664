#include "server/store/postgres/migrations.hpp"

namespace ef::store::postgres_detail {

namespace {

// As in SQLite: times are Unix seconds (UTC) in BIGINT, JSON columns hold compact JSON text (not
// jsonb, which would reorder keys and renormalise numbers), so both backends answer alike.
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
  created_at BIGINT NOT NULL,
  enrolled_at BIGINT,
  revoked_at BIGINT,
  last_seen BIGINT,
  cert_serial TEXT NOT NULL DEFAULT '',
  cert_not_after BIGINT,
  report TEXT,
  report_at BIGINT
);
CREATE INDEX devices_site_cell ON devices (site, cell);

CREATE TABLE enrollment_tokens (
  hash TEXT PRIMARY KEY,
  device_id TEXT NOT NULL REFERENCES devices (id),
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL,
  used_at BIGINT
);
CREATE INDEX enrollment_tokens_device ON enrollment_tokens (device_id);

CREATE TABLE certificates (
  serial TEXT PRIMARY KEY,
  device_id TEXT NOT NULL REFERENCES devices (id),
  sha256 TEXT NOT NULL,
  not_before BIGINT NOT NULL,
  not_after BIGINT NOT NULL,
  issued_at BIGINT NOT NULL
);
CREATE INDEX certificates_device ON certificates (device_id);

CREATE TABLE assignments (
  device_id TEXT PRIMARY KEY REFERENCES devices (id),
  release TEXT NOT NULL,
  assigned_at BIGINT NOT NULL,
  assigned_by TEXT NOT NULL
);

CREATE TABLE releases (
  version TEXT PRIMARY KEY,
  targets_version BIGINT NOT NULL,
  epoch BIGINT NOT NULL,
  bytes BIGINT NOT NULL,
  files BIGINT NOT NULL,
  published_at BIGINT NOT NULL,
  published_by TEXT NOT NULL
);

CREATE TABLE operator_tokens (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  role TEXT NOT NULL CHECK (role IN ('read-only', 'operator', 'admin')),
  hash TEXT NOT NULL UNIQUE,
  created_at BIGINT NOT NULL,
  revoked_at BIGINT
);

CREATE TABLE audit_log (
  seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at BIGINT NOT NULL,
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target TEXT NOT NULL,
  source TEXT NOT NULL,
  details TEXT NOT NULL
);
)sql",
    // 2: what each device ran when (stamps telemetry), and the telemetry it delivered. id stands
    // in for SQLite's rowid: the insertion order among entries of the same second.
    R"sql(
CREATE TABLE device_versions (
  id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  device_id TEXT NOT NULL REFERENCES devices (id),
  since BIGINT NOT NULL,
  release TEXT NOT NULL,
  model_version TEXT NOT NULL
);
CREATE INDEX device_versions_device ON device_versions (device_id, since);
ALTER TABLE devices ADD COLUMN telemetry_delivered BIGINT NOT NULL DEFAULT 0;
)sql",
};

}  // namespace

std::span<const std::string_view> migrations() {
  return kMigrations;
}

}  // namespace ef::store::postgres_detail
