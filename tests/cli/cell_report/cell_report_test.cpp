#include "cli/cell_report/cell_report.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace ef::cell_report {
namespace {

constexpr std::int64_t kMidnight = 1796256000;  // 2026-12-03T00:00:00Z
constexpr std::int64_t kH = 3600;

shifts::Schedules schedules() {
  auto s = shifts::Schedules::parse(R"({
    "sites": {"plant-a": {"utc_offset": "+01:00", "shifts": [
        {"name": "early", "start": "06:00"}, {"name": "late", "start": "14:00"},
        {"name": "night", "start": "22:00"}]},
      "plant.b": {"utc_offset": "+00:00", "shifts": [{"name": "day", "start": "00:00"}]}},
    "default": {"utc_offset": "+00:00", "shifts": [
        {"name": "early", "start": "06:00"}, {"name": "late", "start": "18:00"}]}})");
  EXPECT_TRUE(s) << s.error().message;
  return *s;
}

TEST(ParseQueryAnswer, ReadsAVector) {
  auto r = parse_query_answer(200, R"({"status":"success","data":{"resultType":"vector","result":[
    {"metric":{"site":"a","cell":"c"},"value":[1796256000.5,"12.25"]},
    {"metric":{},"value":[1796256000,"NaN"]}]}})");
  ASSERT_TRUE(r) << r.error().message;
  ASSERT_EQ(r->size(), 2u);
  EXPECT_EQ((*r)[0].labels.at("cell"), "c");
  EXPECT_EQ((*r)[0].value, 12.25);
  EXPECT_TRUE(std::isnan((*r)[1].value));
}

TEST(ParseQueryAnswer, PrometheusErrorsAreQuoted) {
  auto r = parse_query_answer(
      400, R"({"status":"error","errorType":"bad_data","error":"parse error at char 5"})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, Errc::refused);
  EXPECT_NE(r.error().message.find("bad_data"), std::string::npos);
  EXPECT_NE(r.error().message.find("parse error at char 5"), std::string::npos);
}

TEST(ParseQueryAnswer, RefusesGarbledAnswers) {
  const std::vector<std::pair<long, std::string>> cases = {
      {200, ""},
      {200, "<html>proxy error</html>"},
      {502, "Bad Gateway"},
      {200, "[]"},
      {200, R"({"status":"success"})"},
      {200, R"({"data":{"resultType":"vector","result":[]}})"},
      {200, R"({"status":"success","data":{"resultType":"matrix","result":[]}})"},
      {200, R"({"status":"success","data":{"resultType":"vector","result":{}}})"},
      {200, R"({"status":"success","data":{"resultType":"vector","result":[1]}})"},
      {200, R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{}}]}})"},
      {200,
       R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":1},"value":[1,"1"]}]}})"},
      {200,
       R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,1]}]}})"},
      {200,
       R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"12abc"]}]}})"},
      {200,
       R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,""]}]}})"},
      {200,
       R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":["1","1"]}]}})"},
      {200,
       R"({"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1]}]}})"},
      {200, R"({"status":"success","status":"error","data":{"resultType":"vector","result":[]}})"},
      {500, R"({"status":"success","data":{"resultType":"vector","result":[]}})"},
      {200, R"({"status":"warming","data":{"resultType":"vector","result":[]}})"},
      {200, std::string(100, '[') + std::string(100, ']')},
  };
  for (const auto& [status, body] : cases) {
    auto r = parse_query_answer(status, body);
    EXPECT_FALSE(r) << body;
    if (!r) {
      EXPECT_EQ(r.error().code, Errc::malformed) << body;
    }
  }
}

TEST(Plan, OneGroupPerListedSiteAndOneForTheDefault) {
  const std::int64_t now = kMidnight + 10 * kH;  // plant-a (UTC+1): early since 05:00 UTC
  auto groups = plan(schedules(), "current", "", now);
  ASSERT_TRUE(groups) << groups.error().message;
  ASSERT_EQ(groups->size(), 3u);
  EXPECT_EQ((*groups)[0].selector, R"(site="plant-a")");
  EXPECT_EQ((*groups)[0].window.name, "early");
  EXPECT_EQ((*groups)[0].window.start_unix, kMidnight + 5 * kH);
  EXPECT_EQ((*groups)[0].until, now);  // running: counted up to now
  EXPECT_EQ((*groups)[1].selector, R"(site="plant.b")");
  EXPECT_EQ((*groups)[2].selector, R"(site!~"plant-a|plant\\.b")");  // the dot is literal
  EXPECT_EQ((*groups)[2].window.name, "early");
  EXPECT_EQ((*groups)[2].window.start_unix, kMidnight + 6 * kH);
}

TEST(Plan, PreviousAndNamedShiftsEndedAreCountedToTheirEnd) {
  const std::int64_t now = kMidnight + 10 * kH;
  auto previous = plan(schedules(), "previous", "plant-a", now);
  ASSERT_TRUE(previous);
  ASSERT_EQ(previous->size(), 1u);
  EXPECT_EQ((*previous)[0].window.name, "night");
  EXPECT_EQ((*previous)[0].until, kMidnight + 5 * kH);
  // "late" exists at plant-a and in the default, not at plant.b: that group is left out.
  auto late = plan(schedules(), "late", "", now);
  ASSERT_TRUE(late);
  ASSERT_EQ(late->size(), 2u);
  EXPECT_EQ((*late)[0].window.start_unix, kMidnight - 11 * kH);
  EXPECT_EQ((*late)[1].window.start_unix, kMidnight - 6 * kH);
  // A site not listed follows the default, selected by its own name.
  auto other = plan(schedules(), "current", "plant-z", now);
  ASSERT_TRUE(other);
  EXPECT_EQ((*other)[0].selector, R"(site="plant-z")");
  auto none = plan(schedules(), "weekend", "", now);
  ASSERT_FALSE(none);
  EXPECT_EQ(none.error().code, Errc::not_found);
}

