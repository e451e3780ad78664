#include "server/store/postgres/connection.hpp"

#include <libpq-fe.h>

#include <charconv>
#include <vector>

namespace ef::store::postgres_detail {

namespace {

// libpq's messages span lines ("FATAL: ...\n\tHINT..."): one line, for logs and API errors.
std::string trimmed(const char* message) {
  std::string text;
  for (const char* p = message ? message : ""; *p != '\0'; ++p) {
    const bool space = *p == '\n' || *p == '\t' || *p == ' ';
    if (space && (text.empty() || text.back() == ' ')) continue;
    text.push_back(space ? ' ' : *p);
  }
  if (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

Error lost(pg_conn* conn) {
  return make_error(Errc::network,
                    "lost the connection to PostgreSQL: " + trimmed(PQerrorMessage(conn)));
}

Errc errc_of_sqlstate(std::string_view state) {
  if (state.starts_with("23")) return Errc::exists;
  if (state.starts_with("22")) return Errc::invalid_argument;
  if (state.starts_with("08") || state.starts_with("57P")) return Errc::network;
  return Errc::io;
}

}  // namespace

Rows::Rows(pg_result* result) : result_(result) {}
Rows::Rows(Rows&& other) noexcept : result_(std::exchange(other.result_, nullptr)) {}
Rows& Rows::operator=(Rows&& other) noexcept {
  if (this != &other) {
    PQclear(result_);
    result_ = std::exchange(other.result_, nullptr);
  }
  return *this;
}
Rows::~Rows() {
  PQclear(result_);
}

int Rows::size() const {
  return PQntuples(result_);
}

std::string Rows::text(int row, int column) const {
  return std::string(PQgetvalue(result_, row, column),
                     static_cast<std::size_t>(PQgetlength(result_, row, column)));
}

std::int64_t Rows::integer(int row, int column) const {
  const char* p = PQgetvalue(result_, row, column);
  std::int64_t value = 0;
  std::from_chars(p, p + PQgetlength(result_, row, column), value);
  return value;
}

bool Rows::null(int row, int column) const {
  return PQgetisnull(result_, row, column) != 0;
}

UtcTime Rows::time(int row, int column) const {
  return UtcTime(std::chrono::seconds(integer(row, column)));
}

std::optional<UtcTime> Rows::opt_time(int row, int column) const {
  if (null(row, column)) return std::nullopt;
  return time(row, column);
}

std::int64_t Rows::affected() const {
  const char* count = PQcmdTuples(result_);
  std::int64_t value = 0;
  std::from_chars(count, count + std::char_traits<char>::length(count), value);
  return value;
}

std::string Rows::command() const {
  return PQcmdStatus(result_);
}

Result<std::unique_ptr<Connection>> Connection::open(std::string conninfo) {
  std::unique_ptr<Connection> connection(new Connection(std::move(conninfo)));
  EF_CHECK(connection->connect());
  return connection;
}

Connection::~Connection() {
  PQfinish(conn_);
}

Status Connection::connect() {
  PQfinish(conn_);
  // Earlier keywords are defaults: the URL's own connect_timeout or application name wins.
  const char* keywords[] = {"connect_timeout", "fallback_application_name", "dbname", nullptr};
  const char* values[] = {"5", "edgefleet-server", conninfo_.c_str(), nullptr};
  conn_ = PQconnectdbParams(keywords, values, /*expand_dbname=*/1);
  if (conn_ == nullptr) return make_error(Errc::network, "cannot connect to PostgreSQL: no memory");
  if (PQstatus(conn_) != CONNECTION_OK) {
    auto message = trimmed(PQerrorMessage(conn_));
    PQfinish(conn_);
    conn_ = nullptr;
    return make_error(Errc::network, "cannot connect to PostgreSQL: " + message);
  }
  // Notices ("relation already exists, skipping") are not errors: keep them off stderr.
  PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);
  return {};
}

Status Connection::ready() {
  if (conn_ != nullptr && PQstatus(conn_) == CONNECTION_OK) return {};
  if (in_transaction_) {
    return make_error(Errc::network, "the connection to PostgreSQL was lost during a transaction");
  }
  return connect();
}

Result<Rows> Connection::query(std::string_view sql, std::initializer_list<Param> params) {
  EF_CHECK(ready());
  // Text format: every value as a NUL-terminated string, NULL as a null pointer.
  std::vector<std::string> texts;
  texts.reserve(params.size());
  std::vector<const char*> values;
  for (const auto& p : params) {
    if (std::holds_alternative<std::nullptr_t>(p)) {
      texts.emplace_back();
    } else if (const auto* i = std::get_if<std::int64_t>(&p)) {
      texts.push_back(std::to_string(*i));
    } else {
      const auto s = std::get<std::string_view>(p);
      if (s.find('\0') != std::string_view::npos) {
        return make_error(Errc::invalid_argument, "a value holds a NUL byte");
      }
      texts.emplace_back(s);
    }
  }
  std::size_t n = 0;
  for (const auto& p : params) {
    values.push_back(std::holds_alternative<std::nullptr_t>(p) ? nullptr : texts[n].c_str());
    ++n;
  }
  const std::string statement(sql);
  return check(PQexecParams(conn_, statement.c_str(), static_cast<int>(values.size()), nullptr,
                            values.data(), nullptr, nullptr, 0));
}

Status Connection::script(const std::string& sql) {
  EF_CHECK(ready());
  auto rows = check(PQexec(conn_, sql.c_str()));
  return rows ? Status{} : Status(std::move(rows).error());
}

Result<Rows> Connection::check(pg_result* result) {
  Rows rows(result);
  const auto status = result ? PQresultStatus(result) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return rows;
  if (PQstatus(conn_) != CONNECTION_OK) return lost(conn_);
  const char* state = result ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  const std::string message =
      trimmed(result ? PQresultErrorMessage(result) : PQerrorMessage(conn_));
  const Errc code = errc_of_sqlstate(state ? state : "");
  if (code == Errc::exists) return make_error(code, "constraint failed: " + message);
  return make_error(code, "database error: " + message);
}

int Connection::backend_pid() const {
  return conn_ ? PQbackendPID(conn_) : 0;
}

}  // namespace ef::store::postgres_detail
