// The runtime's control and HMI APIs as a library: the routers called in-process, and the HMI
// served on 127.0.0.1 port 0 to hostile clients. A real pipeline (synthetic camera, tiny ONNX
// model) answers behind them.
#include "runtime/endpoints/endpoints.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <filesystem>
#include <thread>

#include "core/http/server.hpp"
#include "core/http_client/http_client.hpp"
#include "core/json/json.hpp"
#include "tiny_model.hpp"

namespace ef::runtime {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

class EndpointsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("ef-endpoints-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    model::testing::write_tiny_model(dir_ / "tiny-1", {.version = "tiny-1", .threshold = 0.5});
    auto model = model::Model::load(dir_ / "tiny-1");
    ASSERT_TRUE(model) << model.error().message;
    ASSERT_TRUE((*model)->warm_up(1));
    camera::SourceConfig config;
    config.fps = 100;
    auto camera = std::make_unique<camera::Camera>(std::move(*camera::make_source(config)));
    inspection::PipelineOptions options;
    options.warm_up_runs = 1;
    options.release = "r1";
    auto pipeline =
        inspection::Pipeline::create(std::move(camera), std::move(*model), registry_, options);
    ASSERT_TRUE(pipeline) << pipeline.error().message;
    pipeline_ = std::move(*pipeline);
    actions_ = std::make_unique<OperatorActions>(pipeline_->results(), registry_);
    context_ = std::make_unique<EndpointContext>(
        EndpointContext{*pipeline_, registry_, *actions_, io_, "dev-7", "127.0.0.1:1"});
    pipeline_->start();
  }
  void TearDown() override {
    if (server_) server_->stop();
    if (io_thread_.joinable()) {
      io_.stop();
      io_thread_.join();
    }
    server_.reset();
    pipeline_.reset();
    fs::remove_all(dir_);
  }

  bool wait_for(const std::function<bool()>& condition, std::chrono::milliseconds limit = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (condition()) return true;
      std::this_thread::sleep_for(5ms);
    }
    return condition();
  }
  bool wait_for_results(std::size_t n) {
    return wait_for([&] { return pipeline_->results().after(0, 1000).size() >= n; });
  }

  // Calls a route the way the server would once the request is read; nullopt when no route
  // matches (the server answers 404 or 405 then).
  std::optional<http::Response> call(const http::Router& router, http::Verb verb,
                                     const std::string& path, const std::string& body = "",
                                     std::map<std::string, std::string, std::less<>> query = {}) {
    auto match = router.match(verb, path);
    if (!match.route) return std::nullopt;
    http::Request request;
    request.method = verb;
    request.path = path;
    request.target = path;
    request.query = std::move(query);
    request.body = body;
    request.body_size = body.size();
    if (!body.empty()) request.headers.set("Content-Type", "application/json");
    std::optional<http::Response> out;
    boost::asio::co_spawn(io_, match.route->handler(request),
                          [&](std::exception_ptr error, http::Response response) {
                            if (!error) out = std::move(response);
                          });
    io_.restart();
    io_.run();
    return out;
  }

  static json::Json body_of(const http::Response& response) {
    return json::Json::parse(response.body);
  }

  // Serves the HMI API on 127.0.0.1, port 0, with the limits the runtime uses.
  std::string serve_hmi() {
    http::Limits limits;
    limits.max_body_bytes = 4 * 1024;
    limits.header_timeout = 2s;
    server_ = std::make_unique<http::Server>(io_, hmi_router(*context_), limits);
    auto port = server_->listen_tcp("127.0.0.1", 0);
    EXPECT_TRUE(port) << port.error().message;
    io_.restart();
    io_thread_ = std::thread([this] { io_.run(); });
    return "http://127.0.0.1:" + std::to_string(*port);
  }

  fs::path dir_;
  metrics::Registry registry_;
  boost::asio::io_context io_;
  std::unique_ptr<inspection::Pipeline> pipeline_;
  std::unique_ptr<OperatorActions> actions_;
  std::unique_ptr<EndpointContext> context_;
  std::unique_ptr<http::Server> server_;
  std::thread io_thread_;
};

