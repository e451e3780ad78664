#include "core/trust/metadata.hpp"

#include <gtest/gtest.h>

#include "core/trust/writer.hpp"

namespace ef::trust {
namespace {

using json::Json;

Json valid_root() {
  auto key = *crypto::PrivateKey::generate_ed25519();
  const std::string id = key_id(key);
  std::map<std::string, RoleDefinition> roles;
  for (const char* r : {"root", "timestamp", "snapshot", "targets"})
    roles[r] = RoleDefinition{{public_key_json(key)}, {id}, 1};
  return root_json(1, *parse_utc("2030-01-01T00:00:00Z"), roles);
}

TEST(Metadata, ParsesAValidRoot) {
  auto root = parse_root(valid_root());
  ASSERT_TRUE(root) << root.error().message;
  EXPECT_EQ(root->version, 1);
  EXPECT_TRUE(root->consistent_snapshot);
  EXPECT_EQ(root->keys.size(), 1u);
}

TEST(Metadata, RefusesBrokenRoots) {
  struct Case {
    const char* what;
    std::function<void(Json&)> mutate;
    const char* words;
  };
  const std::vector<Case> cases = {
      {"missing version", [](Json& r) { r.erase("version"); }, "missing field \"version\""},
      {"zero version", [](Json& r) { r["version"] = 0; }, "version must be at least 1"},
      {"string version", [](Json& r) { r["version"] = "1"; }, "must be an integer"},
      {"spec 2", [](Json& r) { r["spec_version"] = "2.0.0"; }, "unsupported spec_version"},
      {"bad expiry", [](Json& r) { r["expires"] = "tomorrow"; }, "expires"},
      {"missing role", [](Json& r) { r["roles"].erase("snapshot"); },
       "does not define role \"snapshot\""},
      {"unknown role", [](Json& r) { r["roles"]["mirrors"] = r["roles"]["root"]; }, "unknown role"},
      {"zero threshold", [](Json& r) { r["roles"]["root"]["threshold"] = 0; }, "threshold"},
      {"duplicate keyid",
       [](Json& r) { r["roles"]["root"]["keyids"].push_back(r["roles"]["root"]["keyids"][0]); },
       "twice"},
      {"wrong type", [](Json& r) { r["_type"] = "targets"; }, "expected \"root\""},
      {"bad key", [](Json& r) { r["keys"].begin().value()["keyval"]["public"] = "00"; },
       "64 lower-case hex"},
  };
  for (const auto& c : cases) {
    Json r = valid_root();
    c.mutate(r);
    auto root = parse_root(r);
    ASSERT_FALSE(root) << c.what;
    EXPECT_NE(root.error().message.find(c.words), std::string::npos)
        << c.what << ": " << root.error().message;
  }
}

TEST(Metadata, UnsupportedKeyTypesCanNeverSign) {
  Json r = valid_root();
  r["keys"]["other"] =
      Json{{"keytype", "sphincs"}, {"scheme", "sphincs"}, {"keyval", {{"public", "ab"}}}};
  auto root = parse_root(r);
  ASSERT_TRUE(root);
  EXPECT_FALSE(root->keys.contains("other"));
}

TEST(Metadata, TargetsNeedLengthAndHashes) {
  Json t = targets_json(1, *parse_utc("2030-01-01T00:00:00Z"), {});
  t["targets"]["a"] = Json{{"length", -1}, {"hashes", {{"sha256", std::string(64, 'a')}}}};
  EXPECT_FALSE(parse_targets(t));
  t["targets"]["a"] = Json{{"length", 1}, {"hashes", Json::object()}};
  EXPECT_FALSE(parse_targets(t));
  t["targets"]["a"] = Json{{"length", 1}, {"hashes", {{"sha256", "XYZ"}}}};
  EXPECT_FALSE(parse_targets(t));
  t["targets"]["a"] =
      Json{{"length", 1}, {"hashes", {{"sha256", std::string(64, 'a')}}}, {"custom", {{"k", 1}}}};
  auto ok = parse_targets(t);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->targets.at("a").custom["k"], 1);
}

TEST(Metadata, TargetFileVerifiesLengthAndEveryHash) {
  TargetFile f = describe_target("a", "hello");
  EXPECT_TRUE(f.verify("hello"));
  EXPECT_EQ(f.verify("hellO").error().code, Errc::mismatch);
  EXPECT_EQ(f.verify("hello!").error().code, Errc::mismatch);
  f.hashes["md5"] = "5d41402abc4b2a76b9719d911017c592";
  EXPECT_EQ(f.verify("hello").error().code, Errc::unsupported);
}

TEST(Metadata, DelegationPathPatterns) {
  DelegatedRole role{.name = "r",
                     .paths = std::vector<std::string>{"*.md", "releases/*/*", "foo-?.tgz"}};
  EXPECT_TRUE(role.matches("README.md"));
  EXPECT_FALSE(role.matches("docs/README.md"));  // '*' does not cross '/'
  EXPECT_TRUE(role.matches("releases/x/file"));
  EXPECT_FALSE(role.matches("releases/x/y/file"));
  EXPECT_TRUE(role.matches("foo-1.tgz"));
  EXPECT_FALSE(role.matches("foo-12.tgz"));
  EXPECT_FALSE(role.matches("README.MD"));
  DelegatedRole by_hash{.name = "h", .path_hash_prefixes = std::vector<std::string>{"2c"}};
  EXPECT_TRUE(by_hash.matches("hello"));  // sha256("hello") = 2cf24d...
  EXPECT_FALSE(by_hash.matches("world"));
}

TEST(Metadata, SuccinctRolesNameTheirBins) {
  SuccinctRoles sr{.bit_length = 8, .name_prefix = "bin"};
  EXPECT_EQ(sr.role_for("hello"), "bin-2c");
  EXPECT_TRUE(sr.is_member("bin-2c"));
  EXPECT_FALSE(sr.is_member("bin-2c0"));
  EXPECT_FALSE(sr.is_member("bin-zz"));
  SuccinctRoles wide{.bit_length = 9, .name_prefix = "b"};
  EXPECT_EQ(wide.role_for("hello"), "b-059");  // 0x2cf >> ... : first 9 bits of 2cf2 = 0x059
  EXPECT_TRUE(wide.is_member("b-1ff"));
  EXPECT_FALSE(wide.is_member("b-200"));
}

TEST(Metadata, EnvelopeRefusesDuplicateSignatureKeyIds) {
  auto env = parse_envelope(
      R"({"signed": {}, "signatures": [{"keyid": "a", "sig": "00"}, {"keyid": "a", "sig": "01"}]})",
      1000);
  ASSERT_FALSE(env);
  EXPECT_NE(env.error().message.find("twice"), std::string::npos);
  EXPECT_FALSE(parse_envelope(R"({"signed": {}})", 1000));
  EXPECT_FALSE(parse_envelope(R"({"signed": [], "signatures": []})", 1000));
  auto odd =
      parse_envelope(R"({"signed": {}, "signatures": [{"keyid": "a", "sig": "xyz"}]})", 1000);
  ASSERT_TRUE(odd);
  EXPECT_TRUE(odd->signatures[0].sig.empty());  // an undecodable signature simply never verifies
}

}  // namespace
}  // namespace ef::trust
