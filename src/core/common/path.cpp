#include "core/common/path.hpp"

#include <cstdio>

namespace ef {

std::string printable(std::string_view text, std::size_t max_chars) {
  std::string out;
  for (std::size_t i = 0; i < text.size() && i < max_chars; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  if (text.size() > max_chars) out += "...";
  return out;
}

namespace {
Error unsafe(std::string_view path, std::string_view why) {
  return make_error(Errc::unsafe_path,
                    "unsafe name \"" + printable(path) + "\": " + std::string(why));
}

Status check_component(std::string_view whole, std::string_view c) {
  if (c.empty()) return unsafe(whole, "empty path component");
  if (c == "." || c == "..") return unsafe(whole, "contains a '.' or '..' component");
  for (unsigned char ch : c) {
    if (ch == 0) return unsafe(whole, "contains a NUL byte");
    if (ch < 0x20 || ch == 0x7f) return unsafe(whole, "contains a control character");
    if (ch == '\\') return unsafe(whole, "contains a backslash");
    if (ch == '%') return unsafe(whole, "contains '%' (percent-encoding is not allowed)");
    if (ch == '?' || ch == '#') return unsafe(whole, "contains '?' or '#'");
  }
  return {};
}
}  // namespace

Status check_relative_path(std::string_view path) {
  if (path.empty()) return unsafe(path, "empty");
  if (path.size() > 4096) return unsafe(path, "longer than 4096 bytes");
  if (path.front() == '/') return unsafe(path, "absolute path");
  std::size_t depth = 0;
  std::size_t start = 0;
  for (;;) {
    const std::size_t slash = path.find('/', start);
    const auto component =
        path.substr(start, slash == std::string_view::npos ? path.npos : slash - start);
    EF_CHECK(check_component(path, component));
    if (++depth > 32) return unsafe(path, "more than 32 levels deep");
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return {};
}

Status check_plain_name(std::string_view name) {
  if (name.find('/') != std::string_view::npos) return unsafe(name, "contains '/'");
  return check_relative_path(name);
}

}  // namespace ef
