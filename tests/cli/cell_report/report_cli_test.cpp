// `edgefleet report cells` as a process: the server's schedules and Prometheus answers come from
// a test HTTP server standing in for both, so every failure path is staged (no schedules, a
// Prometheus that is down, refuses the query or answers garbage) and the wiring checked: the
// queries sent, their time, the table and the JSON.
#include <gtest/gtest.h>

#include "core/json/json.hpp"
#include "run_command.hpp"
#include "test_http_server.hpp"

namespace {

using ef::testing::Reply;
using ef::testing::Request;
using ef::testing::run_command;

const std::string kCli = std::string(EF_BINARY_DIR) + "/apps/edgefleet/edgefleet";

const char* kSchedules = R"({"sites": {"plant-a": {"utc_offset": "+01:00", "shifts": [
    {"name": "early", "start": "06:00"}, {"name": "late", "start": "14:00"},
    {"name": "night", "start": "22:00"}]}}})";

class ReportCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_.route("/api/v1/shifts", [](const Request& r) {
      if (r.headers.count("authorization") == 0) return Reply{401, R"({"error":{}})"};
      return Reply{200, kSchedules, {{"Content-Type", "application/json"}}};
    });
  }
  ef::testing::CommandResult report(const std::string& extra) {
    return run_command(
        "env -u EDGEFLEET_CONFIG -u EDGEFLEET_PROMETHEUS_URL XDG_CONFIG_HOME=/nonexistent " + kCli +
        " report cells --server " + server_.url("") +
        " --token eft_test --at 2026-12-03T10:00:00Z " + extra);
  }
  ef::testing::TestHttpServer server_;
  ef::testing::TestHttpServer prometheus_;
};

std::string vector_answer(const std::string& results) {
  return R"({"status":"success","data":{"resultType":"vector","result":[)" + results + "]}}";
}

// plant-a line-1: 2700 passes, 300 rejects and 60 overrides so far.
const std::string kDecisions =
    std::string(
        R"({"metric":{"site":"plant-a","cell":"line-1","decision":"pass"},"value":[1,"2700"]},)") +
    R"({"metric":{"site":"plant-a","cell":"line-1","decision":"reject"},"value":[1,"300"]})";
const std::string kOverrides = R"({"metric":{"site":"plant-a","cell":"line-1"},"value":[1,"60"]})";

TEST_F(ReportCliTest, QueriesTheShiftWindowAndPrintsTableAndJson) {
  std::vector<std::string> queries;
  prometheus_.route("/api/v1/", [&](const Request& r) {
    queries.push_back(r.path);
    if (r.path.find("decisions") != std::string::npos) return Reply{200, vector_answer(kDecisions)};
    if (r.path.find("overrides") != std::string::npos) return Reply{200, vector_answer(kOverrides)};
    return Reply{200, vector_answer("")};
  });
  const auto prom = " --prometheus " + prometheus_.url("");
  auto json_run = report("--shift current -o json" + prom);
  ASSERT_EQ(json_run.exit_code, 0) << json_run.err;
  auto doc = ef::json::Json::parse(json_run.out);
  ASSERT_EQ(doc["cells"].size(), 1u);
  const auto& c = doc["cells"][0];
  EXPECT_EQ(c["shift"], "early");
  EXPECT_EQ(c["start"], "2026-12-03T05:00:00Z");  // 06:00 at UTC+1
  EXPECT_EQ(c["until"], "2026-12-03T10:00:00Z");
  EXPECT_EQ(c["decisions"], 3000.0);
  EXPECT_EQ(c["reject_rate"], 0.1);
  EXPECT_EQ(c["override_rate"], 0.02);
  EXPECT_EQ(c["decisions_per_hour"], 600.0);  // 3000 over the 5 h so far
  EXPECT_EQ(c["operator_interactions"], 0.0);
  ASSERT_EQ(queries.size(), 3u);
  EXPECT_NE(queries[0].find("time=1796292000"), std::string::npos) << queries[0];  // --at
  EXPECT_NE(queries[0].find("18000s"), std::string::npos) << queries[0];           // 5 h range
  auto table_run = report("--shift current" + prom);
  ASSERT_EQ(table_run.exit_code, 0) << table_run.err;
  EXPECT_EQ(table_run.out.rfind("SITE     CELL    SHIFT", 0), 0u) << table_run.out;
  EXPECT_NE(table_run.out.find("10.00"), std::string::npos) << table_run.out;
}

TEST_F(ReportCliTest, PrometheusFailuresAreClearErrors) {
  prometheus_.route("/api/v1/", [](const Request&) {
    return Reply{400, R"({"status":"error","errorType":"bad_data","error":"invalid parameter"})"};
  });
  auto refused = report("--shift previous --prometheus " + prometheus_.url(""));
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("Prometheus refused the query"), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find("invalid parameter"), std::string::npos) << refused.err;

  prometheus_.route("/api/v1/", [](const Request&) { return Reply{200, "<html>hello</html>"}; });
  auto garbled = report("--shift previous --prometheus " + prometheus_.url(""));
  EXPECT_EQ(garbled.exit_code, 1);
  EXPECT_NE(garbled.err.find("without a JSON object"), std::string::npos) << garbled.err;

  auto down = report("--shift previous --prometheus http://127.0.0.1:1");
  EXPECT_EQ(down.exit_code, 1);
  EXPECT_NE(down.err.find("cannot reach Prometheus at http://127.0.0.1:1"), std::string::npos)
      << down.err;

  auto nowhere = report("--shift previous");
  EXPECT_EQ(nowhere.exit_code, 1);
  EXPECT_NE(nowhere.err.find("EDGEFLEET_PROMETHEUS_URL"), std::string::npos) << nowhere.err;
}

TEST_F(ReportCliTest, ScheduleProblemsAreClearErrors) {
  prometheus_.route("/api/v1/", [](const Request&) { return Reply{200, vector_answer("")}; });
  const auto prom = " --prometheus " + prometheus_.url("");
  auto unknown = report("--shift weekend" + prom);
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("no shift \"weekend\""), std::string::npos) << unknown.err;
  auto other_site = report("--shift current --site plant-z" + prom);
  EXPECT_EQ(other_site.exit_code, 1);
  EXPECT_NE(other_site.err.find("no shift schedule for site \"plant-z\""), std::string::npos)
      << other_site.err;
  auto empty = report("--shift current" + prom);
  EXPECT_EQ(empty.exit_code, 0) << empty.err;
  EXPECT_NE(empty.out.find("no cell reported"), std::string::npos);

  server_.route("/api/v1/shifts", [](const Request&) {
    return Reply{404,
                 R"x({"error":{"code":"no_shifts","message":"start it with --shifts FILE"}})x"};
  });
  auto none = report("--shift current" + prom);
  EXPECT_EQ(none.exit_code, 1);
  EXPECT_NE(none.err.find("--shifts FILE"), std::string::npos) << none.err;

  server_.route("/api/v1/shifts", [](const Request&) {
    return Reply{200, R"({"sites": {"p": {"utc_offset": "+99:00", "shifts": []}}})"};
  });
  auto hostile = report("--shift current" + prom);
  EXPECT_EQ(hostile.exit_code, 1);
  EXPECT_NE(hostile.err.find("the server's shift schedules"), std::string::npos) << hostile.err;
}

}  // namespace
