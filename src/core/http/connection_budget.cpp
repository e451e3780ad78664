#include "core/http/connection_budget.hpp"

#include <sys/resource.h>

#include <algorithm>
#include <cstring>

namespace ef::http {

std::string_view to_string(Refusal reason) {
  switch (reason) {
    case Refusal::per_source:
      return "per_source";
    case Refusal::total:
      return "total";
    case Refusal::accept_error:
      return "accept_error";
    case Refusal::header_timeout:
      return "header_timeout";
  }
  return "unknown";
}

std::shared_ptr<ConnectionBudget> ConnectionBudget::create(std::size_t max_total,
                                                           std::size_t max_per_source) {
  return std::make_shared<ConnectionBudget>(
      Passkey{}, max_total == 0 ? automatic_max_total() : max_total, max_per_source);
}

ConnectionBudget::ConnectionBudget(Passkey, std::size_t max_total, std::size_t max_per_source)
    : max_total_(max_total), max_per_source_(max_per_source) {}

std::size_t ConnectionBudget::automatic_max_total() {
  // Linux caps RLIMIT_NOFILE at fs.nr_open (1,048,576 by default); "unlimited" is taken as that.
  constexpr std::size_t kUnlimited = 1'048'576;
  constexpr std::size_t kMinReserve = 64;
  struct rlimit limit {};
  std::size_t files = kUnlimited;
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY) {
    files = static_cast<std::size_t>(limit.rlim_cur);
  }
  const std::size_t reserve = std::max(kMinReserve, files / 10);
  return files > reserve ? files - reserve : 1;
}

ConnectionBudget::Key ConnectionBudget::key_of(const boost::asio::ip::address& address) {
  Key key{};
  if (address.is_v4()) {
    const auto v4 = address.to_v4().to_bytes();
    key[10] = key[11] = 0xff;  // as ::ffff:a.b.c.d, so both spellings are one source
    std::memcpy(key.data() + 12, v4.data(), 4);
    return key;
  }
  const auto v6 = address.to_v6();
  if (v6.is_v4_mapped()) return key_of(v6.to_v4());
  const auto bytes = v6.to_bytes();
  std::memcpy(key.data(), bytes.data(), 8);  // the /64
  return key;
}

std::size_t ConnectionBudget::KeyHash::operator()(const Key& key) const noexcept {
  std::uint64_t high = 0;
  std::uint64_t low = 0;
  std::memcpy(&high, key.data(), 8);
  std::memcpy(&low, key.data() + 8, 8);
  return std::hash<std::uint64_t>{}(high ^ (low * 0x9e3779b97f4a7c15ULL));
}

ConnectionBudget::Admission ConnectionBudget::admit(
    const std::optional<boost::asio::ip::address>& source) {
  Admission out;
  std::optional<Key> key;
  if (source) key = key_of(*source);
  std::lock_guard lock(mutex_);
  if (key && max_per_source_ > 0) {
    const auto it = per_source_.find(*key);
    if (it != per_source_.end() && it->second >= max_per_source_) {
      out.refused = Refusal::per_source;
      return out;
    }
  }
  if (open_ >= max_total_) {
    out.refused = Refusal::total;
    return out;
  }
  ++open_;
  if (key) ++per_source_[*key];
  out.ticket.budget_ = shared_from_this();
  out.ticket.source_ = key;
  return out;
}

void ConnectionBudget::give_back(const std::optional<Key>& source) {
  std::lock_guard lock(mutex_);
  --open_;
  if (!source) return;
  const auto it = per_source_.find(*source);
  if (it != per_source_.end() && --it->second == 0) per_source_.erase(it);
}

std::size_t ConnectionBudget::open() const {
  std::lock_guard lock(mutex_);
  return open_;
}

std::size_t ConnectionBudget::open_from(const boost::asio::ip::address& source) const {
  const Key key = key_of(source);
  std::lock_guard lock(mutex_);
  const auto it = per_source_.find(key);
  return it == per_source_.end() ? 0 : it->second;
}

ConnectionBudget::Ticket& ConnectionBudget::Ticket::operator=(Ticket&& other) noexcept {
  if (this != &other) {
    release();
    budget_ = std::move(other.budget_);
    source_ = other.source_;
  }
  return *this;
}

void ConnectionBudget::Ticket::release() {
  if (!budget_) return;
  budget_->give_back(source_);
  budget_.reset();
}

}  // namespace ef::http
