#include "server/store/per_thread/per_thread_store.hpp"

namespace ef::store {

namespace {

// Runs call on the thread's connection, or returns why there is none.
template <typename Call>
auto on(Result<Store*> store, Call call) -> decltype(call(std::declval<Store&>())) {
  if (!store) return std::move(store).error();
  return call(**store);
}

}  // namespace

PerThreadStore::PerThreadStore(Opener open, std::unique_ptr<Store> first) : open_(std::move(open)) {
  by_thread_.emplace(std::this_thread::get_id(), std::move(first));
}

std::size_t PerThreadStore::connections() const {
  std::lock_guard lock(mutex_);
  return by_thread_.size();
}

Result<Store*> PerThreadStore::local() {
  const auto me = std::this_thread::get_id();
  {
    std::lock_guard lock(mutex_);
    if (auto it = by_thread_.find(me); it != by_thread_.end()) return it->second.get();
  }
  // Opened outside the lock: connecting may take a while, and only this thread uses the entry.
  EF_TRY(auto opened, open_());
  std::lock_guard lock(mutex_);
  auto& slot = by_thread_[me];
  slot = std::move(opened);
  return slot.get();
}

Status PerThreadStore::in_transaction(const std::function<Status()>& work) {
  return on(local(), [&](Store& s) { return s.in_transaction(work); });
}
Status PerThreadStore::add_device(const Device& device) {
  return on(local(), [&](Store& s) { return s.add_device(device); });
}
Result<Device> PerThreadStore::device(std::string_view id) {
  return on(local(), [&](Store& s) { return s.device(id); });
}
Result<CheckinView> PerThreadStore::checkin_view(std::string_view id) {
  return on(local(), [&](Store& s) { return s.checkin_view(id); });
}
Result<std::vector<Device>> PerThreadStore::devices(const DeviceFilter& filter) {
  return on(local(), [&](Store& s) { return s.devices(filter); });
}
Status PerThreadStore::update_device_details(const Device& device) {
  return on(local(), [&](Store& s) { return s.update_device_details(device); });
}
Status PerThreadStore::revoke_device(std::string_view id, UtcTime at) {
  return on(local(), [&](Store& s) { return s.revoke_device(id, at); });
}
Status PerThreadStore::save_report(std::string_view id, const json::Json& report, UtcTime at) {
  return on(local(), [&](Store& s) { return s.save_report(id, report, at); });
}
Status PerThreadStore::save_last_seen(const std::vector<std::pair<std::string, UtcTime>>& seen) {
  return on(local(), [&](Store& s) { return s.save_last_seen(seen); });
}
Status PerThreadStore::add_enrollment_token(const EnrollmentToken& token) {
  return on(local(), [&](Store& s) { return s.add_enrollment_token(token); });
}
Result<EnrollmentToken> PerThreadStore::enrollment_token(std::string_view hash) {
  return on(local(), [&](Store& s) { return s.enrollment_token(hash); });
}
Status PerThreadStore::complete_enrollment(std::string_view token_hash,
                                           const CertificateRecord& cert, UtcTime at) {
  return on(local(), [&](Store& s) { return s.complete_enrollment(token_hash, cert, at); });
}
Status PerThreadStore::add_certificate(const CertificateRecord& cert) {
  return on(local(), [&](Store& s) { return s.add_certificate(cert); });
}
Status PerThreadStore::set_assignment(const Assignment& assignment) {
  return on(local(), [&](Store& s) { return s.set_assignment(assignment); });
}
Status PerThreadStore::set_assignments(const std::vector<std::string>& device_ids,
                                       const std::string& release, UtcTime at,
                                       const std::string& assigned_by) {
  return on(local(),
            [&](Store& s) { return s.set_assignments(device_ids, release, at, assigned_by); });
}
Status PerThreadStore::clear_assignment(std::string_view device_id) {
  return on(local(), [&](Store& s) { return s.clear_assignment(device_id); });
}
Result<std::optional<Assignment>> PerThreadStore::assignment(std::string_view device_id) {
  return on(local(), [&](Store& s) { return s.assignment(device_id); });
}
Status PerThreadStore::record_running(std::string_view device_id, const RunningVersion& running) {
  return on(local(), [&](Store& s) { return s.record_running(device_id, running); });
}
Result<std::vector<RunningVersion>> PerThreadStore::running_history(std::string_view device_id,
                                                                    std::size_t limit) {
  return on(local(), [&](Store& s) { return s.running_history(device_id, limit); });
}
Result<std::uint64_t> PerThreadStore::telemetry_delivered(std::string_view device_id) {
  return on(local(), [&](Store& s) { return s.telemetry_delivered(device_id); });
}
Status PerThreadStore::set_telemetry_delivered(std::string_view device_id, std::uint64_t sequence) {
  return on(local(), [&](Store& s) { return s.set_telemetry_delivered(device_id, sequence); });
}
Status PerThreadStore::add_release(const ReleaseRecord& release) {
  return on(local(), [&](Store& s) { return s.add_release(release); });
}
Result<std::vector<ReleaseRecord>> PerThreadStore::releases() {
  return on(local(), [&](Store& s) { return s.releases(); });
}
Result<std::optional<ReleaseRecord>> PerThreadStore::release(std::string_view version) {
  return on(local(), [&](Store& s) { return s.release(version); });
}
Status PerThreadStore::add_operator_token(const OperatorToken& token) {
  return on(local(), [&](Store& s) { return s.add_operator_token(token); });
}
Result<std::optional<OperatorToken>> PerThreadStore::operator_token_by_hash(std::string_view hash) {
  return on(local(), [&](Store& s) { return s.operator_token_by_hash(hash); });
}
Result<std::vector<OperatorToken>> PerThreadStore::operator_tokens() {
  return on(local(), [&](Store& s) { return s.operator_tokens(); });
}
Status PerThreadStore::revoke_operator_token(std::string_view id, UtcTime at) {
  return on(local(), [&](Store& s) { return s.revoke_operator_token(id, at); });
}
Status PerThreadStore::append_audit(const AuditEntry& entry) {
  return on(local(), [&](Store& s) { return s.append_audit(entry); });
}
Result<std::vector<AuditEntry>> PerThreadStore::audit(std::int64_t after, std::size_t limit) {
  return on(local(), [&](Store& s) { return s.audit(after, limit); });
}

}  // namespace ef::store
