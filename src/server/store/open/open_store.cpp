#include "server/store/open/open_store.hpp"

#include "core/common/path.hpp"
#include "server/store/postgres/postgres_store.hpp"
#include "server/store/sqlite/sqlite_store.hpp"

namespace ef::store {

bool is_postgres_url(std::string_view database) {
  return database.starts_with("postgresql://") || database.starts_with("postgres://");
}

Status check_database(std::string_view database) {
  if (database.empty() || is_postgres_url(database)) return {};
  return make_error(Errc::invalid_argument,
                    "--database '" + printable(redacted_database(database)) +
                        "': expected a postgresql:// (or postgres://) URL, or nothing for SQLite "
                        "in the data folder");
}

Result<std::unique_ptr<Store>> open_store(std::string_view database,
                                          const std::filesystem::path& data_dir) {
  EF_CHECK(check_database(database));
  if (database.empty()) return open_sqlite_store(data_dir / "fleet.db");
  return open_postgres_store(database);
}

std::string redacted_database(std::string_view database) {
  std::string text(database);
  // A password given as a query parameter.
  if (const auto p = text.find("password="); p != std::string::npos) {
    const auto end = text.find('&', p);
    text.replace(p + 9, end == std::string::npos ? std::string::npos : end - p - 9, "***");
  }
  const auto scheme = text.find("://");
  if (scheme == std::string::npos) return text;
  const auto at = text.find('@', scheme + 3);
  const auto slash = text.find('/', scheme + 3);
  if (at == std::string::npos || (slash != std::string::npos && slash < at)) return text;
  const auto colon = text.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return text;
  return text.substr(0, colon + 1) + "***" + text.substr(at);
}

}  // namespace ef::store
