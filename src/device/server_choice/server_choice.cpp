#include "device/server_choice/server_choice.hpp"

#include <algorithm>

namespace ef::server_choice {

bool server_down(long http_status) {
  return http_status == 0 || http_status >= 500;
}

ServerChoice::ServerChoice(Policy policy, Random random)
    : policy_(policy), random_(std::move(random)) {
  policy_.base = std::max(policy_.base, std::chrono::milliseconds(1));
  policy_.cap = std::max(policy_.cap, policy_.base);
}

void ServerChoice::use(std::vector<std::string> urls) {
  if (urls == urls_ || urls.empty()) return;
  urls_ = std::move(urls);
  index_ = static_cast<std::size_t>(random_() % urls_.size());
  succeeded();
}

void ServerChoice::start_at(std::size_t index) {
  if (index < urls_.size()) index_ = index;
}

std::chrono::milliseconds ServerChoice::round_cap(int round) const {
  // Doubling past 2^20 cannot stay under any sensible cap; stop shifting before overflow.
  const int doublings = std::clamp(round - 1, 0, 20);
  const auto grown = policy_.base.count() * (std::int64_t{1} << doublings);
  return std::min(policy_.cap, std::chrono::milliseconds(grown));
}

std::chrono::milliseconds ServerChoice::uniform_up_to(std::chrono::milliseconds max) {
  const auto span = static_cast<std::uint64_t>(max.count()) + 1;
  return std::chrono::milliseconds(static_cast<std::int64_t>(random_() % span));
}

std::chrono::milliseconds ServerChoice::next_server() {
  ++failures_;
  if (!urls_.empty()) index_ = (index_ + 1) % urls_.size();
  if (++tried_in_round_ < urls_.size()) return uniform_up_to(policy_.base);
  tried_in_round_ = 0;
  ++rounds_;
  return uniform_up_to(round_cap(rounds_));
}

std::chrono::milliseconds ServerChoice::same_server() {
  ++failures_;
  ++rounds_;
  tried_in_round_ = 0;
  return uniform_up_to(round_cap(rounds_));
}

void ServerChoice::succeeded() {
  failures_ = 0;
  rounds_ = 0;
  tried_in_round_ = 0;
}

std::string ServerChoice::rebase(const std::string& url) const {
  if (urls_.empty()) return url;
  for (const auto& origin : urls_) {
    if (url.size() > origin.size() && url.starts_with(origin) && url[origin.size()] == '/')
      return current() + url.substr(origin.size());
  }
  return url;
}

}  // namespace ef::server_choice
