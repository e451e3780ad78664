#include "device/telemetry/kernel_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <system_error>

#include "core/common/fs.hpp"

namespace ef::device_telemetry::detail {

namespace fs = std::filesystem;

namespace {

// Reads up to limit bytes of a regular file; sets more when the file goes on past them.
// O_NONBLOCK so that a FIFO planted where a value file should be cannot stall the agent.
std::optional<std::string> read_head(const fs::path& path, std::size_t limit, bool& more) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY));
  if (!fd.valid()) return std::nullopt;
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return std::nullopt;
  std::string out(limit + 1, '\0');
  std::size_t got = 0;
  while (got < out.size()) {
    const ssize_t n = ::read(fd.get(), out.data() + got, out.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    if (n == 0) break;
    got += static_cast<std::size_t>(n);
  }
  more = got > limit;
  out.resize(std::min(got, limit));
  return out;
}

template <typename T>
std::optional<T> parse_integer(std::string_view text) {
  text = trim(text);
  T value{};
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

std::optional<std::string> read_small(const fs::path& path, std::size_t max_bytes) {
  bool more = false;
  auto text = read_head(path, max_bytes, more);
  if (!text || more) return std::nullopt;
  return text;
}

std::optional<std::string> read_first_line(const fs::path& path, std::size_t max_bytes) {
  bool more = false;
  auto text = read_head(path, max_bytes, more);
  if (!text) return std::nullopt;
  const auto end = text->find('\n');
  if (end == std::string::npos) return std::nullopt;
  text->resize(end);
  return text;
}

std::string_view trim(std::string_view text) {
  const auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!text.empty() && blank(text.front()))
    text.remove_prefix(1);
  while (!text.empty() && blank(text.back()))
    text.remove_suffix(1);
  return text;
}

std::optional<std::uint64_t> parse_u64(std::string_view text) {
  return parse_integer<std::uint64_t>(text);
}

std::optional<std::int64_t> parse_i64(std::string_view text) {
  return parse_integer<std::int64_t>(text);
}

std::optional<double> parse_double(std::string_view text) {
  text = trim(text);
  double value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  if (!std::isfinite(value)) return std::nullopt;
  return value;
}

std::vector<Numbered> numbered_entries(const fs::path& dir, std::string_view prefix,
                                       std::string_view suffix, std::size_t max_entries) {
  std::vector<Numbered> out;
  std::error_code ec;
  fs::directory_iterator it(dir, ec);
  const std::size_t max_scanned = 16 * max_entries;
  for (std::size_t scanned = 0; !ec && it != fs::directory_iterator() && scanned < max_scanned;
       it.increment(ec), ++scanned) {
    const std::string name = it->path().filename().string();
    if (name.size() <= prefix.size() + suffix.size()) continue;
    if (!name.starts_with(prefix) || !name.ends_with(suffix)) continue;
    const std::string_view digits =
        std::string_view(name).substr(prefix.size(), name.size() - prefix.size() - suffix.size());
    if (digits.find_first_not_of("0123456789") != std::string_view::npos) continue;
    const auto number = parse_u64(digits);
    if (!number) continue;
    out.push_back({*number, it->path()});
  }
  std::sort(out.begin(), out.end(),
            [](const Numbered& a, const Numbered& b) { return a.number < b.number; });
  if (out.size() > max_entries) out.resize(max_entries);
  return out;
}

}  // namespace ef::device_telemetry::detail
