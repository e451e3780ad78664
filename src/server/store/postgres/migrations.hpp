// Internal to store_postgres: the schema as append-only numbered migrations, the same numbers and
// meaning as store/sqlite's in PostgreSQL's dialect. Migration N (1-based) is migrations()[N-1];
// never edit one that has shipped, add the next instead (to both backends).
#pragma once

#include <span>
#include <string_view>

namespace ef::store::postgres_detail {

std::span<const std::string_view> migrations();

}  // namespace ef::store::postgres_detail
