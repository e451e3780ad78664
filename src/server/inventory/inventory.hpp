// The fleet inventory: one row per device, from the device's own reports (hardware, releases,
// versions, update phase) and the operator-set fields (site, cell, location, labels).
//
//   GET /api/v1/inventory?format=json|csv&site=&cell=   (read-only role)
//
// CSV follows RFC 4180 (header row, CRLF, fields quoted when needed). Device-reported text is
// untrusted: a cell that a spreadsheet would run as a formula (starting with = + - @, tab or CR)
// is prefixed with a single quote.
#pragma once

#include <string>
#include <vector>

#include "core/http/router.hpp"
#include "server/device_registry/device_registry.hpp"
#include "server/store/store.hpp"

namespace ef::inventory {

// The column names, in order.
const std::vector<std::string>& columns();

// One row per device (values as strings; "" when unknown), ordered by device id.
Result<std::vector<std::vector<std::string>>> rows(store::Store& store,
                                                   const device_registry::Presence& presence,
                                                   const device_registry::Settings& settings,
                                                   const store::DeviceFilter& filter);

std::string to_csv(const std::vector<std::vector<std::string>>& rows);

void add_routes(http::Router& router, store::Store& store,
                const device_registry::Presence& presence, device_registry::Settings settings,
                http::Guard read_guard);

}  // namespace ef::inventory
