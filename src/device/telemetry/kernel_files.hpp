// Internal to device_telemetry: bounded reads of kernel files and strict number parsing. Every
// function answers "no reading" (nullopt / empty) rather than throwing or guessing a zero.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ef::device_telemetry::detail {

// The whole of a regular file of at most max_bytes; nullopt when it is missing, not a regular
// file, unreadable or longer (a /proc or /sys value never is).
std::optional<std::string> read_small(const std::filesystem::path& path, std::size_t max_bytes);

// The first line of a file (without its '\n'), reading at most max_bytes; nullopt when no line
// ends within them.
std::optional<std::string> read_first_line(const std::filesystem::path& path,
                                           std::size_t max_bytes);

// Strict numbers: the whole text (surrounding blanks and one trailing newline allowed) must be
// the number; no sign for unsigned, no overflow.
std::optional<std::uint64_t> parse_u64(std::string_view text);
std::optional<std::int64_t> parse_i64(std::string_view text);
std::optional<double> parse_double(std::string_view text);

std::string_view trim(std::string_view text);

// Entries of dir named <prefix><digits><suffix>, ordered by that number, at most max_entries
// (the folder is scanned for at most 16 * max_entries names). Empty when dir cannot be read.
struct Numbered {
  std::uint64_t number = 0;
  std::filesystem::path path;
};
std::vector<Numbered> numbered_entries(const std::filesystem::path& dir, std::string_view prefix,
                                       std::string_view suffix, std::size_t max_entries);

}  // namespace ef::device_telemetry::detail
