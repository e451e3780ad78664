#include "core/telemetry/remote_write.hpp"

#include <gtest/gtest.h>
#include <snappy.h>

#include <bit>
#include <cstring>

#include "core/telemetry/remote_write.pb.h"
#include "test_batches.hpp"

namespace ef::telemetry {
namespace {

std::vector<Series> sample_series() {
  return {{"edgefleet_agent_updates_total",
           {{"result", "committed"}, {"zone", "b"}},
           {{1700000000000, 3.0}, {1700000015000, 4.0}}},
          {"up", {}, {{5, std::bit_cast<double>(testing::kStaleNaNBits)}}}};
}

TEST(RemoteWrite, RoundTrips) {
  const auto series = sample_series();
  auto decoded = decode_write_request(encode_write_request(series));
  ASSERT_TRUE(decoded) << decoded.error().message;
  ASSERT_EQ(decoded->size(), 2u);
  EXPECT_EQ((*decoded)[0], series[0]);
  EXPECT_EQ(std::bit_cast<std::uint64_t>((*decoded)[1].points[0].value), testing::kStaleNaNBits);
  const Batch random = testing::random_batch(8, 50, 20);
  decoded = decode_write_request(encode_write_request(random.series));
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_TRUE(
      testing::same_bits(random, Batch{random.first_sequence, random.last_sequence, *decoded}));
}

// Reads one protobuf varint at pos.
std::uint64_t varint(const std::string& b, std::size_t& pos) {
  std::uint64_t v = 0;
  for (int shift = 0; pos < b.size(); shift += 7) {
    const auto byte = static_cast<unsigned char>(b[pos++]);
    v |= std::uint64_t{byte & 0x7fu} << shift;
    if (!(byte & 0x80u)) break;
  }
  return v;
}

// The specification's field numbers, checked by hand on the wire bytes.
TEST(RemoteWrite, WireBytesFollowTheSpecificationFieldNumbers) {
  const std::string body = encode_write_request({{"up", {{"job", "x"}}, {{1000, 1.5}}}});
  std::string raw;
  ASSERT_TRUE(snappy::Uncompress(body.data(), body.size(), &raw));
  std::size_t pos = 0;
  EXPECT_EQ(raw[pos++], '\x0a');  // WriteRequest.timeseries = 1, length-delimited
  EXPECT_EQ(varint(raw, pos), raw.size() - 2);
  EXPECT_EQ(raw[pos++], '\x0a');  // TimeSeries.labels = 1
  EXPECT_EQ(varint(raw, pos), 14u);
  EXPECT_EQ(raw.substr(pos, 14), std::string("\x0a\x08__name__\x12\x02up", 14));  // name=1 value=2
  pos += 14;
  EXPECT_EQ(raw[pos++], '\x0a');
  EXPECT_EQ(varint(raw, pos), 8u);
  EXPECT_EQ(raw.substr(pos, 8), std::string("\x0a\x03job\x12\x01x", 8));
  pos += 8;
  EXPECT_EQ(raw[pos++], '\x12');  // TimeSeries.samples = 2
  EXPECT_EQ(varint(raw, pos), 12u);
  EXPECT_EQ(raw[pos++], '\x09');  // Sample.value = 1, 64-bit
  double value;
  std::memcpy(&value, raw.data() + pos, 8);
  EXPECT_EQ(value, 1.5);
  pos += 8;
  EXPECT_EQ(raw[pos++], '\x10');  // Sample.timestamp = 2, varint
  EXPECT_EQ(varint(raw, pos), 1000u);
  EXPECT_EQ(pos, raw.size());
  // And the generated parser agrees.
  edgefleet::telemetry::prw1::WriteRequest request;
  ASSERT_TRUE(request.ParseFromString(raw));
  EXPECT_EQ(request.timeseries(0).labels(0).name(), "__name__");
  EXPECT_EQ(request.timeseries(0).samples(0).timestamp(), 1000);
}

TEST(RemoteWrite, SortsLabelsWithNameFirst) {
  const std::string body =
      encode_write_request({{"m", {{"a", "1"}, {"le", "+Inf"}, {"zone", "z"}}, {{1, 1.0}}}});
  std::string raw;
  ASSERT_TRUE(snappy::Uncompress(body.data(), body.size(), &raw));
  edgefleet::telemetry::prw1::WriteRequest request;
  ASSERT_TRUE(request.ParseFromString(raw));
  const auto& labels = request.timeseries(0).labels();
  ASSERT_EQ(labels.size(), 4);
  EXPECT_EQ(labels[0].name(), "__name__");
  EXPECT_EQ(labels[1].name(), "a");
  EXPECT_EQ(labels[2].name(), "le");
  EXPECT_EQ(labels[3].name(), "zone");
}

std::string snappy_of(const edgefleet::telemetry::prw1::WriteRequest& request) {
  std::string out;
  const std::string raw = request.SerializeAsString();
  snappy::Compress(raw.data(), raw.size(), &out);
  return out;
}

void expect_refused(const std::string& body, Errc code, const std::string& words,
                    const CodecLimits& limits = {}) {
  auto decoded = decode_write_request(body, limits);
  ASSERT_FALSE(decoded) << words;
  EXPECT_EQ(decoded.error().code, code) << decoded.error().message;
  EXPECT_NE(decoded.error().message.find(words), std::string::npos) << decoded.error().message;
}

TEST(RemoteWrite, RefusesHostileRequests) {
  expect_refused("", Errc::malformed, "snappy");
  expect_refused("\xff\xff\xff\xff\xff\xff", Errc::malformed, "snappy");
  // A five-byte header declaring 4 GiB - 1: refused before anything is allocated.
  expect_refused(std::string("\xff\xff\xff\xff\x0f\x00", 6), Errc::too_large, "declares");
  CodecLimits small;
  small.max_encoded_bytes = 4;
  expect_refused(encode_write_request(sample_series()), Errc::too_large, "more than 4", small);
  std::string cut = encode_write_request(sample_series());
  cut.resize(cut.size() - 3);
  expect_refused(cut, Errc::malformed, "corrupt or cut short");

  edgefleet::telemetry::prw1::WriteRequest request;
  auto* ts = request.add_timeseries();
  auto* label = ts->add_labels();
  label->set_name("job");
  label->set_value("x");
  expect_refused(snappy_of(request), Errc::malformed, "no __name__");
  label = ts->add_labels();
  label->set_name("__name__");
  label->set_value("up");
  expect_refused(snappy_of(request), Errc::malformed, "not sorted");
  ts->mutable_labels()->SwapElements(0, 1);
  auto* sample = ts->add_samples();
  sample->set_timestamp(10);
  sample = ts->add_samples();
  sample->set_timestamp(10);
  expect_refused(snappy_of(request), Errc::malformed, "not later");
  ts->mutable_samples(1)->set_timestamp(11);
  EXPECT_TRUE(decode_write_request(snappy_of(request)));
  *request.add_timeseries() = *ts;
  expect_refused(snappy_of(request), Errc::malformed, "appears twice");
  expect_refused(std::string("\x05\x10garbage"), Errc::malformed, "");
}

TEST(RemoteWrite, RefusesWhatPrometheusWouldRefuseAndWhatExceedsLimits) {
  expect_refused(encode_write_request({{"up", {{"job", "\xc3"}}, {{1, 1.0}}}}), Errc::malformed,
                 "UTF-8");
  expect_refused(encode_write_request({{"up", {{"job", ""}}, {{1, 1.0}}}}), Errc::malformed,
                 "empty value");
  expect_refused(encode_write_request({{"1up", {}, {{1, 1.0}}}}), Errc::malformed, "metric name");
  const auto many = testing::random_batch(9, 30, 5).series;
  CodecLimits limits;
  limits.max_series = 29;
  expect_refused(encode_write_request(many), Errc::too_large, "series", limits);
  limits = {};
  limits.max_decoded_bytes = 64;
  expect_refused(encode_write_request(many), Errc::too_large, "declares", limits);
  limits = {};
  limits.max_labels_per_series = 1;
  expect_refused(encode_write_request(many), Errc::too_large, "labels", limits);
}

}  // namespace
}  // namespace ef::telemetry
