// A Store shared by several threads: each thread that calls it works on its own connection, opened
// by `open` on that thread's first call and kept until the PerThreadStore is destroyed.
//
// Contract:
// - Each call runs on the calling thread's connection, so threads never wait for one another here
//   (the database itself still orders writers: SQLite's lock, PostgreSQL's row locks).
// - in_transaction(work) runs work on the calling thread's connection; work must not move to
//   another thread before it returns (the server's handlers never suspend inside a transaction).
// - A thread whose connection cannot be opened gets that error from each call and a new attempt
//   on its next call (a database that was down is reconnected to).
// - Thread-safe; destroy it only once no thread uses it.
#pragma once

#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "server/store/store.hpp"

namespace ef::store {

class PerThreadStore final : public Store {
 public:
  using Opener = std::function<Result<std::unique_ptr<Store>>()>;

  // `first` becomes the connection of the constructing thread.
  PerThreadStore(Opener open, std::unique_ptr<Store> first);

  // Connections opened so far, the first included.
  std::size_t connections() const;

  Status in_transaction(const std::function<Status()>& work) override;
  Status add_device(const Device& device) override;
  Result<Device> device(std::string_view id) override;
  Result<CheckinView> checkin_view(std::string_view id) override;
  Result<std::vector<Device>> devices(const DeviceFilter& filter) override;
  Status update_device_details(const Device& device) override;
  Status revoke_device(std::string_view id, UtcTime at) override;
  Status save_report(std::string_view id, const json::Json& report, UtcTime at) override;
  Status save_last_seen(const std::vector<std::pair<std::string, UtcTime>>& seen) override;
  Status add_enrollment_token(const EnrollmentToken& token) override;
  Result<EnrollmentToken> enrollment_token(std::string_view hash) override;
  Status complete_enrollment(std::string_view token_hash, const CertificateRecord& cert,
                             UtcTime at) override;
  Status add_certificate(const CertificateRecord& cert) override;
  Status set_assignment(const Assignment& assignment) override;
  Status set_assignments(const std::vector<std::string>& device_ids, const std::string& release,
                         UtcTime at, const std::string& assigned_by) override;
  Status clear_assignment(std::string_view device_id) override;
  Result<std::optional<Assignment>> assignment(std::string_view device_id) override;
  Status record_running(std::string_view device_id, const RunningVersion& running) override;
  Result<std::vector<RunningVersion>> running_history(std::string_view device_id,
                                                      std::size_t limit) override;
  Result<std::uint64_t> telemetry_delivered(std::string_view device_id) override;
  Status set_telemetry_delivered(std::string_view device_id, std::uint64_t sequence) override;
  Status add_release(const ReleaseRecord& release) override;
  Result<std::vector<ReleaseRecord>> releases() override;
  Result<std::optional<ReleaseRecord>> release(std::string_view version) override;
  Status add_operator_token(const OperatorToken& token) override;
  Result<std::optional<OperatorToken>> operator_token_by_hash(std::string_view hash) override;
  Result<std::vector<OperatorToken>> operator_tokens() override;
  Status revoke_operator_token(std::string_view id, UtcTime at) override;
  Status append_audit(const AuditEntry& entry) override;
  Result<std::vector<AuditEntry>> audit(std::int64_t after, std::size_t limit) override;

 private:
  Result<Store*> local();

  Opener open_;
  mutable std::mutex mutex_;
  std::unordered_map<std::thread::id, std::unique_ptr<Store>> by_thread_;
};

}  // namespace ef::store
