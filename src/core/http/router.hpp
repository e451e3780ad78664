// Maps method + path to a handler.
//
// Patterns are '/'-separated: a literal segment matches itself, "{name}" matches any one non-empty
// segment and binds it as a path parameter. A literal wins over a parameter at the same depth, so
// "/devices/export" and "/devices/{id}" can coexist. A path that matches some route but not its
// method gets 405 with an Allow header; a GET route also answers HEAD (the body is dropped).
//
// A route may have a guard: it runs on the request head, before the body is read, so an
// unauthenticated upload is refused without reading it. Returning a Response refuses the request;
// admitting it, the guard leaves who it authenticated in request.principal, so the handler acts
// for that principal without authenticating again (see operator_auth and device_auth).
// Handlers are coroutines and may wait (long-polls); they run on the server's executor.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>
#include "core/http/awaitable.hpp"

#include "core/http/message.hpp"

namespace ef::http {

using Handler = std::function<boost::asio::awaitable<Response>(Request&)>;
using Guard = std::function<std::optional<Response>(Request&)>;

struct RouteOptions {
  std::string name;                     // for metrics and logs; the pattern when empty
  std::optional<std::size_t> max_body;  // overrides the server's Limits::max_body_bytes
  std::optional<std::chrono::milliseconds> body_timeout;  // overrides Limits::body_timeout
  bool body_to_file = false;                              // stream the body to a temporary file
  Guard guard;
};

class Router {
 public:
  // Adds a route. Patterns must start with '/'; adding the same method + pattern twice is a bug
  // and throws std::logic_error at startup.
  void add(Verb method, std::string_view pattern, Handler handler, RouteOptions options = {});

  // The same handler for a synchronous function.
  void add_sync(Verb method, std::string_view pattern, std::function<Response(Request&)> handler,
                RouteOptions options = {});

  struct Route {
    Verb method;
    std::string pattern;
    std::vector<std::string> segments;
    Handler handler;
    RouteOptions options;
  };

  struct Match {
    const Route* route = nullptr;  // null: see allowed
    std::map<std::string, std::string, std::less<>> params;
    std::vector<Verb> allowed;  // methods that match this path (for a 405) when route is null
  };

  // Finds the route for a decoded path. route == nullptr and allowed empty means 404.
  Match match(Verb method, std::string_view path) const;

  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

}  // namespace ef::http
