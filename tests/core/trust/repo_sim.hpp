// A TUF repository simulator for tests: keeps each role's signed JSON and signing keys, and
// "publishes" signed files into an in-memory map that an Updater fetches from.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/trust/updater.hpp"
#include "core/trust/writer.hpp"

namespace ef::trust::testing {

inline UtcTime test_now() {
  return *parse_utc("2030-06-01T00:00:00Z");
}

class MemorySource : public MetadataSource {
 public:
  Result<std::string> fetch(const std::string& name, std::uint64_t max_bytes) override {
    requests.push_back(name);
    auto it = files.find(name);
    if (it == files.end()) return make_error(Errc::not_found, name + " not found");
    if (it->second.size() > max_bytes) return make_error(Errc::too_large, name + " too large");
    return it->second;
  }
  std::map<std::string, std::string> files;
  std::vector<std::string> requests;
};

class RepoSim {
 public:
  RepoSim();

  // A fresh key for a role: added to root's role keys and to the role's signers.
  SigningKey add_key(const std::string& role);
  // Replaces all keys of role with `count` new ones (signers too); returns the new keys.
  std::vector<SigningKey> rotate(const std::string& role, int count = 1);

  // Signs role's current JSON with `signers` (default: the role's signers) and publishes it.
  // Versions go up by one per publish unless bump is false. Non-root publishes also update the
  // referring role's meta (snapshot lists targets, timestamp lists snapshot).
  std::string publish(const std::string& role, bool bump = true);
  std::string publish_with(const std::string& role, const std::vector<SigningKey>& signers,
                           bool bump = true);
  void publish_all();  // targets, snapshot, timestamp

  json::Json& signed_json(const std::string& role) { return json_[role]; }
  std::vector<SigningKey>& signers(const std::string& role) { return signers_[role]; }
  std::string file_name(const std::string& role, std::int64_t version) const;
  std::int64_t version(const std::string& role) const {
    return json_.at(role)["version"].get<std::int64_t>();
  }

  MemorySource source;
  std::string initial_root;

 private:
  std::map<std::string, json::Json> json_;
  std::map<std::string, std::vector<SigningKey>> signers_;
  std::map<std::string, bool> published_;
};

}  // namespace ef::trust::testing
