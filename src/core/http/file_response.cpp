#include "core/http/file_response.hpp"

#include <fcntl.h>
#include <sys/stat.h>

#include <charconv>

namespace ef::http {

namespace {

std::optional<std::uint64_t> parse_number(std::string_view text) {
  if (text.empty()) return std::nullopt;
  std::uint64_t out = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return out;
}

struct Range {
  std::uint64_t first = 0;
  std::uint64_t last = 0;  // inclusive
  bool unsatisfiable = false;
};

// nullopt: serve the whole file.
std::optional<Range> parse_range(std::string_view header, std::uint64_t size) {
  constexpr std::string_view kUnit = "bytes=";
  if (header.substr(0, kUnit.size()) != kUnit) return std::nullopt;
  const auto spec = header.substr(kUnit.size());
  if (spec.find(',') != std::string_view::npos) return std::nullopt;
  const auto dash = spec.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  const auto from = spec.substr(0, dash);
  const auto to = spec.substr(dash + 1);
  if (from.empty()) {  // suffix: the last N bytes
    auto n = parse_number(to);
    if (!n) return std::nullopt;
    if (*n == 0 || size == 0) return Range{0, 0, true};
    return Range{size - std::min(*n, size), size - 1, false};
  }
  auto first = parse_number(from);
  if (!first) return std::nullopt;
  std::uint64_t last = size == 0 ? 0 : size - 1;
  if (!to.empty()) {
    auto l = parse_number(to);
    if (!l || *l < *first) return std::nullopt;
    last = std::min(*l, last);
  }
  if (*first >= size) return Range{0, 0, true};
  return Range{*first, last, false};
}

}  // namespace

Response file_response(const Request& request, const std::filesystem::path& path,
                       std::string content_type) {
  auto fd = std::make_shared<UniqueFd>(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  struct stat st {};
  if (!fd->valid() || ::fstat(fd->get(), &st) != 0 || !S_ISREG(st.st_mode)) {
    return Response::error(404, "not_found", "no such file: " + request.path);
  }
  const auto size = static_cast<std::uint64_t>(st.st_size);
  Response r;
  r.set("Content-Type", std::move(content_type));
  r.set("Accept-Ranges", "bytes");
  const auto range = parse_range(request.header("Range"), size);
  if (range && range->unsatisfiable) {
    auto refused = Response::error(
        416, "range_not_satisfiable",
        "the range starts beyond the end of the file (" + std::to_string(size) + " bytes)");
    refused.set("Content-Range", "bytes */" + std::to_string(size));
    return refused;
  }
  if (range) {
    r.status = 206;
    r.set("Content-Range", "bytes " + std::to_string(range->first) + "-" +
                               std::to_string(range->last) + "/" + std::to_string(size));
    r.file = FileBody{fd, range->first, range->last - range->first + 1};
  } else {
    r.file = FileBody{fd, 0, size};
  }
  return r;
}

}  // namespace ef::http
