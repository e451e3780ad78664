// Opens the store that a --database setting names: the one place that knows both backends.
#pragma once

#include <filesystem>
#include <memory>
#include <string_view>

#include "server/store/store.hpp"

namespace ef::store {

// database: "" -> SQLite at data_dir/fleet.db (the embedded default); "postgresql://..." or
// "postgres://..." -> PostgreSQL (a libpq URI, e.g. "postgresql://edgefleet@db.plant/edgefleet" or
// "postgresql:///edgefleet?host=/run/postgresql" for a Unix socket). Anything else is
// Errc::invalid_argument, naming the accepted forms.
Result<std::unique_ptr<Store>> open_store(std::string_view database,
                                          const std::filesystem::path& data_dir);

// Whether database names PostgreSQL (postgresql:// or postgres://).
bool is_postgres_url(std::string_view database);

// Whether database is a form open_store accepts (Errc::invalid_argument naming --database if not),
// without connecting: the server checks its flags before it opens anything.
Status check_database(std::string_view database);

// A form of database safe to log: the password of a URL replaced by "***".
std::string redacted_database(std::string_view database);

}  // namespace ef::store
