// The Store for servers that share one database: PostgreSQL through libpq, Debian's C client.
// libpq and not libpqxx because libpqxx reports errors by exceptions, and our module boundaries
// return ef::Result; libpq's status codes map onto it directly (connection.hpp).
//
// Contract, beyond store.hpp's:
// - The schema is the same numbered migrations as the SQLite backend, in PostgreSQL's dialect,
//   applied at open in one transaction under an advisory lock (replicas starting together migrate
//   once). A database whose schema is newer than this program knows is refused (Errc::unsupported).
// - Times are Unix seconds and JSON is text, as in SQLite, so both backends answer alike; text is
//   ordered bytewise (COLLATE "C") whatever the database's locale, as SQLite orders it.
// - A lost connection fails the call with Errc::network; the next call outside a transaction
//   reconnects. A transaction that lost its connection fails as a whole: nothing half-written.
// - in_transaction nests as SQLite's does: an inner call is part of the outer transaction. One
//   difference: after a failed statement PostgreSQL refuses the rest of the transaction, where
//   SQLite would let it go on; every caller in the server ends the transaction on the first error.
// - Values are only ever passed as parameters; a string holding a NUL byte or invalid UTF-8 is
//   refused (Errc::invalid_argument), where SQLite would store it.
// - Replicas: a write that changes what a device's check-in answers (set_assignment, a
//   clear_assignment that removed a pin, revoke_device) also sends NOTIFY on kDesiredStateChannel
//   with the device id as payload, in its own transaction: delivered on commit only, never on
//   rollback (store/postgres_listener receives them on other replicas).
// - One writer per decision: every write that reads before it writes (record_running,
//   add_enrollment_token, complete_enrollment) first takes the device's row lock, so two replicas
//   racing on one device queue; the token UPDATE lets one of two consumers win (Errc::exists for
//   the other). Audit entries commit in seq order (a transaction-scoped advisory lock from insert
//   to commit), so paging with audit(after, ...) misses none. Locks are taken device row first,
//   audit last.
#pragma once

#include <memory>
#include <string_view>

#include "server/store/store.hpp"

namespace ef::store {

// The NOTIFY channel of desired-state changes; the payload is one device id.
inline constexpr std::string_view kDesiredStateChannel = "edgefleet_desired";

// Connects to the database named by a libpq connection URI ("postgresql://user@host/db",
// "postgresql:///db?host=/run/postgresql") or key=value string, and migrates its schema.
Result<std::unique_ptr<Store>> open_postgres_store(std::string_view conninfo);

// The schema version this program migrates to (equal to sqlite_schema_version()).
int postgres_schema_version();

}  // namespace ef::store
