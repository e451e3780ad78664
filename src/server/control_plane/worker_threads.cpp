#include "server/control_plane/worker_threads.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace ef::control_plane {

namespace asio = boost::asio;

namespace {

// Runs handler on main and resumes the request on its own thread with the answer.
http::Handler on_main(asio::io_context& main, http::Handler handler) {
  return
      [&main, handler = std::move(handler)](http::Request& r) -> asio::awaitable<http::Response> {
        // Named, not a temporary in the co_await: GCC 12 destroys such temporaries twice.
        auto on_main_thread = [&]() -> asio::awaitable<http::Response> {
          co_return co_await handler(r);
        };
        co_return co_await asio::co_spawn(main, std::move(on_main_thread), asio::use_awaitable);
      };
}

}  // namespace

http::Router worker_router(const http::Router& router, asio::io_context& main,
                           const std::set<std::string, std::less<>>& parallel) {
  http::Router copy;
  for (const auto& route : router.routes()) {
    const std::string& name = route.options.name.empty() ? route.pattern : route.options.name;
    auto handler = parallel.contains(name) ? route.handler : on_main(main, route.handler);
    copy.add(route.method, route.pattern, std::move(handler), route.options);
  }
  return copy;
}

WorkerThreads::WorkerThreads(asio::io_context& main, std::size_t count) : main_(main) {
  for (std::size_t i = 0; i < count; ++i)
    workers_.push_back(std::make_unique<Worker>());
}

WorkerThreads::~WorkerThreads() {
  join();
}

void WorkerThreads::start() {
  for (auto& worker : workers_) {
    worker->keeps_main_running.emplace(main_.get_executor());
    worker->thread = std::thread([w = worker.get()] {
      w->context.run();
      w->keeps_main_running.reset();
    });
  }
}

void WorkerThreads::join() {
  for (auto& worker : workers_) {
    if (worker->thread.joinable()) worker->thread.join();
  }
}

}  // namespace ef::control_plane
