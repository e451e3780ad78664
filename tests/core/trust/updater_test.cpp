// The TUF client workflow against hostile repositories: each attack is refused with a clear
// error and leaves the trusted metadata folder exactly as it was.
#include "core/trust/updater.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "core/common/fs.hpp"
#include "repo_sim.hpp"

namespace ef::trust {
namespace {

namespace fs = std::filesystem;
using json::Json;
using testing::RepoSim;
using testing::test_now;

class UpdaterTest : public ::testing::Test {
 protected:
  // Also called again by tests that try several variants: a fresh repository and device each time.
  void SetUp() override {
    sim_ptr_ = std::make_unique<RepoSim>();
    dir_ = fs::temp_directory_path() /
           ("ef-updater-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    ASSERT_TRUE(init_trusted_root(dir_, sim().initial_root));
  }
  void TearDown() override { fs::remove_all(dir_); }

  UpdaterOptions options(UtcTime now = test_now()) {
    UpdaterOptions o;
    o.metadata_dir = dir_;
    o.clock = [now] { return now; };
    o.persist_clock_floor = false;
    return o;
  }
  Status refresh(UtcTime now = test_now()) {
    Updater u(options(now), sim().source);
    return u.refresh();
  }
  std::map<std::string, std::string> trusted_files() const {
    std::map<std::string, std::string> out;
    for (auto& e : fs::directory_iterator(dir_))
      out[e.path().filename()] = *read_file(e.path(), 1 << 24);
    return out;
  }
  std::int64_t trusted_version(const std::string& role) const {
    auto bytes = read_file(dir_ / (role + ".json"), 1 << 24);
    if (!bytes) return 0;
    return (*parse_envelope(*bytes, 1 << 24)).signed_json["version"].get<std::int64_t>();
  }
  // Refreshes once successfully, applies `attack` (which targets `role`), and expects the refresh
  // to fail with `code` and a message containing `words`, leaving the trusted copy of that role
  // and of every role the workflow loads after it untouched. (Roles loaded before it may move on
  // to newer, valid versions, as the specification's workflow persists each accepted file.)
  void expect_refused(const std::function<void()>& attack, Errc code, const std::string& words,
                      const std::string& role) {
    ASSERT_TRUE(refresh());
    const auto before = trusted_files();
    attack();
    auto st = refresh();
    ASSERT_FALSE(st) << "attack was accepted";
    EXPECT_EQ(st.error().code, code) << st.error().message;
    EXPECT_NE(st.error().message.find(words), std::string::npos) << st.error().message;
    const auto after = trusted_files();
    const std::vector<std::string> order{"root", "timestamp", "snapshot", "targets"};
    for (auto it = std::find(order.begin(), order.end(), role); it != order.end(); ++it) {
      const std::string file = *it + ".json";
      EXPECT_EQ(after.count(file) ? after.at(file) : "", before.count(file) ? before.at(file) : "")
          << "a refused update changed the trusted " << file;
    }
    EXPECT_EQ(after.size(), before.size()) << "a refused update added files";
  }

  RepoSim& sim() { return *sim_ptr_; }
  std::unique_ptr<RepoSim> sim_ptr_;
  fs::path dir_;
};

TEST_F(UpdaterTest, FirstRefreshFetchesInOrderAndPersistsBytesAsReceived) {
  ASSERT_TRUE(refresh());
  EXPECT_EQ(sim().source.requests, (std::vector<std::string>{"2.root.json", "timestamp.json",
                                                             "1.snapshot.json", "1.targets.json"}));
  EXPECT_EQ(*read_file(dir_ / "timestamp.json", 1 << 20), sim().source.files["timestamp.json"]);
  EXPECT_EQ(trusted_version("targets"), 1);
}

TEST_F(UpdaterTest, AcceptsNewVersions) {
  ASSERT_TRUE(refresh());
  sim().signed_json("targets")["targets"]["a.txt"] =
      Json{{"length", 1}, {"hashes", {{"sha256", std::string(64, 'a')}}}};
  sim().publish_all();
  ASSERT_TRUE(refresh());
  EXPECT_EQ(trusted_version("targets"), 2);
  Updater u(options(), sim().source);
  auto target = u.find_target("a.txt");
  ASSERT_TRUE(target) << target.error().message;
  EXPECT_EQ(target->length, 1);
  EXPECT_EQ(u.find_target("b.txt").error().code, Errc::not_found);
}

TEST_F(UpdaterTest, RefusesUnsignedMetadata) {
  expect_refused([&] { sim().publish_with("timestamp", {}); }, Errc::bad_signature,
                 "timestamp is signed by 0", "timestamp");
}

TEST_F(UpdaterTest, RefusesSignatureByUnknownKey) {
  auto stranger = make_signing_key(*crypto::PrivateKey::generate_ed25519());
  expect_refused([&] { sim().publish_with("timestamp", {stranger}); }, Errc::bad_signature,
                 "signed by 0", "timestamp");
}

TEST_F(UpdaterTest, RefusesAllZeroAndTruncatedSignatures) {
  for (int variant = 0; variant < 2; ++variant) {
    SetUp();
    expect_refused(
        [&] {
          sim().publish("timestamp");
          auto doc = Json::parse(sim().source.files["timestamp.json"]);
          std::string sig = doc["signatures"][0]["sig"];
          doc["signatures"][0]["sig"] =
              variant == 0 ? std::string(sig.size(), '0') : sig.substr(0, sig.size() - 2);
          sim().source.files["timestamp.json"] = doc.dump();
        },
        Errc::bad_signature, "signed by 0", "timestamp");
  }
}

TEST_F(UpdaterTest, RefusesBelowThreshold) {
  ASSERT_TRUE(refresh());
  sim().add_key("snapshot");
  sim().signed_json("root")["roles"]["snapshot"]["threshold"] = 2;
  sim().publish("root");
  sim().publish_all();
  ASSERT_TRUE(refresh());  // two of two snapshot keys sign
  const auto keep = sim().signers("snapshot");
  sim().signers("snapshot").pop_back();
  expect_refused([&] { sim().publish_all(); }, Errc::bad_signature,
                 "snapshot is signed by 1 of its keys, 2 required", "snapshot");
  sim().signers("snapshot") = keep;
}

TEST_F(UpdaterTest, OneKeySigningTwiceIsRefusedOutright) {
  expect_refused(
      [&] {
        sim().publish("timestamp");
        auto doc = Json::parse(sim().source.files["timestamp.json"]);
        doc["signatures"].push_back(doc["signatures"][0]);
        sim().source.files["timestamp.json"] = doc.dump();
      },
      Errc::malformed, "twice", "timestamp");
}

TEST_F(UpdaterTest, OneKeyUnderTwoKeyIdsCountsOnce) {
  ASSERT_TRUE(refresh());
  // Root lists the timestamp key again under a second key id and asks for two signatures.
  SigningKey original = sim().signers("timestamp")[0];
  SigningKey alias{std::string(64, 'e'), original.key};
  sim().signed_json("root")["keys"][alias.keyid] = public_key_json(alias.key);
  sim().signed_json("root")["roles"]["timestamp"]["keyids"].push_back(alias.keyid);
  sim().signed_json("root")["roles"]["timestamp"]["threshold"] = 2;
  sim().publish("root");
  const auto before_root = sim().source.files;
  sim().signers("timestamp").push_back(alias);
  sim().publish("timestamp");
  auto st = refresh();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::bad_signature);
  EXPECT_NE(st.error().message.find("timestamp is signed by 1 of its keys, 2 required"),
            std::string::npos)
      << st.error().message;
  EXPECT_EQ(trusted_version("root"), 2);
  EXPECT_EQ(trusted_version("timestamp"), 1);
}

TEST_F(UpdaterTest, RootRotationNeedsOldAndNewKeys) {
  for (int variant = 0; variant < 2; ++variant) {
    SetUp();
    expect_refused(
        [&] {
          const auto old_keys = sim().signers("root");
          const auto new_keys = sim().rotate("root");
          // variant 0: signed only by the old key; variant 1: only by the new one.
          sim().publish_with("root", variant == 0 ? old_keys : new_keys);
        },
        Errc::bad_signature,
        variant == 0 ? "new root (by its own keys)" : "new root (by the trusted root's keys)",
        "root");
  }
  // Signed by both, the rotation is accepted and later metadata needs only the new key.
  SetUp();
  ASSERT_TRUE(refresh());
  const auto old_keys = sim().signers("root");
  auto new_keys = sim().rotate("root");
  std::vector<SigningKey> both = old_keys;
  both.insert(both.end(), new_keys.begin(), new_keys.end());
  sim().publish_with("root", both);
  ASSERT_TRUE(refresh());
  EXPECT_EQ(trusted_version("root"), 2);
}

TEST_F(UpdaterTest, RefusesASkippedRootVersion) {
  expect_refused(
      [&] {
        sim().publish("root");  // v2
        sim().publish("root");  // v3
        sim().source.files["2.root.json"] = sim().source.files["3.root.json"];
      },
      Errc::rollback, "root version 3 does not follow trusted version 1", "root");
}

TEST_F(UpdaterTest, RootRotationsAreCapped) {
  for (int i = 0; i < 5; ++i)
    sim().publish("root");
  UpdaterOptions o = options();
  o.max_root_rotations = 3;
  Updater u(o, sim().source);
  ASSERT_TRUE(u.refresh());
  EXPECT_EQ(u.trusted().root().version, 4);
}

TEST_F(UpdaterTest, RefusesExpiredMetadata) {
  expect_refused(
      [&] {
        sim().signed_json("timestamp")["expires"] = "2030-05-01T00:00:00Z";
        sim().publish("timestamp");
      },
      Errc::expired, "timestamp metadata expired at 2030-05-01T00:00:00Z", "timestamp");
}

TEST_F(UpdaterTest, ExpiredFinalRootIsPersistedButRefreshFails) {
  ASSERT_TRUE(refresh());
  sim().signed_json("root")["expires"] = "2030-05-01T00:00:00Z";
  sim().publish("root");
  auto st = refresh();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::expired);
  EXPECT_EQ(trusted_version("root"), 2);  // spec 5.3.10: freeze check after persisting
}

TEST_F(UpdaterTest, ExpiredLocalMetadataDoesNotBlockAnUpdate) {
  ASSERT_TRUE(refresh());
  sim().publish_all();
  // Thirty-five days later the local timestamp has expired; the new one is valid until day 60.
  const UtcTime later = test_now() + std::chrono::days(35);
  sim().signed_json("root")["expires"] = format_utc(test_now() + std::chrono::days(90));
  sim().publish("root");
  for (const char* role : {"targets", "snapshot", "timestamp"}) {
    sim().signed_json(role)["expires"] = format_utc(test_now() + std::chrono::days(60));
  }
  sim().publish_all();
  ASSERT_TRUE(refresh(later));
  EXPECT_EQ(trusted_version("timestamp"), 3);
}

TEST_F(UpdaterTest, RefusesTimestampRollback) {
  ASSERT_TRUE(refresh());
  const std::string v1 = sim().source.files["timestamp.json"];
  sim().publish("timestamp");
  expect_refused([&] { sim().source.files["timestamp.json"] = v1; }, Errc::rollback,
                 "timestamp version 1 is older than trusted version 2", "timestamp");
}

TEST_F(UpdaterTest, RefusesTargetsRollbackThroughSnapshot) {
  ASSERT_TRUE(refresh());
  sim().publish_all();  // targets v2
  expect_refused(
      [&] {
        sim().signed_json("targets")["version"] = 1;
        sim().publish("targets", false);
        sim().publish("snapshot");
        sim().publish("timestamp");
      },
      Errc::rollback, "new snapshot lowers targets.json from version 2 to 1", "snapshot");
}

TEST_F(UpdaterTest, RefusesSnapshotTargetsMixAndMatch) {
  ASSERT_TRUE(refresh());
  sim().publish_all();  // snapshot v2 lists targets v2
  const std::string targets_v2 = sim().source.files["2.targets.json"];
  // A targets file validly signed, but not the one the snapshot describes (hashes listed).
  expect_refused(
      [&] {
        sim().signed_json("targets")["targets"]["evil"] =
            Json{{"length", 1}, {"hashes", {{"sha256", std::string(64, 'b')}}}};
        sim().publish("targets");  // v3
        sim().signed_json("snapshot")["meta"]["targets.json"] =
            meta_file_json(describe_metadata(sim().source.files["3.targets.json"], 3));
        sim().publish("snapshot");
        sim().publish("timestamp");
        sim().source.files["3.targets.json"] = targets_v2;  // served under the new name
      },
      Errc::mismatch, "targets", "targets");
}

TEST_F(UpdaterTest, RefusesTargetsOfAnotherVersionThanSnapshotNames) {
  ASSERT_TRUE(refresh());
  const std::string targets_v1 = sim().source.files["1.targets.json"];
  expect_refused(
      [&] {
        sim().publish_all();
        sim().source.files["2.targets.json"] = targets_v1;
      },
      Errc::mismatch, "targets version 1 is not the version snapshot names (2)", "targets");
}

TEST_F(UpdaterTest, RefusesATimestampNamingAnOlderSnapshot) {
  ASSERT_TRUE(refresh());
  sim().publish("snapshot");
  sim().publish("timestamp");  // timestamp v2 names snapshot v2
  expect_refused(
      [&] {
        sim().signed_json("timestamp")["meta"]["snapshot.json"]["version"] = 1;
        sim().publish("timestamp");
      },
      Errc::rollback, "timestamp names snapshot version 1, older than trusted version 2",
      "timestamp");
}

TEST_F(UpdaterTest, RefusesASnapshotThatDoesNotMatchTheTimestampsHash) {
  expect_refused(
      [&] {
        const std::string real = sim().publish("snapshot");  // v2
        sim().signed_json("timestamp")["meta"]["snapshot.json"] =
            meta_file_json(describe_metadata(real, 2));
        sim().publish("timestamp");
        // Another snapshot v2, validly signed and of the same length, served in its place.
        std::string other = sim().source.files["2.snapshot.json"];
        sim().signed_json("snapshot")["expires"] = "2030-06-30T00:00:00Z";
        sim().publish("snapshot", false);
        ASSERT_EQ(sim().source.files["2.snapshot.json"].size(), other.size());
      },
      Errc::mismatch, "sha256 hash differs", "snapshot");
}

TEST_F(UpdaterTest, RefusesASnapshotOfAnotherLengthThanTimestampSays) {
  expect_refused(
      [&] {
        sim().signed_json("snapshot")["padding"] = "more";
        const std::string real = sim().publish("snapshot");  // v2
        sim().signed_json("timestamp")["meta"]["snapshot.json"] =
            json::Json{{"version", 2}, {"length", real.size()}};  // length only, no hashes
        sim().publish("timestamp");
        sim().signed_json("snapshot").erase("padding");  // a shorter one is served instead
        sim().publish("snapshot", false);
      },
      Errc::mismatch, "signed metadata says", "snapshot");
}

TEST_F(UpdaterTest, RefusesDuplicateJsonKeys) {
  expect_refused(
      [&] {
        sim().publish("timestamp");
        std::string& f = sim().source.files["timestamp.json"];
        f.insert(f.find("\"signed\"") + 11, "\"version\": 99, ");
      },
      Errc::malformed, "duplicate JSON key \"version\"", "timestamp");
}

TEST_F(UpdaterTest, RefusesOversizedMetadata) {
  expect_refused(
      [&] {
        sim().signed_json("timestamp")["padding"] = std::string(kMaxTimestampBytes, 'x');
        sim().publish("timestamp");
      },
      Errc::too_large, "timestamp.json", "timestamp");
}

TEST_F(UpdaterTest, RefusesMalformedAndTruncatedMetadata) {
  for (int variant = 0; variant < 3; ++variant) {
    SetUp();
    expect_refused(
        [&] {
          sim().publish("timestamp");
          std::string& f = sim().source.files["timestamp.json"];
          if (variant == 0) f = f.substr(0, f.size() / 2);
          if (variant == 1) f = "<html>502 Bad Gateway</html>";
          if (variant == 2) f.replace(f.find("\"version\""), 9, "\"versi0n\"");
        },
        Errc::malformed, "timestamp.json", "timestamp");
  }
}

TEST_F(UpdaterTest, RefusesMetadataOfTheWrongType) {
  expect_refused(
      [&] {
        sim().publish("snapshot");
        sim().source.files["timestamp.json"] = sim().source.files["2.snapshot.json"];
      },
      Errc::malformed, "metadata type is \"snapshot\", expected \"timestamp\"", "timestamp");
}

TEST_F(UpdaterTest, ClockFloorDefeatsAClockSetBack) {
  UpdaterOptions o = options();
  o.persist_clock_floor = true;
  {
    Updater u(o, sim().source);
    ASSERT_TRUE(u.refresh());
  }
  EXPECT_EQ(*read_file(dir_ / "clock-floor", 100), "2030-06-01T00:00:00Z\n");
  // The repository publishes metadata that expired before the last good refresh; a device whose
  // clock went back a year would accept it without the floor.
  for (const char* role : {"targets", "snapshot", "timestamp"}) {
    sim().signed_json(role)["expires"] = "2030-05-01T00:00:00Z";
  }
  sim().publish_all();
  o.clock = [] { return *parse_utc("2029-06-01T00:00:00Z"); };
  Updater u(o, sim().source);
  EXPECT_EQ(u.reference_time(), test_now());
  auto st = u.refresh();
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error().code, Errc::expired);
}

