// The audit log: every operator action, with who, what, when and from where.
//
// Entries are appended to the Store, normally inside the same transaction as the action they
// describe (so an action is never done without its entry, nor recorded without being done), and
// are never changed or deleted through the API.
#pragma once

#include <string>
#include <string_view>

#include "core/common/result.hpp"
#include "core/http/router.hpp"
#include "server/store/store.hpp"

namespace ef::audit {

class AuditLog {
 public:
  explicit AuditLog(store::Store& store) : store_(store) {}

  // Appends an entry stamped with the current time.
  Status record(std::string_view actor, std::string_view action, std::string_view target,
                std::string_view source, json::Json details = json::Json::object());

 private:
  store::Store& store_;
};

// GET /api/v1/audit?after=SEQ&limit=N (default 100, at most 1000), oldest first:
// {"entries": [{"seq", "at", "actor", "action", "target", "source", "details"}], "next": SEQ}.
// read_guard decides who may read it.
void add_routes(http::Router& router, store::Store& store, http::Guard read_guard);

json::Json entry_json(const store::AuditEntry& entry);

}  // namespace ef::audit
