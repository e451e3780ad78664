// The control plane's durable state, behind one interface so that the embedded SQLite backend
// (store/sqlite) and the PostgreSQL backend for replicated servers (store/postgres) are
// interchangeable; store/open picks one from the --database setting.
//
// Contract:
// - Every method either does all of its work or none of it. in_transaction() groups several calls
//   into one atomic, durable unit (an operator action and its audit entry).
// - Errors: Errc::not_found for a missing record, Errc::exists for a duplicate key or a token that
//   was consumed meanwhile, Errc::io for the database itself, Errc::network when a database server
//   could not be reached or the connection was lost (the next call reconnects).
// - A Store is used from one thread at a time (the server's event loop).
// - Secrets are never stored: tokens are kept as SHA-256 hashes.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/result.hpp"
#include "core/common/time.hpp"
#include "core/json/json.hpp"

namespace ef::store {

enum class DeviceStatus { registered, active, revoked };
std::string_view status_name(DeviceStatus status);
Result<DeviceStatus> status_from_name(std::string_view name);

struct Device {
  std::string id;
  std::string site;
  std::string cell;
  std::string location;
  json::Json labels = json::Json::object();  // string -> string, set by operators
  DeviceStatus status = DeviceStatus::registered;
  UtcTime created_at{};
  std::optional<UtcTime> enrolled_at;
  std::optional<UtcTime> revoked_at;
  std::optional<UtcTime> last_seen;
  std::string cert_serial;  // the newest certificate issued to it ("" before enrolment)
  std::optional<UtcTime> cert_not_after;
  json::Json report;  // the last state the device reported (an object), or null
  std::optional<UtcTime> report_at;
};

struct DeviceFilter {
  std::optional<std::string> site;
  std::optional<std::string> cell;
  std::optional<DeviceStatus> status;
};

struct EnrollmentToken {
  std::string hash;  // SHA-256 hex of the token
  std::string device_id;
  UtcTime created_at{};
  UtcTime expires_at{};
  std::optional<UtcTime> used_at;
};

struct CertificateRecord {
  std::string serial_hex;
  std::string device_id;
  std::string sha256_hex;
  UtcTime not_before{};
  UtcTime not_after{};
  UtcTime issued_at{};
};

// A per-device release pin: the base of desired state.
struct Assignment {
  std::string device_id;
  std::string release;
  UtcTime assigned_at{};
  std::string assigned_by;
};

// What a device's check-in needs on its hot path, read in one query: whether the device may
// connect, and the release pinned to it.
struct CheckinView {
  DeviceStatus status = DeviceStatus::registered;
  std::optional<std::string> pinned_release;
};

// A backend's row for checkin_view: an unknown status is reported as malformed, naming the device.
Result<CheckinView> make_checkin_view(std::string_view id, std::string_view status,
                                      std::optional<std::string> pinned_release);

struct ReleaseRecord {
  std::string version;
  std::int64_t targets_version = 0;  // the targets metadata version that introduced it
  std::int64_t epoch = 0;
  std::uint64_t bytes = 0;
  std::uint64_t files = 0;
  UtcTime published_at{};
  std::string published_by;
};

// What a device ran from a moment on (from its check-in reports): the server stamps the device's
// telemetry with the release and model version in effect at each sample's time.
struct RunningVersion {
  std::string release;        // "" before the first release
  std::string model_version;  // "" while no model runs
  UtcTime since{};
  friend bool operator==(const RunningVersion&, const RunningVersion&) = default;
};

enum class Role { read_only, operator_, admin };
std::string_view role_name(Role role);
Result<Role> role_from_name(std::string_view name);

struct OperatorToken {
  std::string id;    // public, short: names the token in the audit log and for revocation
  std::string name;  // who holds it
  Role role = Role::read_only;
  std::string hash;  // SHA-256 hex of the secret
  UtcTime created_at{};
  std::optional<UtcTime> revoked_at;
};

struct AuditEntry {
  std::int64_t seq = 0;  // assigned by the store, increasing
  UtcTime at{};
  std::string actor;   // "token:<id> (<name>)" or "server"
  std::string action;  // "device.add", "release.publish", ...
  std::string target;  // what it acted on
  std::string source;  // the client's address
  json::Json details = json::Json::object();
};

class Store {
 public:
  virtual ~Store() = default;