TEST_F(UpdaterTest, BuildTimeIsAFloorToo) {
  UpdaterOptions o = options(*parse_utc("1970-01-02T00:00:00Z"));
  o.not_before = test_now();
  Updater u(o, sim().source);
  EXPECT_EQ(u.reference_time(), test_now());
}

TEST_F(UpdaterTest, StrictRoleNamesRefuseUnsafeDelegations) {
  using namespace std::string_literals;
  for (const std::string& name : {"../evil"s, "a/b"s, "a%2Fb"s, "a?b"s, "a#b"s, "a\0b"s}) {
    SetUp();
    RepoSim& repo = sim();
    auto key = make_signing_key(*crypto::PrivateKey::generate_ed25519());
    repo.signed_json("targets")["delegations"] =
        Json{{"keys", {{key.keyid, public_key_json(key.key)}}},
             {"roles", Json::array({Json{{"name", name},
                                         {"keyids", {key.keyid}},
                                         {"threshold", 1},
                                         {"terminating", false},
                                         {"paths", {"*"}}}})}};
    repo.signed_json(name) = targets_json(1, test_now() + std::chrono::days(30), {});
    repo.signers(name) = {key};
    repo.publish(name, false);
    repo.publish_all();
    UpdaterOptions o = options();
    o.strict_role_names = true;
    Updater u(o, repo.source);
    ASSERT_TRUE(u.refresh());
    const auto before = trusted_files();
    auto t = u.find_target("anything");
    ASSERT_FALSE(t);
    EXPECT_EQ(t.error().code, Errc::unsafe_path) << t.error().message;
    EXPECT_EQ(trusted_files(), before);
  }
}

}  // namespace
}  // namespace ef::trust
