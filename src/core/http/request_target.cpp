#include "core/http/request_target.hpp"

namespace ef::http {

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes a URL part; '+' means space in a query. Refuses bad escapes, NUL, and (in a
// path) an encoded '/', which would let a name smuggle a separator past the router.
std::optional<std::string> percent_decode(std::string_view in, bool query) {
  std::string out;
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return std::nullopt;
      const int hi = hex_value(in[i + 1]);
      const int lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return std::nullopt;
      c = static_cast<char>(hi * 16 + lo);
      if (!query && c == '/') return std::nullopt;
      i += 2;
    } else if (query && c == '+') {
      c = ' ';
    }
    if (c == '\0') return std::nullopt;
    out.push_back(c);
  }
  return out;
}

}  // namespace

std::optional<std::string> parse_target(std::string_view target, Request& request) {
  if (target.empty() || target.front() != '/') return "the request target must start with '/'";
  const std::size_t q = target.find('?');
  const auto raw_path = target.substr(0, q);
  auto path = percent_decode(raw_path, false);
  if (!path) return "the path has a malformed percent-escape, an encoded '/' or a NUL";
  for (std::size_t start = 1; start <= path->size();) {
    const std::size_t end = std::min(path->find('/', start), path->size());
    const auto segment = std::string_view(*path).substr(start, end - start);
    if (segment == "." || segment == "..") return "the path has '.' or '..' segments";
    start = end + 1;
  }
  request.path = std::move(*path);
  if (q == std::string_view::npos) return std::nullopt;
  auto rest = target.substr(q + 1);
  while (!rest.empty()) {
    const std::size_t amp = rest.find('&');
    const auto pair = rest.substr(0, amp);
    rest = amp == std::string_view::npos ? std::string_view() : rest.substr(amp + 1);
    if (pair.empty()) continue;
    const std::size_t eq = pair.find('=');
    auto key = percent_decode(pair.substr(0, eq), true);
    auto value = percent_decode(eq == std::string_view::npos ? "" : pair.substr(eq + 1), true);
    if (!key || !value) return "the query has a malformed percent-escape or a NUL";
    request.query[std::move(*key)] = std::move(*value);
  }
  return std::nullopt;
}

}  // namespace ef::http
