#include "server/store/postgres_listener/change_listener.hpp"

#include <libpq-fe.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <random>

#include "core/pki/pki.hpp"
#include "server/store/postgres/postgres_store.hpp"

namespace ef::store {

namespace {

using Clock = std::chrono::steady_clock;

std::string one_line(const char* message) {
  std::string text(message ? message : "");
  std::replace(text.begin(), text.end(), '\n', ' ');
  while (!text.empty() && text.back() == ' ')
    text.pop_back();
  return text;
}

// A wait of between half and all of backoff: replicas that lost the database together do not
// all come back in the same instant.
std::chrono::milliseconds jittered(std::chrono::milliseconds backoff) {
  thread_local std::minstd_rand random(std::random_device{}());
  std::uniform_int_distribution<std::int64_t> pick(backoff.count() / 2, backoff.count());
  return std::chrono::milliseconds(pick(random));
}

}  // namespace

ChangeListener::ChangeListener(std::string conninfo, Callbacks callbacks, Options options)
    : conninfo_(std::move(conninfo)), callbacks_(std::move(callbacks)), options_(options) {}

Result<std::unique_ptr<ChangeListener>> ChangeListener::start(std::string conninfo,
                                                              Callbacks callbacks,
                                                              Options options) {
  std::unique_ptr<ChangeListener> listener(
      new ChangeListener(std::move(conninfo), std::move(callbacks), options));
  listener->stop_fd_ = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (listener->stop_fd_ < 0) {
    return make_error(Errc::io, std::string("cannot create an eventfd: ") + std::strerror(errno));
  }
  auto conn = listener->connect();
  if (!conn) return std::move(conn).error().context("listening for desired-state changes");
  listener->conn_ = *conn;
  listener->thread_ = std::thread([l = listener.get()] { l->run(); });
  return listener;
}

ChangeListener::~ChangeListener() {
  stop();
  PQfinish(conn_);
  if (stop_fd_ >= 0) ::close(stop_fd_);
}

void ChangeListener::stop() {
  if (!thread_.joinable()) return;
  const std::uint64_t one = 1;
  (void)!::write(stop_fd_, &one, sizeof one);
  thread_.join();
}

ChangeListener::Stats ChangeListener::stats() const {
  return {delivered_.load(), ignored_.load(), reconnects_.load()};
}

ChangeListener::Wake ChangeListener::wait_for(int fd, short events,
                                              std::optional<Clock::time_point> deadline) const {
  // poll() skips an entry whose fd is negative: with fd -1 this is a stoppable sleep.
  pollfd fds[2] = {{stop_fd_, POLLIN, 0}, {fd, events, 0}};
  for (;;) {
    int timeout = -1;
    if (deadline) {
      const auto left = std::chrono::ceil<std::chrono::milliseconds>(*deadline - Clock::now());
      if (left.count() <= 0) return Wake::timed_out;
      timeout = static_cast<int>(std::min<std::int64_t>(left.count(), 60'000));
    }
    const int n = ::poll(fds, 2, timeout);
    if (n < 0 && errno != EINTR) return Wake::stopped;  // cannot wait at all: end the thread
    if (n <= 0) continue;
    if (fds[0].revents != 0) return Wake::stopped;
    if (fds[1].revents != 0) return Wake::ready;
  }
}

// Connects without blocking (PQconnectStartParams), so that stop() is heard meanwhile.
Result<pg_conn*> ChangeListener::connect() {
  // Earlier keywords are defaults the URL may override. Keepalives: a database host that vanishes
  // without closing the TCP connection is noticed within about a minute, not hours.
  const char* keywords[] = {"fallback_application_name",
                            "keepalives",
                            "keepalives_idle",
                            "keepalives_interval",
                            "keepalives_count",
                            "dbname",
                            nullptr};
  const char* values[] = {"edgefleet-listener", "1", "30", "10", "3", conninfo_.c_str(), nullptr};
  pg_conn* conn = PQconnectStartParams(keywords, values, /*expand_dbname=*/1);
  if (conn == nullptr) return make_error(Errc::network, "cannot connect to PostgreSQL: no memory");
  const auto deadline = Clock::now() + options_.connect_timeout;
  auto fail = [&](Errc code, const std::string& why) -> Result<pg_conn*> {
    PQfinish(conn);
    return make_error(code, "cannot connect to PostgreSQL: " + why);
  };
  for (auto state = PGRES_POLLING_WRITING; state != PGRES_POLLING_OK;) {
    if (state == PGRES_POLLING_FAILED || PQstatus(conn) == CONNECTION_BAD) {
      return fail(Errc::network, one_line(PQerrorMessage(conn)));
    }
    const auto wake =
        wait_for(PQsocket(conn), state == PGRES_POLLING_READING ? POLLIN : POLLOUT, deadline);
    if (wake == Wake::stopped) return fail(Errc::closed, "stopped");
    if (wake == Wake::timed_out) return fail(Errc::timeout, "timed out");
    state = PQconnectPoll(conn);
  }
  // The server's farewell when it ends the session ("FATAL: terminating connection") comes as a
  // notice: the loss is handled (on_resync), keep it off stderr.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  if (auto listening = listen(conn, deadline); !listening) {
    return fail(listening.error().code, listening.error().message);
  }
  return conn;
}

Status ChangeListener::listen(pg_conn* conn, Clock::time_point deadline) {
  const std::string sql = "LISTEN " + std::string(kDesiredStateChannel);
  if (PQsendQuery(conn, sql.c_str()) != 1) {
    return make_error(Errc::network, one_line(PQerrorMessage(conn)));
  }
  while (PQisBusy(conn) == 1) {
    const auto wake = wait_for(PQsocket(conn), POLLIN, deadline);
    if (wake == Wake::stopped) return make_error(Errc::closed, "stopped");
    if (wake == Wake::timed_out) return make_error(Errc::timeout, "LISTEN timed out");
    if (PQconsumeInput(conn) != 1) return make_error(Errc::network, one_line(PQerrorMessage(conn)));
  }
  Status status;
  while (pg_result* result = PQgetResult(conn)) {
    if (PQresultStatus(result) != PGRES_COMMAND_OK && status) {
      status = make_error(Errc::io, "LISTEN failed: " + one_line(PQresultErrorMessage(result)));
    }
    PQclear(result);
  }
  return status;
}

// Reads what arrived and hands each notification on; false once the connection is lost.
bool ChangeListener::receive() {
  if (PQconsumeInput(conn_) != 1) return false;
  while (PGnotify* n = PQnotifies(conn_)) {
    const std::string payload(n->extra ? n->extra : "");
    const bool ours = kDesiredStateChannel == n->relname;
    PQfreemem(n);
    if (!ours || !pki::check_device_id(payload)) {
      ignored_.fetch_add(1);
      continue;
    }
    delivered_.fetch_add(1);
    if (callbacks_.on_change) callbacks_.on_change(payload);
  }
  return PQstatus(conn_) == CONNECTION_OK;
}

void ChangeListener::run() {
  auto backoff = options_.min_backoff;
  for (;;) {
    if (conn_ == nullptr) {
      if (wait_for(-1, 0, Clock::now() + jittered(backoff)) == Wake::stopped) return;
      auto conn = connect();
      if (!conn) {
        if (conn.error().code == Errc::closed) return;
        backoff = std::min(backoff * 2, options_.max_backoff);
        continue;
      }
      conn_ = *conn;
      backoff = options_.min_backoff;
      reconnects_.fetch_add(1);
      if (callbacks_.on_resync) callbacks_.on_resync();
    }
    if (!receive()) {
      PQfinish(conn_);
      conn_ = nullptr;
      continue;
    }
    if (wait_for(PQsocket(conn_), POLLIN, std::nullopt) == Wake::stopped) return;
  }
}

}  // namespace ef::store
