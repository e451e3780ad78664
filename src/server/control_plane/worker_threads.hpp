// Serving on several threads: each extra thread runs its own io_context with its own http::Server
// on the main server's port (PortSharing::shared), so the kernel spreads connections over them and
// nothing on a connection's path is shared between threads but the store's database and the few
// thread-safe objects the parallel routes use (change hub, presence, metrics, group commit).
#pragma once

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/http/router.hpp"

namespace ef::control_plane {

// A copy of router for a worker thread. Routes whose name is in `parallel` run on the worker;
// every other route's handler runs on `main` (the control plane's own thread) and its answer is
// written back on the worker, so only routes made thread-safe run in parallel. Guards run on the
// worker: they only read the store (one connection per thread).
http::Router worker_router(const http::Router& router, boost::asio::io_context& main,
                           const std::set<std::string, std::less<>>& parallel);

class WorkerThreads {
 public:
  // count io_contexts, not yet running.
  WorkerThreads(boost::asio::io_context& main, std::size_t count);
  // Joins the threads: call after stopping everything that runs on them.
  ~WorkerThreads();
  WorkerThreads(const WorkerThreads&) = delete;
  WorkerThreads& operator=(const WorkerThreads&) = delete;

  std::size_t size() const { return workers_.size(); }
  boost::asio::io_context& context(std::size_t i) { return workers_[i]->context; }

  // Runs each context on its own thread until it has nothing left to do. Until then the main
  // context keeps running too (a worker's request may still hand its work to main).
  void start();
  void join();

 private:
  using MainGuard = boost::asio::executor_work_guard<boost::asio::io_context::executor_type>;
  struct Worker {
    boost::asio::io_context context{1};
    std::optional<MainGuard> keeps_main_running;
    std::thread thread;
  };
  boost::asio::io_context& main_;
  std::vector<std::unique_ptr<Worker>> workers_;
};

}  // namespace ef::control_plane
