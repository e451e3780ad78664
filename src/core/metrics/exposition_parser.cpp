#include "core/metrics/exposition_parser.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "core/metrics/metrics.hpp"

namespace ef::metrics {

namespace {

// A cursor over one line, with the line number for messages.
struct Line {
  std::string_view text;
  std::size_t pos = 0;
  std::size_t number = 0;

  bool done() const { return pos >= text.size(); }
  char peek() const { return done() ? '\0' : text[pos]; }
  void skip_blanks() {
    while (!done() && (text[pos] == ' ' || text[pos] == '\t'))
      ++pos;
  }
  Error error(const std::string& what) const {
    return make_error(Errc::malformed, "line " + std::to_string(number) + ": " + what);
  }
};

bool name_char(char c, bool first) {
  const bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
  return letter || (!first && c >= '0' && c <= '9');
}

std::string_view read_name(Line& line) {
  const std::size_t start = line.pos;
  while (!line.done() && name_char(line.text[line.pos], line.pos == start))
    ++line.pos;
  return line.text.substr(start, line.pos - start);
}

Result<std::string> read_label_value(Line& line, std::size_t max_bytes) {
  if (line.peek() != '"') return line.error("a label value must be in double quotes");
  ++line.pos;
  std::string value;
  for (;;) {
    if (line.done()) return line.error("unterminated label value");
    const char c = line.text[line.pos++];
    if (c == '"') return value;
    if (c == '\\') {
      if (line.done()) return line.error("unterminated escape in a label value");
      const char e = line.text[line.pos++];
      if (e == 'n') {
        value += '\n';
      } else if (e == '\\' || e == '"') {
        value += e;
      } else {
        return line.error(std::string("unknown escape \\") + e + " in a label value");
      }
    } else {
      value += c;
    }
    if (value.size() > max_bytes) return line.error("a label value is too long");
  }
}

Result<std::vector<std::pair<std::string, std::string>>> read_labels(
    Line& line, const ExpositionLimits& limits) {
  std::vector<std::pair<std::string, std::string>> labels;
  ++line.pos;  // '{'
  for (;;) {
    line.skip_blanks();
    if (line.peek() == '}') break;
    const std::string_view name = read_name(line);
    if (!valid_label_name(name)) return line.error("invalid label name");
    line.skip_blanks();
    if (line.peek() != '=') return line.error("expected '=' after label " + std::string(name));
    ++line.pos;
    line.skip_blanks();
    EF_TRY(std::string value, read_label_value(line, limits.max_label_value_bytes));
    labels.emplace_back(std::string(name), std::move(value));
    if (labels.size() > limits.max_labels) return line.error("too many labels");
    line.skip_blanks();
    if (line.peek() == ',') {
      ++line.pos;
      continue;
    }
    if (line.peek() != '}') return line.error("expected ',' or '}' in the labels");
  }
  ++line.pos;  // '}'
  std::sort(labels.begin(), labels.end());
  for (std::size_t i = 1; i < labels.size(); ++i) {
    if (labels[i].first == labels[i - 1].first)
      return line.error("label " + labels[i].first + " appears twice");
  }
  return labels;
}

Result<double> read_value(Line& line) {
  const std::size_t start = line.pos;
  while (!line.done() && line.text[line.pos] != ' ' && line.text[line.pos] != '\t')
    ++line.pos;
  const std::string_view word = line.text.substr(start, line.pos - start);
  if (word == "+Inf" || word == "Inf") return std::numeric_limits<double>::infinity();
  if (word == "-Inf") return -std::numeric_limits<double>::infinity();
  if (word == "NaN") return std::numeric_limits<double>::quiet_NaN();
  double value = 0;
  const auto* begin = word.data() + (word.starts_with('+') ? 1 : 0);
  const auto [end, ec] = std::from_chars(begin, word.data() + word.size(), value);
  if (word.empty() || ec != std::errc() || end != word.data() + word.size()) {
    return line.error("not a number: " + std::string(word.substr(0, 40)));
  }
  return value;
}

Result<ParsedSample> read_sample(Line& line, const ExpositionLimits& limits) {
  ParsedSample sample;
  sample.name = std::string(read_name(line));
  if (!valid_metric_name(sample.name)) return line.error("invalid metric name");
  line.skip_blanks();  // blanks may separate the name from its labels
  if (line.peek() == '{') {
    EF_TRY(sample.labels, read_labels(line, limits));
  }
  line.skip_blanks();
  EF_TRY(sample.value, read_value(line));
  line.skip_blanks();
  if (!line.done()) {
    std::int64_t ts = 0;
    const auto rest = line.text.substr(line.pos);
    const auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), ts);
    if (ec != std::errc()) return line.error("not a timestamp");
    line.pos += static_cast<std::size_t>(end - rest.data());
    line.skip_blanks();
    if (!line.done()) return line.error("unexpected text after the timestamp");
    sample.timestamp_ms = ts;
  }
  return sample;
}

// "# TYPE name kind" is recorded; "# HELP" and other comments are skipped.
Status read_comment(Line& line, Exposition& out) {
  const std::string_view rest = line.text.substr(1);
  if (!rest.starts_with(" TYPE ")) return {};
  Line type{rest.substr(6), 0, line.number};
  const std::string name(read_name(type));
  if (!valid_metric_name(name)) return line.error("invalid metric name in TYPE");
  type.skip_blanks();
  const std::string kind(type.text.substr(type.pos));
  static constexpr std::string_view kKinds[] = {"counter", "gauge", "histogram", "summary",
                                                "untyped"};
  if (std::find(std::begin(kKinds), std::end(kKinds), kind) == std::end(kKinds))
    return line.error("unknown metric type " + kind.substr(0, 40));
  if (!out.types.emplace(name, kind).second) return line.error("a second TYPE for " + name);
  return {};
}

}  // namespace

Result<Exposition> parse_exposition(std::string_view text, const ExpositionLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return make_error(Errc::too_large, "the exposition is larger than " +
                                           std::to_string(limits.max_bytes) + " bytes");
  }
  Exposition out;
  std::size_t number = 0;
  while (!text.empty()) {
    const std::size_t end = std::min(text.find('\n'), text.size());
    Line line{text.substr(0, end), 0, ++number};
    text.remove_prefix(std::min(end + 1, text.size()));
    if (!line.text.empty() && line.text.back() == '\r') line.text.remove_suffix(1);
    line.skip_blanks();
    if (line.done()) continue;
    if (line.peek() == '#') {
      line.text = line.text.substr(line.pos);
      EF_CHECK(read_comment(line, out));
      continue;
    }
    EF_TRY(ParsedSample sample, read_sample(line, limits));
    out.samples.push_back(std::move(sample));
    if (out.samples.size() > limits.max_samples) {
      return make_error(Errc::too_large,
                        "more than " + std::to_string(limits.max_samples) + " samples");
    }
  }
  return out;
}

}  // namespace ef::metrics
