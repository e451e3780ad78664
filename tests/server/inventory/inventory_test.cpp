#include "server/inventory/inventory.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "../support/server_test_support.hpp"

namespace ef::inventory {
namespace {

using http::Verb;

std::size_t column(const std::string& name) {
  const auto& names = columns();
  return static_cast<std::size_t>(std::find(names.begin(), names.end(), name) - names.begin());
}

class InventoryTest : public test::StoreTest {
 protected:
  void SetUp() override {
    StoreTest::SetUp();
    add_routes(router_, *store_, presence_, settings_,
               [](http::Request&) -> std::optional<http::Response> { return std::nullopt; });
  }

  http::Response get(std::map<std::string, std::string, std::less<>> query) {
    auto r = test::make_request(Verb::get, "/api/v1/inventory");
    r.query = std::move(query);
    return test::call_route(router_, r);
  }

  device_registry::Presence presence_;
  device_registry::Settings settings_;
  http::Router router_;
};

TEST_F(InventoryTest, OneRowPerDeviceFromItsReportAndOperatorFields) {
  add_device("cam-02", "plant-a", "line-3");
  add_device("cam-01", "plant-b");
  ASSERT_TRUE(store_->save_report("cam-02",
                                  {{"installed_release", "1.2.0"},
                                   {"hardware", {{"make", "Acme"}, {"memory_bytes", 4096}}},
                                   {"runtime", {{"latency_p99_seconds", 0.0123}}}},
                                  utc_now()));
  auto table = rows(*store_, presence_, settings_, {});
  ASSERT_TRUE(table) << table.error().message;
  ASSERT_EQ(table->size(), 2u);
  EXPECT_EQ((*table)[0][column("id")], "cam-01");  // ordered by id
  const auto& row = (*table)[1];
  ASSERT_EQ(row.size(), columns().size());
  EXPECT_EQ(row[column("make")], "Acme");
  EXPECT_EQ(row[column("memory_bytes")], "4096");
  EXPECT_EQ(row[column("release")], "1.2.0");
  EXPECT_EQ(row[column("cell")], "line-3");
  EXPECT_EQ(row[column("latency_p99_ms")], "12.30");
  EXPECT_EQ(row[column("status")], "online");  // a report is a sign of life
  EXPECT_EQ((*table)[0][column("status")], "never seen");
  EXPECT_EQ(row[column("model")], "");
}

TEST_F(InventoryTest, FiltersBySiteAndCell) {
  add_device("a", "plant-a", "1");
  add_device("b", "plant-a", "2");
  add_device("c", "plant-b", "1");
  store::DeviceFilter filter;
  filter.site = "plant-a";
  EXPECT_EQ(rows(*store_, presence_, settings_, filter)->size(), 2u);
  filter.cell = "2";
  EXPECT_EQ(rows(*store_, presence_, settings_, filter)->size(), 1u);
}

TEST_F(InventoryTest, CsvDefusesFormulasAndQuotesSeparators) {
  add_device("cam-01");
  ASSERT_TRUE(store_->save_report(
      "cam-01",
      {{"hardware", {{"make", "=HYPERLINK(\"http://evil\")"}, {"model", "a,b"}, {"cpu", "@sum"}}},
       {"last_failure_reason", "line1\nline2"}},
      utc_now()));
  const auto csv = to_csv(*rows(*store_, presence_, settings_, {}));
  EXPECT_EQ(csv.rfind("id,make,model,", 0), 0u);
  EXPECT_NE(csv.find(R"x("'=HYPERLINK(""http://evil"")")x"), std::string::npos) << csv;
  EXPECT_NE(csv.find("\"a,b\""), std::string::npos);
  EXPECT_NE(csv.find("'@sum"), std::string::npos);
  EXPECT_NE(csv.find("\"line1\nline2\""), std::string::npos);
  EXPECT_EQ(csv.find(",=HYPERLINK"), std::string::npos);
}

TEST_F(InventoryTest, RouteAnswersJsonOrCsvAndRefusesOtherFormats) {
  add_device("cam-01", "plant-a");
  auto json_answer = get({});
  ASSERT_EQ(json_answer.status, 200u);
  EXPECT_EQ(test::body_of(json_answer)["devices"][0]["site"], "plant-a");
  auto csv = get({{"format", "csv"}});
  EXPECT_EQ(csv.status, 200u);
  EXPECT_EQ(csv.header("Content-Type"), "text/csv; charset=utf-8");
  EXPECT_EQ(get({{"format", "xml"}}).status, 400u);
  EXPECT_EQ(get({{"format", "csv\r\nX-Injected: 1"}}).status, 400u);
}

}  // namespace
}  // namespace ef::inventory