TEST_F(EndpointsTest, HealthSaysWhyAndCarriesIntegersOnly) {
  auto router = control_router(*context_);
  ASSERT_TRUE(wait_for([&] { return pipeline_->health().healthy; }));
  auto healthy = call(router, http::Verb::get, "/v1/health");
  ASSERT_TRUE(healthy);
  EXPECT_EQ(healthy->status, 200u);
  const auto body = body_of(*healthy);
  EXPECT_EQ(body["status"], "inferring");
  EXPECT_EQ(body["device_id"], "dev-7");
  EXPECT_EQ(body["release"], "r1");
  EXPECT_TRUE(body["uptime_seconds"].is_number_integer());
  pipeline_->stop();
  auto stopped = call(router, http::Verb::get, "/v1/health");
  ASSERT_TRUE(stopped);
  EXPECT_EQ(stopped->status, 503u);
  EXPECT_EQ(body_of(*stopped)["status"], "stopped");
}

TEST_F(EndpointsTest, MetricsAndModel) {
  auto router = control_router(*context_);
  auto metrics = call(router, http::Verb::get, "/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_EQ(metrics->status, 200u);
  EXPECT_NE(metrics->body.find("edgefleet_runtime_model_info{"), std::string::npos);
  auto model = call(router, http::Verb::get, "/v1/model");
  ASSERT_TRUE(model);
  EXPECT_EQ(body_of(*model)["model_version"], "tiny-1");
  EXPECT_EQ(body_of(*model)["swap"]["state"], "idle");
}

TEST_F(EndpointsTest, SwapWaitsForTheOutcome) {
  auto router = control_router(*context_);
  model::testing::write_tiny_model(dir_ / "tiny-2", {.version = "tiny-2"});
  const std::string request = json::Json{
      {"model_dir", (dir_ / "tiny-2").string()},
      {"version", "tiny-2"},
      {"wait_s", 30}}.dump();
  auto swapped = call(router, http::Verb::post, "/v1/model/swap", request);
  ASSERT_TRUE(swapped);
  EXPECT_EQ(swapped->status, 200u) << swapped->body;
  EXPECT_EQ(body_of(*swapped)["state"], "swapped");
  EXPECT_EQ(body_of(*swapped)["new_version"], "tiny-2");

  const std::string wrong = json::Json{
      {"model_dir", (dir_ / "tiny-1").string()},
      {"version", "tiny-9"},
      {"wait_s", 30}}.dump();
  auto failed = call(router, http::Verb::post, "/v1/model/swap", wrong);
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->status, 422u);
  EXPECT_EQ(pipeline_->health().model_version, "tiny-2");
}

TEST_F(EndpointsTest, SwapRefusesBadRequests) {
  auto router = control_router(*context_);
  for (const std::string body :
       {R"({"model_dir": "relative/dir"})", R"({"model_dir": 7})", R"({"version": "x"})",
        R"({"model_dir": "/abs", "wait_s": 301})", R"({"model_dir": "/abs", "extra": 1})",
        R"({"model_dir": "/abs")", R"([1, 2])"}) {
    auto response = call(router, http::Verb::post, "/v1/model/swap", body);
    ASSERT_TRUE(response);
    EXPECT_EQ(response->status, 400u) << body;
    EXPECT_TRUE(body_of(*response)["error"]["code"].is_string()) << response->body;
  }
  EXPECT_EQ(pipeline_->swap_status().id, 0u);
}

TEST_F(EndpointsTest, ResultsPageOldestFirst) {
  auto router = hmi_router(*context_);
  ASSERT_TRUE(wait_for_results(10));
  auto page = call(router, http::Verb::get, "/v1/results", "", {{"after", "3"}, {"limit", "4"}});
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200u);
  const auto results = body_of(*page)["results"];
  ASSERT_EQ(results.size(), 4u);
  EXPECT_EQ(results[0]["sequence"], 4);
  EXPECT_EQ(results[3]["sequence"], 7);
  EXPECT_EQ(results[0]["model_version"], "tiny-1");
  for (const auto& [key, value] : std::vector<std::pair<std::string, std::string>>{
           {"after", "-1"}, {"after", "x"}, {"limit", "0"}, {"limit", "1001"}, {"limit", ""}}) {
    auto bad = call(router, http::Verb::get, "/v1/results", "", {{key, value}});
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->status, 400u) << key << "=" << value;
  }
}

