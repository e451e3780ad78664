// The control plane over real TLS on 127.0.0.1: enrollment, check-in with long-poll, pins,
// inventory, audit, operator roles, and every bad input the issue names (each gets a clear 4xx
// and changes nothing).
#include <chrono>
#include <future>

#include "fleet_fixture.hpp"
#include "server/store/open/open_store.hpp"

namespace ef::test {
namespace {

using namespace std::chrono_literals;

UtcTime now() {
  return std::chrono::time_point_cast<std::chrono::seconds>(std::chrono::system_clock::now());
}

class ControlPlaneTest : public FleetFixture {
 protected:
  // Publishes a release record directly (the repository upload path has its own tests).
  void add_release(const std::string& version) {
    auto store = store::open_store(config_.database, config_.data_dir);
    ASSERT_TRUE(store);
    ASSERT_TRUE((*store)->add_release({version, 1, 0, 10, 1, now(), "test"}));
  }
  std::string token_with_role(const std::string& role) {
    auto r = call("POST", "/api/v1/tokens", {{"name", role + " user"}, {"role", role}}, admin_);
    EXPECT_EQ(r.status, 201) << r.raw;
    return r.body.value("token", "");
  }
  std::size_t device_count() {
    return call("GET", "/api/v1/devices", nullptr, admin_).body["devices"].size();
  }
  std::size_t audit_count() {
    return call("GET", "/api/v1/audit?limit=1000", nullptr, admin_).body["entries"].size();
  }
  std::string error_code(const ApiResponse& r) { return r.body["error"].value("code", ""); }
};

TEST_F(ControlPlaneTest, FirstStartCreatesCaServerCertificateAndAnAdminToken) {
  EXPECT_EQ(admin_.rfind("eft_", 0), 0u);
  EXPECT_TRUE(fs::exists(config_.data_dir / "pki" / "ca.key"));
  EXPECT_EQ(fs::status(config_.data_dir / "pki" / "ca.key").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  // The secret itself is nowhere in the data folder.
  for (const auto& entry : fs::recursive_directory_iterator(config_.data_dir)) {
    if (!entry.is_regular_file()) continue;
    auto data = read_file(entry.path(), 64 << 20);
    ASSERT_TRUE(data);
    EXPECT_EQ(data->find(admin_), std::string::npos) << entry.path();
  }
  EXPECT_EQ(call("GET", "/healthz").status, 200);
  // A restart keeps the CA and creates no second admin token.
  const auto ca_before = *read_file(config_.data_dir / "pki" / "ca.crt", 1 << 20);
  stop();
  start();
  EXPECT_FALSE(plane_->initial_admin_token());
  EXPECT_EQ(*read_file(config_.data_dir / "pki" / "ca.crt", 1 << 20), ca_before);
  EXPECT_EQ(call("GET", "/api/v1/devices", nullptr, admin_).status, 200);
}

TEST_F(ControlPlaneTest, EnrolsADeviceWithItsOwnCsrAndChecksIn) {
  auto device = enrolled_device("cam-01", {{"site", "plant-a"}, {"cell", "line-1"}});
  auto r =
      call("POST", "/api/v1/devices/cam-01/checkin",
           {{"installed_release", "1.0.0"},
            {"agent_version", "0.3.1"},
            {"model_version", "m7"},
            {"update", {{"phase", "idle"}, {"progress", 0}}},
            {"hardware",
             {{"make", "Acme"}, {"model", "EdgeBox"}, {"serial", "SN1"}, {"memory_bytes", 4096}}}},
           "", &device);
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["device_id"], "cam-01");
  EXPECT_TRUE(r.body["release"].is_null());
  EXPECT_NE(r.body["repository"]["metadata_url"].get<std::string>().find("/repo/metadata/"),
            std::string::npos);
  const auto etag = r.headers["etag"];
  ASSERT_FALSE(etag.empty());

  // Unchanged: 304 without a body.
  auto same = call("POST", "/api/v1/devices/cam-01/checkin", json::Json::object(), "", &device,
                   {{"If-None-Match", etag}});
  EXPECT_EQ(same.status, 304);
  EXPECT_TRUE(same.raw.empty());

  auto shown = call("GET", "/api/v1/devices/cam-01", nullptr, admin_);
  EXPECT_EQ(shown.body["status"], "active");
  EXPECT_EQ(shown.body["connectivity"], "online");
  EXPECT_EQ(shown.body["report"]["hardware"]["make"], "Acme");
  EXPECT_EQ(shown.body["report"]["agent_version"], "0.3.1");
}

TEST_F(ControlPlaneTest, LongPollWakesWhenAnOperatorAssignsARelease) {
  auto device = enrolled_device("cam-01");
  add_release("2.0.0");
  auto first = call("POST", "/api/v1/devices/cam-01/checkin", json::Json::object(), "", &device);
  const auto etag = first.headers["etag"];
  auto waiting = std::async(std::launch::async, [&] {
    const auto begin = std::chrono::steady_clock::now();
    auto r = call("POST", "/api/v1/devices/cam-01/checkin?wait=20", json::Json::object(), "",
                  &device, {{"If-None-Match", etag}});
    return std::make_pair(r, std::chrono::steady_clock::now() - begin);
  });
  std::this_thread::sleep_for(300ms);
  auto assigned =
      call("POST", "/api/v1/assignments", {{"release", "2.0.0"}, {"devices", {"cam-01"}}}, admin_);
  ASSERT_EQ(assigned.status, 200) << assigned.raw;
  auto [woken, elapsed] = waiting.get();
  ASSERT_EQ(woken.status, 200) << woken.raw;
  EXPECT_EQ(woken.body["release"]["version"], "2.0.0");
  EXPECT_NE(woken.headers["etag"], etag);
  EXPECT_LT(elapsed, 20s);  // woken by the change, not by the end of the wait

  // Nothing changes: the long-poll ends with 304 when its wait is over.
  auto idle = call("POST", "/api/v1/devices/cam-01/checkin?wait=1", json::Json::object(), "",
                   &device, {{"If-None-Match", woken.headers["etag"]}});
  EXPECT_EQ(idle.status, 304);

  // Unpinning is a change too.
  EXPECT_EQ(call("DELETE", "/api/v1/devices/cam-01/assignment", nullptr, admin_).status, 204);
  auto unpinned = call("POST", "/api/v1/devices/cam-01/checkin", json::Json::object(), "", &device,
                       {{"If-None-Match", woken.headers["etag"]}});
  EXPECT_EQ(unpinned.status, 200);
  EXPECT_TRUE(unpinned.body["release"].is_null());
}

TEST_F(ControlPlaneTest, AssignBySiteAndCellSkipsRevokedDevices) {
  enrolled_device("a1", {{"site", "s"}, {"cell", "c1"}});
  enrolled_device("a2", {{"site", "s"}, {"cell", "c1"}});
  enrolled_device("b1", {{"site", "s"}, {"cell", "c2"}});
  ASSERT_EQ(call("POST", "/api/v1/devices/a2/revoke", nullptr, admin_).status, 200);
  add_release("1.1.0");
  auto r = call("POST", "/api/v1/assignments",
                {{"release", "1.1.0"}, {"site", "s"}, {"cell", "c1"}}, admin_);
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body["assigned"], json::Json({"a1"}));
  EXPECT_EQ(call("POST", "/api/v1/assignments", {{"release", "9.9.9"}, {"devices", {"a1"}}}, admin_)
                .status,
            404);
  EXPECT_EQ(call("POST", "/api/v1/assignments", {{"release", "1.1.0"}, {"devices", {"a2"}}}, admin_)
                .status,
            400);
}

TEST_F(ControlPlaneTest, RenewsItsCertificateOverMutualTls) {
  auto device = enrolled_device("cam-01");
  auto keys = device_keys("cam-01");
  auto r = call("POST", "/api/v1/devices/cam-01/certificate", {{"csr", keys.csr_pem}}, "", &device);
  ASSERT_EQ(r.status, 200) << r.raw;
  auto renewed = write_identity("cam-01-renewed", keys.key_pem, r.body["certificate"]);
  EXPECT_EQ(
      call("POST", "/api/v1/devices/cam-01/checkin", json::Json::object(), "", &renewed).status,
      200);
  EXPECT_EQ(call("GET", "/api/v1/devices/cam-01", nullptr, admin_).body["certificate"]["serial"],
            r.body["serial"]);
  // Without a client certificate there is no renewal.
  EXPECT_EQ(call("POST", "/api/v1/devices/cam-01/certificate", {{"csr", keys.csr_pem}}).status,
            401);
}

// --- bad input: enrollment ---

TEST_F(ControlPlaneTest, ReusedTokenIsRefused) {
  const auto token = add_device("cam-01");
  auto keys = device_keys("cam-01");
  const json::Json body = {{"device_id", "cam-01"}, {"token", token}, {"csr", keys.csr_pem}};
  ASSERT_EQ(call("POST", "/api/v1/enroll", body).status, 200);
  const auto serial =
      call("GET", "/api/v1/devices/cam-01", nullptr, admin_).body["certificate"]["serial"];
  auto again = call("POST", "/api/v1/enroll", body);
  EXPECT_EQ(again.status, 401);
  EXPECT_EQ(error_code(again), "token_used");
  EXPECT_EQ(call("GET", "/api/v1/devices/cam-01", nullptr, admin_).body["certificate"]["serial"],
            serial);
}

TEST_F(ControlPlaneTest, ExpiredTokenIsRefused) {
  auto added =
      call("POST", "/api/v1/devices", {{"id", "cam-01"}, {"token_ttl_seconds", 1}}, admin_);
  ASSERT_EQ(added.status, 201);
  std::this_thread::sleep_for(1100ms);
  auto keys = device_keys("cam-01");
  auto r = call(
      "POST", "/api/v1/enroll",
      {{"device_id", "cam-01"}, {"token", added.body["enrollment_token"]}, {"csr", keys.csr_pem}});
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(error_code(r), "token_expired");
  EXPECT_EQ(call("GET", "/api/v1/devices/cam-01", nullptr, admin_).body["status"], "registered");
}

TEST_F(ControlPlaneTest, TokenForAnotherDeviceIsRefused) {
  const auto token_a = add_device("cam-a");
  add_device("cam-b");
  auto keys = device_keys("cam-b");
  auto r = call("POST", "/api/v1/enroll",
                {{"device_id", "cam-b"}, {"token", token_a}, {"csr", keys.csr_pem}});
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(error_code(r), "token_for_another_device");
  // The token still works for its own device: a refusal consumed nothing.
  auto own = device_keys("cam-a");
  EXPECT_EQ(call("POST", "/api/v1/enroll",
                 {{"device_id", "cam-a"}, {"token", token_a}, {"csr", own.csr_pem}})
                .status,
            200);
}

TEST_F(ControlPlaneTest, CsrAskingForACaCertificateIsRefusedAndTheTokenSurvives) {
  const auto token = add_device("cam-01");
  // Build a CSR with basicConstraints CA:TRUE using the openssl CLI.
  const auto key = dir_ / "ca-req.key";
  const auto csr = dir_ / "ca-req.csr";
  const std::string cmd =
      "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout " +
      key.string() + " -out " + csr.string() +
      " -subj /CN=cam-01 -addext basicConstraints=critical,CA:TRUE 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  auto r = call("POST", "/api/v1/enroll",
                {{"device_id", "cam-01"}, {"token", token}, {"csr", *read_file(csr, 1 << 16)}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body["error"]["message"].get<std::string>().find("CA certificate"),
            std::string::npos);
  EXPECT_EQ(call("GET", "/api/v1/devices/cam-01", nullptr, admin_).body["status"], "registered");
  auto keys = device_keys("cam-01");
  EXPECT_EQ(call("POST", "/api/v1/enroll",
                 {{"device_id", "cam-01"}, {"token", token}, {"csr", keys.csr_pem}})
                .status,
            200);
}

TEST_F(ControlPlaneTest, CsrNamingAnotherDeviceIsRefused) {
  const auto token = add_device("cam-01");
  auto keys = device_keys("cam-99");
  auto r = call("POST", "/api/v1/enroll",
                {{"device_id", "cam-01"}, {"token", token}, {"csr", keys.csr_pem}});
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(call("GET", "/api/v1/devices/cam-01", nullptr, admin_).body["status"], "registered");
}

TEST_F(ControlPlaneTest, MalformedAndOversizedBodiesAreRefused) {
  const auto before = device_count();
  for (const std::string bad :
       {"{", "[]", "{\"id\": \"a\", \"id\": \"b\"}", "{\"id\": 5}", "\xff\xfe"}) {
    auto r = raw_call("POST", "/api/v1/devices", bad, "application/json", admin_);
    EXPECT_EQ(r.status, 400) << bad << " -> " << r.raw;
    EXPECT_TRUE(r.body.contains("error")) << bad;
  }
  EXPECT_EQ(raw_call("POST", "/api/v1/devices", "id=a", "application/x-www-form-urlencoded", admin_)
                .status,
            415);
  auto big = raw_call("POST", "/api/v1/enroll",
                      "{\"csr\": \"" + std::string(200 * 1024, 'A') + "\"}", "application/json");
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(raw_call("POST", "/api/v1/enroll", "{nope", "application/json").status, 400);
  EXPECT_EQ(device_count(), before);
}

TEST_F(ControlPlaneTest, BadDeviceIdsAreRefused) {
  for (const std::string& id :
       std::vector<std::string>{"../etc", "a/b", "", "x y", std::string(100, 'a')}) {
    EXPECT_EQ(call("POST", "/api/v1/devices", {{"id", id}}, admin_).status, 400) << id;
  }
  EXPECT_EQ(device_count(), 0u);
}

TEST_F(ControlPlaneTest, RevokedDeviceCannotEnrolCheckInOrRenew) {
  const auto token = add_device("cam-01");
  ASSERT_EQ(call("POST", "/api/v1/devices/cam-01/revoke", nullptr, admin_).status, 200);
  auto keys = device_keys("cam-01");
  auto r = call("POST", "/api/v1/enroll",
                {{"device_id", "cam-01"}, {"token", token}, {"csr", keys.csr_pem}});
  EXPECT_EQ(r.status, 401);  // revocation voided its unused token
  EXPECT_EQ(call("POST", "/api/v1/devices/cam-01/enrollment-token", nullptr, admin_).status, 409);

  auto device = enrolled_device("cam-02");
  auto waiting = std::async(std::launch::async, [&] {
    auto first = call("POST", "/api/v1/devices/cam-02/checkin", json::Json::object(), "", &device);
    return call("POST", "/api/v1/devices/cam-02/checkin?wait=30", json::Json::object(), "", &device,
                {{"If-None-Match", first.headers["etag"]}});
  });
  std::this_thread::sleep_for(300ms);
  ASSERT_EQ(call("POST", "/api/v1/devices/cam-02/revoke", nullptr, admin_).status, 200);
  auto woken = waiting.get();  // the held check-in ends at once
  EXPECT_EQ(woken.status, 403);
  EXPECT_EQ(error_code(woken), "device_revoked");
  auto after = call("POST", "/api/v1/devices/cam-02/checkin", json::Json::object(), "", &device);
  EXPECT_EQ(after.status, 403);
  EXPECT_EQ(call("POST", "/api/v1/devices/cam-02/certificate", {{"csr", keys.csr_pem}}, "", &device)
                .status,
            403);
}

TEST_F(ControlPlaneTest, FailedEnrollmentsAreRateLimited) {
  stop();
  config_.enrollment.max_failures = 3;
  start();
  add_device("cam-01");
  auto keys = device_keys("cam-01");
  const json::Json bad = {{"device_id", "cam-01"},
                          {"token", "eet_00000000000000000000000000000000"},
                          {"csr", keys.csr_pem}};
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(call("POST", "/api/v1/enroll", bad).status, 401);
  auto limited = call("POST", "/api/v1/enroll", bad);
  EXPECT_EQ(limited.status, 429);
  EXPECT_FALSE(limited.headers["retry-after"].empty());
}

// --- bad input: device authentication ---

TEST_F(ControlPlaneTest, DeviceEndpointsNeedTheRightValidCertificate) {
  auto cam1 = enrolled_device("cam-01");
  enrolled_device("cam-02");

  auto none = call("POST", "/api/v1/devices/cam-01/checkin", json::Json::object());
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(error_code(none), "client_certificate_required");

  auto other = call("POST", "/api/v1/devices/cam-02/checkin", json::Json::object(), "", &cam1);
  EXPECT_EQ(other.status, 403);
  EXPECT_EQ(error_code(other), "wrong_device");

  auto rogue_ca = pki::CertificateAuthority::create("rogue", 24h);
  auto keys = device_keys("cam-01");
  auto rogue_cert =
      rogue_ca->issue_device(*pki::parse_csr(keys.csr_pem), "cam-01", now() - 1h, now() + 1h);
  auto rogue = write_identity("rogue", keys.key_pem, rogue_cert->certificate_pem);
  auto from_rogue =
      call("POST", "/api/v1/devices/cam-01/checkin", json::Json::object(), "", &rogue);
  EXPECT_EQ(from_rogue.status, 401);
  EXPECT_EQ(error_code(from_rogue), "client_certificate_rejected");

  auto expired_cert =
      fleet_ca().issue_device(*pki::parse_csr(keys.csr_pem), "cam-01", now() - 48h, now() - 24h);
  auto expired = write_identity("expired", keys.key_pem, expired_cert->certificate_pem);
  auto from_expired =
      call("POST", "/api/v1/devices/cam-01/checkin", json::Json::object(), "", &expired);
  EXPECT_EQ(from_expired.status, 401);
  EXPECT_NE(from_expired.body["error"]["message"].get<std::string>().find("expired"),
            std::string::npos);

  // None of them touched cam-01's record.
  EXPECT_TRUE(call("GET", "/api/v1/devices/cam-01", nullptr, admin_).body["report"].is_null());
}

TEST_F(ControlPlaneTest, BadReportsAreRefusedAndStoreNothing) {
  auto device = enrolled_device("cam-01");
  ASSERT_EQ(
      call("POST", "/api/v1/devices/cam-01/checkin", {{"agent_version", "1"}}, "", &device).status,
      200);
  for (const json::Json& bad :
       {json::Json{{"agent_version", 5}}, json::Json{{"update", {{"progress", 101}}}},
        json::Json{{"update", {{"phase", "DROP TABLE"}}}}, json::Json{{"hardware", "x"}},
        json::Json{{"installed_release", std::string(100, 'v')}},
        json::Json{{"hardware", {{"memory_bytes", -1}}}}, json::Json{{"runtime", 5}},
        json::Json{{"runtime", {{"frames_per_second", "fast"}}}},
        json::Json{{"runtime", {{"frames_dropped", -1}}}},
        json::Json{{"runtime", {{"latency_p99_seconds", 1e9}}}},
        json::Json{{"runtime", {{"restarts", 1.5}}}},
        json::Json{{"last_update", {{"kind", "sideways"}}}},
        json::Json{{"last_update", {{"outcome", "maybe"}}}},
        json::Json{{"last_update", {{"release", 7}}}},
        json::Json{{"last_update", {{"downloaded_bytes", -5}}}}}) {
    auto r = call("POST", "/api/v1/devices/cam-01/checkin", bad, "", &device);
    EXPECT_EQ(r.status, 400) << bad.dump();
    EXPECT_EQ(error_code(r), "bad_report");
  }
  EXPECT_EQ(call("POST", "/api/v1/devices/cam-01/checkin?wait=x", json::Json::object(), "", &device)
                .status,
            400);
  EXPECT_EQ(call("GET", "/api/v1/devices/cam-01", nullptr, admin_).body["report"]["agent_version"],
            "1");
}

// --- bad input: operators ---

TEST_F(ControlPlaneTest, OperatorTokensNeedTheRightRole) {
  const auto reader = token_with_role("read-only");
  const auto op = token_with_role("operator");
  const auto audit_before = audit_count();

  auto anonymous = call("POST", "/api/v1/devices", {{"id", "x"}});
  EXPECT_EQ(anonymous.status, 401);
  EXPECT_FALSE(anonymous.headers["www-authenticate"].empty());
  EXPECT_EQ(call("POST", "/api/v1/devices", {{"id", "x"}}, "eft_" + std::string(64, '0')).status,
            401);
  EXPECT_EQ(call("POST", "/api/v1/devices", {{"id", "x"}}, "garbage").status, 401);
  auto denied = call("POST", "/api/v1/devices", {{"id", "x"}}, reader);
  EXPECT_EQ(denied.status, 403);
  EXPECT_EQ(error_code(denied), "forbidden");
  EXPECT_EQ(call("POST", "/api/v1/tokens", {{"name", "n"}, {"role", "admin"}}, op).status, 403);
  EXPECT_EQ(call("GET", "/api/v1/devices", nullptr, reader).status, 200);
  EXPECT_EQ(device_count(), 0u);
  EXPECT_EQ(audit_count(), audit_before);

  EXPECT_EQ(call("POST", "/api/v1/devices", {{"id", "x"}}, op).status, 201);
  // A revoked token stops at once.
  auto tokens = call("GET", "/api/v1/tokens", nullptr, admin_).body["tokens"];
  std::string op_id;
  for (const auto& t : tokens) {
    if (t["role"] == "operator") op_id = t["id"];
  }
  ASSERT_EQ(call("DELETE", "/api/v1/tokens/" + op_id, nullptr, admin_).status, 204);
  EXPECT_EQ(call("GET", "/api/v1/devices", nullptr, op).status, 401);
}

TEST_F(ControlPlaneTest, EveryOperatorActionIsAudited) {
  add_device("cam-01", {{"site", "s1"}});
  ASSERT_EQ(call("PATCH", "/api/v1/devices/cam-01", {{"location", "bay 4"}}, admin_).status, 200);
  ASSERT_EQ(call("POST", "/api/v1/devices/cam-01/revoke", nullptr, admin_).status, 200);
  auto entries = call("GET", "/api/v1/audit", nullptr, admin_).body["entries"];
  std::vector<std::string> actions;
  for (const auto& e : entries)
    actions.push_back(e["action"]);
  EXPECT_EQ(actions, (std::vector<std::string>{"token.create", "device.add", "device.update",
                                               "device.revoke"}));
  const auto& add = entries[1];
  EXPECT_EQ(add["target"], "cam-01");
  EXPECT_NE(add["actor"].get<std::string>().find("initial admin"), std::string::npos);
  EXPECT_NE(add["source"].get<std::string>().find("127.0.0.1"), std::string::npos);
  EXPECT_FALSE(add["at"].get<std::string>().empty());
}

TEST_F(ControlPlaneTest, InventoryExportsJsonAndSafeCsv) {
  auto device = enrolled_device(
      "cam-01", {{"site", "plant, north"}, {"cell", "l1"}, {"labels", {{"k", "v"}}}});
  ASSERT_EQ(call("POST", "/api/v1/devices/cam-01/checkin",
                 {{"installed_release", "1.0"},
                  {"hardware", {{"make", "=HYPERLINK(\"http://evil\")"}, {"serial", "S\"1"}}}},
                 "", &device)
                .status,
            200);
  add_device("cam-02");
  auto j = call("GET", "/api/v1/inventory", nullptr, admin_);
  ASSERT_EQ(j.status, 200);
  ASSERT_EQ(j.body["devices"].size(), 2u);
  EXPECT_EQ(j.body["devices"][0]["release"], "1.0");
  EXPECT_EQ(j.body["devices"][0]["status"], "online");
  EXPECT_EQ(j.body["devices"][1]["status"], "never seen");

  auto csv = call("GET", "/api/v1/inventory?format=csv", nullptr, admin_);
  ASSERT_EQ(csv.status, 200);
  EXPECT_EQ(csv.headers["content-type"], "text/csv; charset=utf-8");
  EXPECT_NE(csv.raw.find("\"plant, north\""), std::string::npos);
  EXPECT_NE(csv.raw.find("'=HYPERLINK"), std::string::npos);
  EXPECT_EQ(csv.raw.find(",=HYPERLINK"), std::string::npos);
  EXPECT_NE(csv.raw.find("\"S\"\"1\""), std::string::npos);
  EXPECT_EQ(call("GET", "/api/v1/inventory?format=xml", nullptr, admin_).status, 400);
}

TEST_F(ControlPlaneTest, InventoryCarriesTheRuntimeFiguresAndTheLastUpdate) {
  auto device = enrolled_device("cam-01");
  const json::Json report = {{"installed_release", "1.1.0"},
                             {"runtime",
                              {{"frames_per_second", 29.96},
                               {"latency_p99_seconds", 0.004321},
                               {"frames_processed", 12345},
                               {"frames_dropped", 0},
                               {"uptime_seconds", 61.7},
                               {"restarts", 1}}},
                             {"last_update",
                              {{"release", "1.1.0"},
                               {"kind", "model_swap"},
                               {"outcome", "committed"},
                               {"downloaded_bytes", 1048576},
                               {"duration_ms", 2345}}}};
  ASSERT_EQ(call("POST", "/api/v1/devices/cam-01/checkin", report, "", &device).status, 200);
  auto row = call("GET", "/api/v1/inventory", nullptr, admin_).body["devices"][0];
  EXPECT_EQ(row["frames_per_second"], "30.0");
  EXPECT_EQ(row["latency_p99_ms"], "4.32");
  EXPECT_EQ(row["frames_processed"], "12345");
  EXPECT_EQ(row["frames_dropped"], "0");
  EXPECT_EQ(row["runtime_uptime_seconds"], "62");
  EXPECT_EQ(row["runtime_restarts"], "1");
  EXPECT_EQ(row["last_update_release"], "1.1.0");
  EXPECT_EQ(row["last_update_kind"], "model_swap");
  EXPECT_EQ(row["last_update_outcome"], "committed");
  EXPECT_EQ(row["last_update_downloaded_bytes"], "1048576");
  EXPECT_EQ(row["last_update_duration_ms"], "2345");

  // A runtime that stopped reports null: the figures go blank rather than stay stale.
  ASSERT_EQ(
      call("POST", "/api/v1/devices/cam-01/checkin", {{"runtime", nullptr}}, "", &device).status,
      200);
  row = call("GET", "/api/v1/inventory", nullptr, admin_).body["devices"][0];
  EXPECT_EQ(row["frames_per_second"], "");
  EXPECT_EQ(row["last_update_kind"], "model_swap");
}

TEST_F(ControlPlaneTest, ServesItsOpenApiDocumentAndMetrics) {
  auto doc = call("GET", "/api/v1/openapi.yaml");
  EXPECT_EQ(doc.status, 200);
  EXPECT_EQ(doc.raw.rfind("openapi: 3", 0), 0u);
  add_device("cam-01");
  auto metrics = call("GET", "/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.raw.find(
                "edgefleet_server_http_requests_total{route=\"devices.add\",code=\"201\"} 1"),
            std::string::npos)
      << metrics.raw;
  EXPECT_NE(metrics.raw.find("edgefleet_server_devices_online"), std::string::npos);
}

}  // namespace
}  // namespace ef::test
