#include "core/telemetry/batch_wire.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/metrics/metrics.hpp"
#include "core/telemetry/batch.pb.h"

namespace ef::telemetry {
namespace {

namespace pb = edgefleet::telemetry::v1;

// Reverses the bit order of x: the XOR of two close doubles has its ones in the middle and its
// zeros in the low-order mantissa bits; reversed, those zeros lead and the varint is short.
std::uint64_t reverse_bits(std::uint64_t x) {
  x = ((x >> 1) & 0x5555555555555555ULL) | ((x & 0x5555555555555555ULL) << 1);
  x = ((x >> 2) & 0x3333333333333333ULL) | ((x & 0x3333333333333333ULL) << 2);
  x = ((x >> 4) & 0x0F0F0F0F0F0F0F0FULL) | ((x & 0x0F0F0F0F0F0F0F0FULL) << 4);
  return __builtin_bswap64(x);
}

Error malformed(std::string message) {
  return make_error(Errc::malformed, std::move(message));
}
Error too_large(std::string message) {
  return make_error(Errc::too_large, std::move(message));
}

std::string series_id(const Series& s) {
  std::string id = s.name + "{";
  for (std::size_t i = 0; i < s.labels.size(); ++i) {
    id += (i ? "," : "") + s.labels[i].first + "=\"" + s.labels[i].second + "\"";
  }
  return id + "}";
}

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing past U+10FFFF.
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t extra = 0;
    std::uint32_t code = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if (c >= 0xC2 && c <= 0xDF) {
      extra = 1, code = c & 0x1Fu;
    } else if (c >= 0xE0 && c <= 0xEF) {
      extra = 2, code = c & 0x0Fu;
    } else if (c >= 0xF0 && c <= 0xF4) {
      extra = 3, code = c & 0x07u;
    } else {
      return false;
    }
    if (extra > s.size() - i - 1) return false;  // cut short
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto next = static_cast<unsigned char>(s[i + k]);
      if ((next & 0xC0u) != 0x80u) return false;
      code = (code << 6) | (next & 0x3Fu);
    }
    const std::uint32_t min = extra == 1 ? 0x80 : extra == 2 ? 0x800 : 0x10000;
    if (code < min || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    i += extra + 1;
  }
  return true;
}

Status validate_strings(const Series& s, const CodecLimits& limits) {
  if (!metrics::valid_metric_name(s.name)) {
    return malformed("metric name '" + s.name.substr(0, 64) + "' is empty or not valid");
  }
  if (s.name.size() > limits.max_string_bytes) {
    return too_large("metric name longer than " + std::to_string(limits.max_string_bytes));
  }
  if (s.labels.size() > limits.max_labels_per_series) {
    return too_large(series_id(s) + ": more than " + std::to_string(limits.max_labels_per_series) +
                     " labels");
  }
  for (std::size_t i = 0; i < s.labels.size(); ++i) {
    const auto& [name, value] = s.labels[i];
    if (!metrics::valid_label_name(name)) {
      return malformed(s.name + ": label name '" + name.substr(0, 64) + "' is empty or not valid");
    }
    if (i > 0 && !(s.labels[i - 1].first < name)) {
      return malformed(series_id(s) + ": labels not sorted by name or repeated ('" + name + "')");
    }
    if (value.empty()) return malformed(series_id(s) + ": label '" + name + "' has an empty value");
    if (!valid_utf8(value)) return malformed(s.name + ": label '" + name + "' is not valid UTF-8");
    if (name.size() > limits.max_string_bytes || value.size() > limits.max_string_bytes) {
      return too_large(s.name + ": label '" + name.substr(0, 64) + "' longer than " +
                       std::to_string(limits.max_string_bytes) + " bytes");
    }
  }
  return {};
}

Status validate_points(const Series& s) {
  for (std::size_t i = 1; i < s.points.size(); ++i) {
    if (s.points[i].timestamp_ms <= s.points[i - 1].timestamp_ms) {
      return malformed(series_id(s) + ": point " + std::to_string(i) +
                       " is not later than the one before (timestamps must strictly increase)");
    }
  }
  return {};
}

