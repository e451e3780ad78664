// A throwaway PostgreSQL cluster for tests: Debian's initdb and pg_ctl in a temporary folder, on a
// Unix socket in that folder only (no TCP), trust authentication, removed afterwards.
//
// Contract:
// - PostgreSQL refuses to run as root, so as root the cluster runs as the `postgres` user that
//   Debian's package creates, in a folder that user owns (runuser -u postgres).
// - A missing initdb is an error naming the package (postgresql-15), never a silent skip.
// - The cluster is stopped and its folder removed when the PostgresCluster is destroyed, and also
//   when the test process dies any other way (a crash, a ctest timeout): a watchdog process waits
//   for the test process's end and cleans up then.
// - initdb runs once per build tree: its result is kept as build/postgres-template-*/ (the one
//   thing left behind, removed with the build folder) and each cluster starts from a copy.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "core/common/result.hpp"

struct pg_conn;

namespace ef::testing {

class PostgresCluster {
 public:
  static Result<std::unique_ptr<PostgresCluster>> start();
  // The process's one cluster, started at first use and stopped when the process exits.
  static Result<PostgresCluster*> shared();
  ~PostgresCluster();
  PostgresCluster(const PostgresCluster&) = delete;
  PostgresCluster& operator=(const PostgresCluster&) = delete;

  const std::filesystem::path& dir() const { return dir_; }
  // A libpq URI for database, as the superuser, over the cluster's socket.
  std::string url(std::string_view database) const;
  // Creates an empty database named uniquely in this cluster and returns its name.
  Result<std::string> create_database();
  // Runs SQL as the superuser in database; returns the first column of the first row ("" if none).
  Result<std::string> execute(std::string_view database, const std::string& sql);

 private:
  PostgresCluster() = default;
  Status init(const std::filesystem::path& bin);
  Status start_watchdog(const std::string& cleanup);

  std::filesystem::path dir_;
  pid_t watchdog_ = -1;
  int watchdog_pipe_ = -1;
  pg_conn* admin_ = nullptr;
  int databases_ = 0;
};

// The database the server's tests run against, from EF_TEST_DATABASE: unset or "sqlite" -> ""
// (SQLite in the test's own folder); "postgresql" -> the URL of a fresh database in the shared
// cluster. Anything else is an error.
Result<std::string> test_database_url();

}  // namespace ef::testing
