// Internal to store_postgres: one libpq connection that turns every failure into an ef::Error.
//
// Contract:
// - Values travel only as parameters (PQexecParams, text format); SQL is never built from them. A
//   string value holding a NUL byte is refused (Errc::invalid_argument): libpq would cut it short.
// - A lost connection fails the call with Errc::network. The next call outside a transaction
//   reconnects; inside one (set_in_transaction(true)) calls keep failing until it ends, so nothing
//   of a half-done transaction is ever continued on a fresh connection.
// - SQLSTATE class 23 (a constraint) maps to Errc::exists, as SQLite's backend does; class 22 (bad
//   data such as invalid UTF-8) to Errc::invalid_argument; anything else to Errc::io.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "core/common/result.hpp"
#include "core/common/time.hpp"

struct pg_conn;
struct pg_result;

namespace ef::store::postgres_detail {

using Param = std::variant<std::nullptr_t, std::int64_t, std::string_view>;

// The rows (or the row count) of one statement.
class Rows {
 public:
  explicit Rows(pg_result* result);
  Rows(Rows&&) noexcept;
  Rows& operator=(Rows&&) noexcept;
  ~Rows();

  int size() const;
  std::string text(int row, int column) const;
  std::int64_t integer(int row, int column) const;
  bool null(int row, int column) const;
  UtcTime time(int row, int column) const;
  std::optional<UtcTime> opt_time(int row, int column) const;
  std::int64_t affected() const;  // rows an INSERT, UPDATE or DELETE changed
  std::string command() const;    // the command tag: "COMMIT", or "ROLLBACK" for a failed one

 private:
  pg_result* result_;
};

class Connection {
 public:
  // Connects (a libpq URI or key=value string); connect_timeout defaults to 5 s.
  static Result<std::unique_ptr<Connection>> open(std::string conninfo);
  ~Connection();

  // One statement with $1... parameters.
  Result<Rows> query(std::string_view sql, std::initializer_list<Param> params = {});
  // One or more statements without parameters (migrations, BEGIN, COMMIT).
  Status script(const std::string& sql);

  void set_in_transaction(bool in) { in_transaction_ = in; }
  int backend_pid() const;

 private:
  explicit Connection(std::string conninfo) : conninfo_(std::move(conninfo)) {}
  Status connect();
  Status ready();
  Result<Rows> check(pg_result* result);

  std::string conninfo_;
  pg_conn* conn_ = nullptr;
  bool in_transaction_ = false;
};

}  // namespace ef::store::postgres_detail