  // Runs work in one transaction: committed durably if work succeeds, rolled back otherwise.
  virtual Status in_transaction(const std::function<Status()>& work) = 0;

  virtual Status add_device(const Device& device) = 0;
  virtual Result<Device> device(std::string_view id) = 0;
  // Errc::not_found for an unknown device. Cheaper than device(): no report, labels or history.
  virtual Result<CheckinView> checkin_view(std::string_view id) = 0;
  virtual Result<std::vector<Device>> devices(const DeviceFilter& filter) = 0;
  virtual Status update_device_details(const Device& device) = 0;  // site, cell, location, labels
  virtual Status revoke_device(std::string_view id, UtcTime at) = 0;
  virtual Status save_report(std::string_view id, const json::Json& report, UtcTime at) = 0;
  virtual Status save_last_seen(const std::vector<std::pair<std::string, UtcTime>>& seen) = 0;

  // Adds a token for its device, dropping the device's earlier unused tokens.
  virtual Status add_enrollment_token(const EnrollmentToken& token) = 0;
  virtual Result<EnrollmentToken> enrollment_token(std::string_view hash) = 0;
  // Consumes the token (Errc::exists if it was used meanwhile), marks its device active and
  // records the certificate as the device's current one.
  virtual Status complete_enrollment(std::string_view token_hash, const CertificateRecord& cert,
                                     UtcTime at) = 0;
  // Records a renewed certificate as the device's current one.
  virtual Status add_certificate(const CertificateRecord& cert) = 0;

  virtual Status set_assignment(const Assignment& assignment) = 0;
  // set_assignment for each of device_ids (which must exist), in as few statements as the backend
  // allows: a pin for a whole plant is one call, not one round trip per device.
  virtual Status set_assignments(const std::vector<std::string>& device_ids,
                                 const std::string& release, UtcTime at,
                                 const std::string& assigned_by) = 0;
  virtual Status clear_assignment(std::string_view device_id) = 0;
  virtual Result<std::optional<Assignment>> assignment(std::string_view device_id) = 0;

  // Appends `running` to the device's history unless it equals the newest entry's versions.
  virtual Status record_running(std::string_view device_id, const RunningVersion& running) = 0;
  // The device's newest `limit` history entries, oldest first.
  virtual Result<std::vector<RunningVersion>> running_history(std::string_view device_id,
                                                              std::size_t limit) = 0;
  // The highest telemetry collection round the server took from the device (0: none yet), so a
  // replayed batch is recognised; set only ever raises it.
  virtual Result<std::uint64_t> telemetry_delivered(std::string_view device_id) = 0;
  virtual Status set_telemetry_delivered(std::string_view device_id, std::uint64_t sequence) = 0;

  virtual Status add_release(const ReleaseRecord& release) = 0;
  virtual Result<std::vector<ReleaseRecord>> releases() = 0;
  virtual Result<std::optional<ReleaseRecord>> release(std::string_view version) = 0;

  virtual Status add_operator_token(const OperatorToken& token) = 0;
  virtual Result<std::optional<OperatorToken>> operator_token_by_hash(std::string_view hash) = 0;
  virtual Result<std::vector<OperatorToken>> operator_tokens() = 0;
  virtual Status revoke_operator_token(std::string_view id, UtcTime at) = 0;

  virtual Status append_audit(const AuditEntry& entry) = 0;
  // Entries with seq > after, oldest first, at most limit.
  virtual Result<std::vector<AuditEntry>> audit(std::int64_t after, std::size_t limit) = 0;
};

}  // namespace ef::store
