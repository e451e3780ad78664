// Internal to store_sqlite: the schema as append-only numbered migrations. Migration N (1-based)
// is kMigrations[N-1]; never edit one that has shipped, add the next instead.
#pragma once

#include <span>
#include <string_view>

namespace ef::store::detail {

std::span<const std::string_view> migrations();

}  // namespace ef::store::detail
