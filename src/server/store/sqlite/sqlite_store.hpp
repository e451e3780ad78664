// The embedded Store: one SQLite file in WAL mode with synchronous=FULL (a committed enrolment,
// token or audit entry survives a power cut), foreign keys on, and the schema brought up to date
// by append-only numbered migrations (migrations.cpp) when the file is opened.
#pragma once

#include <filesystem>
#include <memory>

#include "server/store/store.hpp"

namespace ef::store {

// Opens (creating if needed) the database at path. Refuses a database whose schema is newer than
// this program knows (written by a newer edgefleet-server).
Result<std::unique_ptr<Store>> open_sqlite_store(const std::filesystem::path& path);

// The schema version this program migrates to.
int sqlite_schema_version();

}  // namespace ef::store