TEST(Plan, SiteNamesAreQuotedInPromql) {
  auto groups = plan(schedules(), "current", R"(x"} or vector(1) or {a=")", kMidnight);
  ASSERT_TRUE(groups);
  EXPECT_EQ((*groups)[0].selector, R"(site="x\"} or vector(1) or {a=\"")");
}

TEST(Queries, RangeIsTheCountedPartOfTheWindow) {
  Group g{R"(site="a")", {"early", kMidnight, kMidnight + 8 * kH}, kMidnight + 2 * kH};
  auto q = queries(g);
  ASSERT_EQ(q.size(), 3u);
  EXPECT_EQ(
      q[0],
      R"(sum by (site, cell, decision) (increase(edgefleet_runtime_decisions_total{site="a"}[7200s])))");
  EXPECT_NE(q[1].find("edgefleet_runtime_overrides_total{site=\"a\"}[7200s]"), std::string::npos);
  EXPECT_NE(q[2].find("edgefleet_runtime_operator_interactions_total"), std::string::npos);
}

Sample sample(const std::string& site, const std::string& cell, double v,
              const std::string& decision = "") {
  Sample s{{{"site", site}, {"cell", cell}}, v};
  if (!decision.empty()) s.labels["decision"] = decision;
  return s;
}

TEST(Collect, FiguresPerCell) {
  Group g{R"(site="a")", {"early", kMidnight, kMidnight + 8 * kH}, kMidnight + 2 * kH};
  std::vector<std::int64_t> times;
  auto fake = [&](const std::string& promql, std::int64_t time) -> Result<std::vector<Sample>> {
    times.push_back(time);
    if (promql.find("decisions") != std::string::npos)
      return std::vector<Sample>{sample("a", "l1", 900, "pass"), sample("a", "l1", 100, "reject"),
                                 sample("a", "l2", 50, "pass")};
    if (promql.find("overrides") != std::string::npos)
      return std::vector<Sample>{sample("a", "l1", 25)};
    return std::vector<Sample>{sample("a", "l2", 3), Sample{{{"site", "a"}}, 99}};
  };
  auto cells = collect({g}, fake);
  ASSERT_TRUE(cells) << cells.error().message;
  EXPECT_EQ(times, std::vector<std::int64_t>(3, kMidnight + 2 * kH));
  ASSERT_EQ(cells->size(), 2u);
  const auto& l1 = (*cells)[0];
  EXPECT_EQ(l1.cell, "l1");
  EXPECT_EQ(l1.decisions, 1000);
  EXPECT_EQ(l1.rejects, 100);
  EXPECT_EQ(*l1.reject_rate(), 0.1);
  EXPECT_EQ(*l1.override_rate(), 0.025);
  EXPECT_EQ(l1.per_hour(), 500);  // 1000 decisions over the 2 h counted so far
  EXPECT_EQ(l1.interactions, 0);
  EXPECT_EQ((*cells)[1].interactions, 3);
  EXPECT_EQ((*cells)[1].rejects, 0);
  const auto json = to_json(*cells);
  EXPECT_EQ(json["cells"][0]["reject_rate"], 0.1);
  EXPECT_EQ(json["cells"][0]["running"], true);
  EXPECT_EQ(json["cells"][0]["start"], "2026-12-03T00:00:00Z");
  EXPECT_TRUE(json["cells"][1]["override_rate"].is_number());
}

TEST(Collect, ErrorsStopTheReport) {
  Group g{R"(site="a")", {"early", kMidnight, kMidnight + 8 * kH}, kMidnight + 8 * kH};
  auto down = [](const std::string&, std::int64_t) -> Result<std::vector<Sample>> {
    return make_error(Errc::network, "cannot reach Prometheus at http://x: refused");
  };
  EXPECT_EQ(collect({g}, down).error().code, Errc::network);
  auto negative = [](const std::string&, std::int64_t) -> Result<std::vector<Sample>> {
    return std::vector<Sample>{sample("a", "l1", -1, "pass")};
  };
  EXPECT_FALSE(collect({g}, negative));
  auto infinite = [](const std::string&, std::int64_t) -> Result<std::vector<Sample>> {
    return std::vector<Sample>{sample("a", "l1", HUGE_VAL, "pass")};
  };
  EXPECT_FALSE(collect({g}, infinite));
}

TEST(Table, ColumnsAlignAndEmptyRatesShowADash) {
  CellFigures busy{"plant-a",          "line-1", "early", kMidnight, kMidnight + 8 * kH,
                   kMidnight + 8 * kH, 12000,    600,     30,        4};
  CellFigures idle{"plant-a",      "l2", "early", kMidnight, kMidnight + 8 * kH,
                   kMidnight + kH, 0,    0,       0,         0};
  const auto text = table({busy, idle});
  std::vector<std::string> lines;
  for (std::size_t p = 0, e; (e = text.find('\n', p)) != std::string::npos; p = e + 1)
    lines.push_back(text.substr(p, e - p));
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[0].find("DECISIONS") + 9, lines[1].find("12000") + 5);  // right-aligned
  EXPECT_NE(lines[1].find(" 5.00 "), std::string::npos);                  // reject %
  EXPECT_NE(lines[1].find(" 1500.0 "), std::string::npos);                // per hour
  EXPECT_NE(lines[2].find("(running)"), std::string::npos);
  EXPECT_NE(lines[2].find(" - "), std::string::npos);
  EXPECT_TRUE(to_json({idle})["cells"][0]["reject_rate"].is_null());
}

}  // namespace
}  // namespace ef::cell_report
