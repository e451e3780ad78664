#include "runtime/model/metadata.hpp"

#include <cmath>

#include "core/common/fs.hpp"
#include "core/json/reader.hpp"

namespace ef::model {

namespace {

bool valid_plain_file_name(std::string_view name) {
  if (name.empty() || name.size() > 255 || name == "." || name == "..") return false;
  for (char c : name) {
    if (c == '/' || c == '\\' || c == '\0' || static_cast<unsigned char>(c) < 0x20) return false;
  }
  return true;
}

bool valid_tensor_name(std::string_view name) {
  if (name.empty() || name.size() > 256) return false;
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 0x20) return false;
  }
  return true;
}

Result<std::vector<double>> per_channel(json::ObjectReader& reader, std::string_view key,
                                        int channels, double min, bool exclusive_min) {
  EF_TRY(const json::Json* array, reader.optional_array(key));
  const std::string where = reader.path(key);
  if (!array) return make_error(Errc::malformed, where + ": missing (one number per channel)");
  if (array->size() != static_cast<std::size_t>(channels)) {
    return make_error(Errc::malformed, where + ": needs " + std::to_string(channels) +
                                           " numbers (one per channel), not " +
                                           std::to_string(array->size()));
  }
  std::vector<double> values;
  for (const auto& item : *array) {
    if (!item.is_number()) return make_error(Errc::malformed, where + ": must hold numbers only");
    const double v = item.get<double>();
    if (!std::isfinite(v) || v < min || (exclusive_min && v == min) || std::fabs(v) > 1e6) {
      return make_error(Errc::malformed, where + ": " + item.dump() + " is out of range");
    }
    values.push_back(v);
  }
  return values;
}

}  // namespace

bool valid_version(std::string_view version) {
  if (version.empty() || version.size() > 64) return false;
  for (char c : version) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '+' || c == '-';
    if (!ok) return false;
  }
  return true;
}

Result<Color> parse_color(std::string_view text) {
  if (text == "gray") return Color::gray;
  if (text == "bgr") return Color::bgr;
  if (text == "rgb") return Color::rgb;
  return make_error(Errc::malformed,
                    "must be gray, bgr or rgb, not \"" + std::string(text.substr(0, 32)) + "\"");
}

namespace {

// format, name, version, onnx, threshold.
Status parse_identity(json::ObjectReader& r, Metadata& m) {
  EF_TRY(auto format, r.integer("format", 1, 1000));
  if (format != 1) {
    return make_error(
        Errc::unsupported,
        "format: this runtime reads model metadata format 1, not " + std::to_string(format));
  }
  EF_TRY(m.name, r.string("name"));
  if (m.name.empty() || m.name.size() > 128) {
    return make_error(Errc::malformed, "name: must be 1 to 128 characters");
  }
  EF_TRY(m.version, r.string("version"));
  if (!valid_version(m.version)) {
    return make_error(Errc::malformed, "version: must be 1 to 64 of A-Z a-z 0-9 . _ + -");
  }
  EF_TRY(m.onnx_file, r.string("onnx"));
  if (!valid_plain_file_name(m.onnx_file)) {
    return make_error(Errc::unsafe_path,
                      "onnx: must be a plain file name in the model directory, "
                      "not \"" +
                          m.onnx_file.substr(0, 64) + "\"");
  }
  EF_TRY(m.threshold, r.number("threshold", 0, 1e12));
  if (!(m.threshold > 0)) return make_error(Errc::malformed, "threshold: must be greater than 0");
  return {};
}

Result<InputSpec> parse_input(json::ObjectReader& r) {
  EF_TRY(const json::Json* input, r.optional_object("input"));
  if (!input) return make_error(Errc::malformed, "input: missing");
  json::ObjectReader in(*input, "input");
  InputSpec spec;
  EF_TRY(spec.name, in.string("name"));
  if (!valid_tensor_name(spec.name)) return make_error(Errc::malformed, "input.name: invalid");
  EF_TRY(auto width, in.integer("width", 8, 4096));
  EF_TRY(auto height, in.integer("height", 8, 4096));
  spec.width = static_cast<int>(width);
  spec.height = static_cast<int>(height);
  EF_TRY(std::string color, in.string("color"));
  auto parsed_color = parse_color(color);
  if (!parsed_color) return std::move(parsed_color).error().context("input.color");
  spec.color = *parsed_color;
  EF_TRY(spec.scale, in.number("scale", 1e-9, 1e6));
  EF_TRY(spec.mean, per_channel(in, "mean", spec.channels(), -1e6, false));
  EF_TRY(spec.std, per_channel(in, "std", spec.channels(), 0, true));
  EF_CHECK(in.finish());
  return spec;
}

Status parse_outputs(json::ObjectReader& r, Metadata& m) {
  EF_TRY(const json::Json* outputs, r.optional_object("outputs"));
  if (!outputs) return make_error(Errc::malformed, "outputs: missing");
  json::ObjectReader out(*outputs, "outputs");
  EF_TRY(m.score_output, out.string("score"));
  EF_CHECK(out.optional("anomaly_map", m.map_output));
  if (!valid_tensor_name(m.score_output))
    return make_error(Errc::malformed, "outputs.score: invalid");
  if (out.has("anomaly_map") && !valid_tensor_name(m.map_output)) {
    return make_error(Errc::malformed, "outputs.anomaly_map: invalid");
  }
  return out.finish();
}

}  // namespace

Result<Metadata> parse_metadata(std::string_view text) {
  json::Limits limits;
  limits.max_bytes = kMaxMetadataBytes;
  limits.max_depth = 16;
  limits.allow_floats = true;
  EF_TRY(json::Json doc, json::parse_strict(text, limits));
  json::ObjectReader r(doc, "");
  EF_CHECK(r.valid());
  Metadata m;
  EF_CHECK(parse_identity(r, m));
  EF_TRY(m.input, parse_input(r));
  EF_CHECK(parse_outputs(r, m));
  EF_TRY(const json::Json* info, r.optional_object("info"));
  (void)info;  // provenance for people; deliberately not interpreted
  EF_CHECK(r.finish());
  return m;
}

Result<Metadata> load_metadata(const std::filesystem::path& model_dir) {
  const auto path = model_dir / kMetadataFileName;
  auto text = read_file(path, kMaxMetadataBytes);
  if (!text) {
    if (text.error().code == Errc::not_found) {
      return make_error(Errc::not_found, std::string(kMetadataFileName) + " is missing from " +
                                             model_dir.string() +
                                             " (every model directory needs one)");
    }
    return std::move(text).error().context("reading model metadata");
  }
  auto parsed = parse_metadata(*text);
  if (!parsed) return std::move(parsed).error().context(std::string(kMetadataFileName));
  return parsed;
}

}  // namespace ef::model
