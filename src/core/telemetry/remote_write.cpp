#include "core/telemetry/remote_write.hpp"

#include <snappy.h>

#include <algorithm>
#include <utility>

#include "core/telemetry/batch_wire.hpp"
#include "core/telemetry/remote_write.pb.h"

namespace ef::telemetry {
namespace {

namespace pb = edgefleet::telemetry::prw1;

constexpr std::string_view kNameLabel = "__name__";

Error malformed(std::string message) {
  return make_error(Errc::malformed, std::move(message));
}
Error too_large(std::string message) {
  return make_error(Errc::too_large, std::move(message));
}

}  // namespace

std::string encode_write_request(const std::vector<Series>& series) {
  pb::WriteRequest request;
  for (const auto& s : series) {
    auto& out = *request.add_timeseries();
    // The specification wants every label, __name__ included, sorted by name; __name__ sorts
    // first against every label name starting with a lower-case letter.
    std::vector<std::pair<std::string_view, std::string_view>> labels;
    labels.reserve(s.labels.size() + 1);
    labels.emplace_back(kNameLabel, s.name);
    for (const auto& [name, value] : s.labels)
      labels.emplace_back(name, value);
    std::sort(labels.begin(), labels.end());
    for (const auto& [name, value] : labels) {
      auto& label = *out.add_labels();
      label.set_name(std::string(name));
      label.set_value(std::string(value));
    }
    for (const auto& p : s.points) {
      auto& sample = *out.add_samples();
      sample.set_value(p.value);
      sample.set_timestamp(p.timestamp_ms);
    }
  }
  std::string body = request.SerializeAsString();
  std::string compressed;
  snappy::Compress(body.data(), body.size(), &compressed);
  return compressed;
}

namespace {

Result<std::string> uncompress(std::string_view body, const CodecLimits& limits) {
  if (body.size() > limits.max_encoded_bytes) {
    return too_large("request of " + std::to_string(body.size()) + " bytes, more than " +
                     std::to_string(limits.max_encoded_bytes));
  }
  std::size_t length = 0;
  if (!snappy::GetUncompressedLength(body.data(), body.size(), &length)) {
    return malformed("not a snappy block (no valid length header)");
  }
  if (length > limits.max_decoded_bytes) {
    return too_large("request declares " + std::to_string(length) +
                     " bytes uncompressed, more than " + std::to_string(limits.max_decoded_bytes));
  }
  std::string out;
  if (!snappy::Uncompress(body.data(), body.size(), &out)) {
    return malformed("snappy block is corrupt or cut short");
  }
  return out;
}

Result<Series> convert(const pb::TimeSeries& in, const CodecLimits& limits) {
  if (static_cast<std::size_t>(in.labels_size()) > limits.max_labels_per_series + 1) {
    return too_large("a series has more than " + std::to_string(limits.max_labels_per_series) +
                     " labels");
  }
  Series out;
  bool named = false;
  for (int i = 0; i < in.labels_size(); ++i) {
    const auto& label = in.labels(i);
    if (i > 0 && !(in.labels(i - 1).name() < label.name())) {
      return malformed("labels not sorted by name or repeated ('" + label.name().substr(0, 64) +
                       "')");
    }
    if (label.name() == kNameLabel) {
      out.name = label.value();
      named = true;
    } else {
      out.labels.emplace_back(label.name(), label.value());
    }
  }
  if (!named) return malformed("a series has no __name__ label");
  out.points.reserve(static_cast<std::size_t>(in.samples_size()));
  for (const auto& sample : in.samples())
    out.points.push_back({sample.timestamp(), sample.value()});
  return out;
}

}  // namespace

Result<std::vector<Series>> decode_write_request(std::string_view snappy_body,
                                                 const CodecLimits& limits) {
  EF_TRY(const std::string body, uncompress(snappy_body, limits));
  pb::WriteRequest request;
  if (!request.ParseFromString(body)) return malformed("not a valid remote-write WriteRequest");
  if (static_cast<std::size_t>(request.timeseries_size()) > limits.max_series) {
    return too_large(std::to_string(request.timeseries_size()) + " series, more than " +
                     std::to_string(limits.max_series));
  }
  Batch batch;
  batch.series.reserve(static_cast<std::size_t>(request.timeseries_size()));
  for (const auto& ts : request.timeseries()) {
    EF_TRY(Series s, convert(ts, limits));
    batch.series.push_back(std::move(s));
  }
  // The same rules as our own batches: valid names, strictly increasing time, no repeats.
  EF_CHECK(validate_batch(batch, limits));
  return std::move(batch.series);
}

}  // namespace ef::telemetry