TEST_F(EndpointsTest, OverrideThroughTheHmi) {
  auto router = hmi_router(*context_);
  ASSERT_TRUE(wait_for_results(5));
  const auto frame = pipeline_->results().after(1, 1).at(0);
  const std::string other = frame.decision == inspection::Decision::pass ? "reject" : "pass";
  const std::string body =
      json::Json{{"sequence", frame.sequence}, {"decision", other}, {"operator", "ana"}}.dump();
  auto done = call(router, http::Verb::post, "/v1/overrides", body);
  ASSERT_TRUE(done);
  EXPECT_EQ(done->status, 200u) << done->body;
  EXPECT_EQ(body_of(*done)["result"]["override"]["operator"], "ana");
  auto twice = call(router, http::Verb::post, "/v1/overrides", body);
  EXPECT_EQ(twice->status, 409u);
  auto gone = call(router, http::Verb::post, "/v1/overrides",
                   R"({"sequence": 999999999, "decision": "pass"})");
  EXPECT_EQ(gone->status, 404u);
  for (const std::string bad :
       {R"({"sequence": 0, "decision": "pass"})", R"({"sequence": 1, "decision": "maybe"})",
        R"({"sequence": "1", "decision": "pass"})", R"({"decision": "pass"})",
        R"({"sequence": 1, "decision": "pass", "operator": 5})", "not json", "{}"}) {
    auto refused = call(router, http::Verb::post, "/v1/overrides", bad);
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 400u) << bad;
  }
}

TEST_F(EndpointsTest, Interactions) {
  auto router = hmi_router(*context_);
  auto ok = call(router, http::Verb::post, "/v1/interactions",
                 R"({"kind": "acknowledge_alarm", "operator": "ana"})");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 204u);
  EXPECT_NE(registry_.expose().find(
                "edgefleet_runtime_operator_interactions_total{kind=\"acknowledge_alarm\"} 1"),
            std::string::npos);
  for (const std::string& bad : std::vector<std::string>{
           R"({"kind": "Not A Kind"})", R"({"kind": ""})", R"({})", R"({"kind": "a", "x": 1})",
           R"({"kind": "a", "operator": ")" + std::string(65, 'o') + R"("})"}) {
    auto refused = call(router, http::Verb::post, "/v1/interactions", bad);
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->status, 400u) << bad;
  }
}

TEST_F(EndpointsTest, HmiHasNoControlRoutes) {
  auto router = hmi_router(*context_);
  EXPECT_FALSE(call(router, http::Verb::post, "/v1/model/swap", R"({"model_dir": "/x"})"));
  EXPECT_FALSE(call(router, http::Verb::get, "/metrics"));
}

TEST_F(EndpointsTest, ServedHmiRefusesHostileRequests) {
  const std::string base = serve_hmi();
  http_client::HttpClient client;
  auto post = [&](const std::string& path, const std::string& body,
                  const std::string& type = "application/json") {
    auto response = client.request("POST", base + path, body, type);
    EXPECT_TRUE(response) << response.error().message;
    return response ? response->status : 0L;
  };
  EXPECT_EQ(post("/v1/overrides", "{\"sequence\": 1, \"decision\": "), 400);  // cut-off JSON
  EXPECT_EQ(post("/v1/overrides", "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]"),
            400);  // nested deep
  EXPECT_EQ(post("/v1/overrides", R"({"sequence": 1, "sequence": 2, "decision": "pass"})"),
            400);  // duplicate key
  EXPECT_EQ(post("/v1/overrides", "{\"pad\": \"" + std::string(5000, 'x') + "\"}"), 413);
  EXPECT_EQ(post("/v1/interactions", "{\"pad\": \"" + std::string(1 << 20, 'x') + "\"}"), 413);
  EXPECT_EQ(post("/v1/interactions", R"({"kind": "a"})", "text/plain"), 415);

  auto unknown = client.get(base + "/v1/nothing-here");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  auto traversal = client.get(base + "/v1/../../etc/passwd");
  ASSERT_TRUE(traversal);
  EXPECT_EQ(traversal->status, 404);
  auto wrong_method = client.request("DELETE", base + "/v1/results", "", "");
  ASSERT_TRUE(wrong_method);
  EXPECT_EQ(wrong_method->status, 405);

  // Still serving after all that.
  auto health = client.get(base + "/v1/health");
  ASSERT_TRUE(health);
  EXPECT_TRUE(health->status == 200 || health->status == 503);
  EXPECT_NE(health->body.find("\"device_id\":\"dev-7\""), std::string::npos);
}

}  // namespace
}  // namespace ef::runtime