Status validate_unique(const Batch& batch) {
  std::vector<const Series*> order;
  order.reserve(batch.series.size());
  for (const auto& s : batch.series)
    order.push_back(&s);
  auto key_less = [](const Series* a, const Series* b) {
    return std::tie(a->name, a->labels) < std::tie(b->name, b->labels);
  };
  std::sort(order.begin(), order.end(), key_less);
  for (std::size_t i = 1; i < order.size(); ++i) {
    if (!key_less(order[i - 1], order[i])) {
      return malformed("series " + series_id(*order[i]) + " appears twice");
    }
  }
  return {};
}

}  // namespace

Status validate_batch(const Batch& batch, const CodecLimits& limits) {
  if (batch.first_sequence > batch.last_sequence) {
    return malformed("first_sequence " + std::to_string(batch.first_sequence) +
                     " is after last_sequence " + std::to_string(batch.last_sequence));
  }
  if (batch.series.size() > limits.max_series) {
    return too_large(std::to_string(batch.series.size()) + " series, more than " +
                     std::to_string(limits.max_series));
  }
  if (point_count(batch) > limits.max_points) {
    return too_large("more than " + std::to_string(limits.max_points) + " points");
  }
  for (const auto& s : batch.series) {
    EF_CHECK(validate_strings(s, limits));
    EF_CHECK(validate_points(s));
  }
  return validate_unique(batch);
}

namespace {

// Symbols in byte order, whatever the order of the series: a batch's table then reads like the
// dictionary's (also sorted) with a few strings inserted, and zstd copies it in long runs.
class SymbolTable {
 public:
  SymbolTable(const Batch& batch, pb::Batch& out) {
    std::vector<std::string_view> all = {""};
    for (const auto& s : batch.series) {
      all.push_back(s.name);
      for (const auto& [name, value] : s.labels) {
        all.push_back(name);
        all.push_back(value);
      }
    }
    std::sort(all.begin(), all.end());
    all.erase(std::unique(all.begin(), all.end()), all.end());
    for (const auto& symbol : all) {
      index_.emplace(symbol, static_cast<std::uint32_t>(index_.size()));
      out.add_symbols(std::string(symbol));
    }
  }
  std::uint32_t ref(const std::string& s) const { return index_.at(s); }

 private:
  std::unordered_map<std::string_view, std::uint32_t> index_;
};

void serialize_points(const Series& s, pb::Series& out) {
  out.mutable_timestamp_deltas()->Reserve(static_cast<int>(s.points.size()));
  out.mutable_value_xors()->Reserve(static_cast<int>(s.points.size()));
  std::int64_t previous_time = 0;
  std::uint64_t previous_bits = 0;
  for (const auto& p : s.points) {
    // Unsigned arithmetic: any two int64 timestamps have a delta that wraps back exactly.
    out.add_timestamp_deltas(static_cast<std::int64_t>(static_cast<std::uint64_t>(p.timestamp_ms) -
                                                       static_cast<std::uint64_t>(previous_time)));
    previous_time = p.timestamp_ms;
    const auto bits = std::bit_cast<std::uint64_t>(p.value);
    out.add_value_xors(reverse_bits(bits ^ previous_bits));
    previous_bits = bits;
  }
}

}  // namespace

std::string serialize_batch(const Batch& batch) {
  pb::Batch out;
  out.set_first_sequence(batch.first_sequence);
  out.set_last_sequence(batch.last_sequence);
  // The table's views point into the batch's own strings.
  const SymbolTable symbols(batch, out);
  for (const auto& s : batch.series) {
    auto& series = *out.add_series();
    series.set_name_ref(symbols.ref(s.name));
    for (const auto& [name, value] : s.labels) {
      series.add_label_refs(symbols.ref(name));
      series.add_label_refs(symbols.ref(value));
    }
    serialize_points(s, series);
  }
  return out.SerializeAsString();
}

