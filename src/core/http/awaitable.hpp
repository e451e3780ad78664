// Boost.Asio's awaitable<T>, for headers that declare coroutines: include this, not
// <boost/asio/awaitable.hpp>. Boost 1.74's awaitable.hpp uses std::exchange without including
// <utility>, so it compiles only where something included <utility> first.
#pragma once

#include <utility>

#include <boost/asio/awaitable.hpp>
