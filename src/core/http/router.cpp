#include "core/http/router.hpp"

#include <algorithm>
#include <stdexcept>

namespace ef::http {

namespace {

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  std::size_t start = 1;  // paths start with '/'
  while (start <= path.size()) {
    const std::size_t end = std::min(path.find('/', start), path.size());
    out.emplace_back(path.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

bool is_param(const std::string& segment) {
  return segment.size() > 2 && segment.front() == '{' && segment.back() == '}';
}

// Ranks how well a route matches: higher is more specific (literals before parameters, from the
// left), or -1 when it does not match.
long score(const std::vector<std::string>& pattern, const std::vector<std::string>& path) {
  if (pattern.size() != path.size()) return -1;
  long result = 0;
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    result <<= 1;
    if (is_param(pattern[i])) {
      if (path[i].empty()) return -1;
    } else if (pattern[i] == path[i]) {
      result |= 1;
    } else {
      return -1;
    }
  }
  return result;
}

}  // namespace

void Router::add(Verb method, std::string_view pattern, Handler handler, RouteOptions options) {
  if (pattern.empty() || pattern.front() != '/') {
    throw std::logic_error("route pattern must start with '/': " + std::string(pattern));
  }
  for (const auto& route : routes_) {
    if (route.method == method && route.pattern == pattern) {
      throw std::logic_error("route added twice: " + std::string(pattern));
    }
  }
  if (options.name.empty()) options.name = std::string(pattern);
  routes_.push_back(Route{method, std::string(pattern), split_path(pattern), std::move(handler),
                          std::move(options)});
}

void Router::add_sync(Verb method, std::string_view pattern,
                      std::function<Response(Request&)> handler, RouteOptions options) {
  add(
      method, pattern,
      [handler = std::move(handler)](Request& request) -> boost::asio::awaitable<Response> {
        co_return handler(request);
      },
      std::move(options));
}

Router::Match Router::match(Verb method, std::string_view path) const {
  Match out;
  if (path.empty() || path.front() != '/') return out;
  const auto segments = split_path(path);
  const Verb wanted = method == Verb::head ? Verb::get : method;
  long best = -1;
  for (const auto& route : routes_) {
    const long s = score(route.segments, segments);
    if (s < 0) continue;
    if (route.method != wanted && route.method != method) {
      if (std::find(out.allowed.begin(), out.allowed.end(), route.method) == out.allowed.end()) {
        out.allowed.push_back(route.method);
      }
      continue;
    }
    if (s > best) {
      best = s;
      out.route = &route;
    }
  }
  if (out.route != nullptr) {
    out.allowed.clear();
    for (std::size_t i = 0; i < segments.size(); ++i) {
      const auto& p = out.route->segments[i];
      if (is_param(p)) out.params[p.substr(1, p.size() - 2)] = segments[i];
    }
  }
  return out;
}

}  // namespace ef::http