namespace {

Status check_shape(const pb::Batch& in, const CodecLimits& limits) {
  if (static_cast<std::size_t>(in.series_size()) > limits.max_series) {
    return too_large(std::to_string(in.series_size()) + " series, more than " +
                     std::to_string(limits.max_series));
  }
  for (int i = 0; i < in.symbols_size(); ++i) {
    if (in.symbols(i).size() > limits.max_string_bytes) {
      return too_large("symbol " + std::to_string(i) + " is longer than " +
                       std::to_string(limits.max_string_bytes) + " bytes");
    }
  }
  std::size_t points = 0;
  const auto symbol_count = static_cast<std::uint32_t>(in.symbols_size());
  for (int i = 0; i < in.series_size(); ++i) {
    const auto& s = in.series(i);
    const std::string where = "series " + std::to_string(i);
    if (s.label_refs_size() % 2 != 0) return malformed(where + ": odd number of label references");
    if (static_cast<std::size_t>(s.label_refs_size() / 2) > limits.max_labels_per_series) {
      return too_large(where + ": more than " + std::to_string(limits.max_labels_per_series) +
                       " labels");
    }
    if (s.timestamp_deltas_size() != s.value_xors_size()) {
      return malformed(where + ": " + std::to_string(s.timestamp_deltas_size()) +
                       " timestamps but " + std::to_string(s.value_xors_size()) + " values");
    }
    points += static_cast<std::size_t>(s.timestamp_deltas_size());
    if (points > limits.max_points) {
      return too_large("more than " + std::to_string(limits.max_points) + " points");
    }
    auto bad_ref = [&](std::uint32_t r) { return r >= symbol_count; };
    if (bad_ref(s.name_ref()) ||
        std::any_of(s.label_refs().begin(), s.label_refs().end(), bad_ref)) {
      return malformed(where + ": refers to a symbol past the table's " +
                       std::to_string(symbol_count) + " entries");
    }
  }
  return {};
}

Status parse_points(const pb::Series& in, std::size_t index, Series& out) {
  out.points.reserve(static_cast<std::size_t>(in.timestamp_deltas_size()));
  std::int64_t time = 0;
  std::uint64_t bits = 0;
  for (int i = 0; i < in.timestamp_deltas_size(); ++i) {
    // Wrapping addition mirrors the encoder's wrapping subtraction (a jump wider than int64 is
    // still exact); what matters is that time moves forward.
    const auto next = static_cast<std::int64_t>(static_cast<std::uint64_t>(time) +
                                                static_cast<std::uint64_t>(in.timestamp_deltas(i)));
    if (i > 0 && next <= time) {
      return malformed("series " + std::to_string(index) + ": point " + std::to_string(i) +
                       " is not later than the one before");
    }
    time = next;
    bits ^= reverse_bits(in.value_xors(i));
    out.points.push_back({time, std::bit_cast<double>(bits)});
  }
  return {};
}

}  // namespace

Result<Batch> parse_batch(std::string_view bytes, const CodecLimits& limits) {
  if (bytes.size() > limits.max_decoded_bytes) {
    return too_large("batch of " + std::to_string(bytes.size()) + " bytes, more than " +
                     std::to_string(limits.max_decoded_bytes));
  }
  pb::Batch in;
  if (!in.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    return malformed("not a valid edgefleet.telemetry.v1.Batch protobuf");
  }
  EF_CHECK(check_shape(in, limits));
  Batch out;
  out.first_sequence = in.first_sequence();
  out.last_sequence = in.last_sequence();
  out.series.resize(static_cast<std::size_t>(in.series_size()));
  for (int i = 0; i < in.series_size(); ++i) {
    const auto& s = in.series(i);
    auto& series = out.series[static_cast<std::size_t>(i)];
    series.name = in.symbols(static_cast<int>(s.name_ref()));
    series.labels.reserve(static_cast<std::size_t>(s.label_refs_size() / 2));
    for (int j = 0; j + 1 < s.label_refs_size(); j += 2) {
      series.labels.emplace_back(in.symbols(static_cast<int>(s.label_refs(j))),
                                 in.symbols(static_cast<int>(s.label_refs(j + 1))));
    }
    EF_CHECK(parse_points(s, static_cast<std::size_t>(i), series));
  }
  EF_CHECK(validate_batch(out, limits));
  return out;
}

}  // namespace ef::telemetry
