#include "repo_sim.hpp"

#include <chrono>

namespace ef::trust::testing {

using json::Json;

RepoSim::RepoSim() {
  const UtcTime expires = test_now() + std::chrono::days(30);
  json_["root"] = root_json(1, expires, {}, true);
  json_["root"]["roles"] = Json::object();
  for (const char* role : {"root", "timestamp", "snapshot", "targets"}) {
    json_["root"]["roles"][role] = Json{{"keyids", Json::array()}, {"threshold", 1}};
    add_key(role);
  }
  json_["targets"] = targets_json(1, expires, {});
  json_["snapshot"] = snapshot_json(1, expires, {});
  json_["timestamp"] = timestamp_json(1, expires, MetaFile{1, std::nullopt, {}});
  initial_root = publish("root", false);
  publish("targets", false);
  publish("snapshot", false);
  publish("timestamp", false);
}

SigningKey RepoSim::add_key(const std::string& role) {
  SigningKey key = make_signing_key(*crypto::PrivateKey::generate_ed25519());
  json_["root"]["keys"][key.keyid] = public_key_json(key.key);
  json_["root"]["roles"][role]["keyids"].push_back(key.keyid);
  signers_[role].push_back(key);
  return key;
}

std::vector<SigningKey> RepoSim::rotate(const std::string& role, int count) {
  json_["root"]["roles"][role]["keyids"] = Json::array();
  signers_[role].clear();
  std::vector<SigningKey> keys;
  for (int i = 0; i < count; ++i)
    keys.push_back(add_key(role));
  return keys;
}

std::string RepoSim::file_name(const std::string& role, std::int64_t version) const {
  if (role == "timestamp") return "timestamp.json";
  return std::to_string(version) + "." + role + ".json";
}

std::string RepoSim::publish(const std::string& role, bool bump) {
  return publish_with(role, signers_[role], bump);
}

std::string RepoSim::publish_with(const std::string& role, const std::vector<SigningKey>& signers,
                                  bool bump) {
  Json& s = json_[role];
  if (bump && published_[role]) s["version"] = s["version"].get<std::int64_t>() + 1;
  published_[role] = true;
  std::string bytes = *sign_metadata(s, signers);
  const auto version = s["version"].get<std::int64_t>();
  source.files[file_name(role, version)] = bytes;
  if (role == "snapshot") {
    json_["timestamp"]["meta"]["snapshot.json"] = Json{{"version", version}};
  } else if (role != "root" && role != "timestamp") {
    json_["snapshot"]["meta"][role + ".json"] = Json{{"version", version}};
  }
  return bytes;
}

void RepoSim::publish_all() {
  publish("targets");
  publish("snapshot");
  publish("timestamp");
}

}  // namespace ef::trust::testing
