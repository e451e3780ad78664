#include "core/telemetry/batch_codec.hpp"

#include <gtest/gtest.h>
#include <zstd.h>

#include <algorithm>
#include <bit>
#include <fstream>
#include <iterator>
#include <limits>

#include "core/telemetry/batch.pb.h"
#include "core/telemetry/batch_wire.hpp"
#include "core/telemetry/dictionary.hpp"
#include "test_batches.hpp"

namespace ef::telemetry {
namespace {

using testing::random_batch;
using testing::same_bits;
using testing::small_batch;

// Compresses a batch without validating it: how a hostile or buggy sender would.
std::string encode_unchecked(const Batch& b) {
  auto frame = compress_body(serialize_batch(b), 3);
  EXPECT_TRUE(frame) << frame.error().message;
  return *frame;
}

std::string encode(const Batch& b) {
  auto frame = encode_batch(b);
  EXPECT_TRUE(frame) << frame.error().message;
  return frame ? *frame : std::string();
}

void expect_refused(const Batch& b, Errc code, const std::string& words,
                    const CodecLimits& limits = {}, bool encoder_refuses = true) {
  auto decoded = decode_batch(encode_unchecked(b), limits);
  ASSERT_FALSE(decoded) << "decoded a batch that should be refused (" << words << ")";
  EXPECT_EQ(decoded.error().code, code) << decoded.error().message;
  EXPECT_NE(decoded.error().message.find(words), std::string::npos) << decoded.error().message;
  // The encoder refuses the same batch (it checks against the default limits).
  if (encoder_refuses) {
    EXPECT_FALSE(encode_batch(b)) << words;
  }
}

edgefleet::telemetry::v1::Batch proto_of(const Batch& b) {
  edgefleet::telemetry::v1::Batch pb;
  EXPECT_TRUE(pb.ParseFromString(serialize_batch(b)));
  return pb;
}

TEST(BatchCodec, RoundTripsRandomBatchesBitForBit) {
  for (std::uint64_t seed = 1; seed <= 40; ++seed) {
    const Batch b = random_batch(seed, 1 + seed % 30, 50);
    auto decoded = decode_batch(encode(b));
    ASSERT_TRUE(decoded) << "seed " << seed << ": " << decoded.error().message;
    EXPECT_TRUE(same_bits(b, *decoded)) << "seed " << seed;
  }
}

TEST(BatchCodec, RoundTripsSpecialValuesExactly) {
  const std::uint64_t payload_nan = 0xfff8dead00000001ULL;
  Batch b{0, 0, {{"m", {}, {}}}};
  const double values[] = {std::bit_cast<double>(testing::kStaleNaNBits),
                           std::numeric_limits<double>::quiet_NaN(),
                           std::bit_cast<double>(payload_nan),
                           std::numeric_limits<double>::infinity(),
                           -std::numeric_limits<double>::infinity(),
                           -0.0,
                           0.0,
                           std::numeric_limits<double>::denorm_min(),
                           std::numeric_limits<double>::max(),
                           std::numeric_limits<double>::lowest()};
  std::int64_t t = std::numeric_limits<std::int64_t>::min();
  for (double v : values) {
    b.series[0].points.push_back({t, v});
    t = t / 2 + 1;  // huge, uneven jumps
  }
  b.series[0].points.push_back({std::numeric_limits<std::int64_t>::max(), 1.0});
  auto decoded = decode_batch(encode(b));
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_TRUE(same_bits(b, *decoded));
  EXPECT_EQ(std::bit_cast<std::uint64_t>(decoded->series[0].points[0].value),
            testing::kStaleNaNBits);
}

TEST(BatchCodec, RoundTripsEmptyAndManySeries) {
  const Batch empty;
  auto decoded = decode_batch(encode(empty));
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(*decoded, empty);
  const Batch many = random_batch(99, 5000, 3);
  decoded = decode_batch(encode(many));
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_TRUE(same_bits(many, *decoded));
}

TEST(BatchCodec, UnchangedValuesCostOneByteBeforeCompression) {
  Batch flat{0, 0, {{"m", {}, {}}}};
  Batch changing = flat;
  for (int i = 0; i < 100; ++i) {
    flat.series[0].points.push_back({i * 15000LL, 42.5});
    changing.series[0].points.push_back({i * 15000LL, 42.5 + i * 0.37});
  }
  const auto flat_size = serialize_batch(flat).size();
  EXPECT_LT(flat_size, 100u * 4 + 30);  // 3-byte time delta + 1-byte value per point
  EXPECT_GT(serialize_batch(changing).size(), flat_size + 300);
}

TEST(BatchCodec, SymbolTableIsSortedWhateverTheSeriesOrder) {
  Batch b = small_batch();
  std::swap(b.series[0], b.series[1]);
  const auto pb = proto_of(b);
  ASSERT_EQ(pb.symbols_size(), 5);
  EXPECT_EQ(pb.symbols(0), "");
  EXPECT_TRUE(std::is_sorted(pb.symbols().begin(), pb.symbols().end()));
  auto decoded = decode_batch(encode(b));
  ASSERT_TRUE(decoded);
  EXPECT_EQ(*decoded, b);  // the series keep their order
}

TEST(BatchCodec, FrameCarriesTheDictionaryId) {
  const std::string frame = encode(small_batch());
  EXPECT_EQ(ZSTD_getDictID_fromFrame(frame.data(), frame.size()), kDictionaryId);
  EXPECT_GT(dictionary_content().size(), 1000u);
  EXPECT_EQ(dictionary_content(), serialize_batch(Batch{0, 0, dictionary_inventory()}));
}

// The dictionary's bytes are part of the wire format under kDictionaryId: a change to the
// inventory or to serialize_batch that moves them must come with a new id (and the old content
// kept for the decoder).
TEST(BatchCodec, DictionaryContentIsFrozenForItsId) {
  std::uint64_t fnv = 1469598103934665603ULL;
  for (unsigned char c : dictionary_content()) {
    fnv = (fnv ^ c) * 1099511628211ULL;
  }
  EXPECT_EQ(dictionary_content().size(), 3595u);
  EXPECT_EQ(fnv, 16116847779891116509ULL);
}

// A frame an earlier build wrote (a fuzz seed, from wire_bench --seeds) still decodes.
TEST(BatchCodec, DecodesAFrameWrittenByAnEarlierBuild) {
  std::ifstream file(EF_SOURCE_DIR "/fuzz/corpus/telemetry_batch/minute", std::ios::binary);
  const std::string frame((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(frame.empty());
  auto decoded = decode_batch(frame);
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(decoded->series.size(), 183u);
  EXPECT_EQ(point_count(*decoded), 4u * 183);
}

TEST(BatchCodec, RefusesUnsortedOrRepeatedLabels) {
  Batch b = small_batch();
  b.series[1].labels = {{"zone", "1"}, {"result", "committed"}};
  expect_refused(b, Errc::malformed, "not sorted");
  b.series[1].labels = {{"result", "committed"}, {"result", "failed"}};
  expect_refused(b, Errc::malformed, "repeated");
}

TEST(BatchCodec, RefusesEmptyOrInvalidNames) {
  Batch b = small_batch();
  b.series[0].name = "";
  expect_refused(b, Errc::malformed, "metric name");
  b.series[0].name = "1starts_with_digit";
  expect_refused(b, Errc::malformed, "metric name");
  b = small_batch();
  b.series[1].labels = {{"", "x"}};
  expect_refused(b, Errc::malformed, "label name");
  b.series[1].labels = {{"__reserved", "x"}};
  expect_refused(b, Errc::malformed, "label name");
  b.series[1].labels = {{"has-dash", "x"}};
  expect_refused(b, Errc::malformed, "label name");
  b.series[1].labels = {{"result", ""}};
  expect_refused(b, Errc::malformed, "empty value");
  for (const char* bad : {"\xff", "caf\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80"}) {
    b.series[1].labels = {{"result", bad}};
    expect_refused(b, Errc::malformed, "UTF-8");
  }
  b.series[1].labels = {{"sensor", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x94\xa5"}};  // valid
  auto decoded = decode_batch(encode(b));
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(*decoded, b);
}

TEST(BatchCodec, RefusesDuplicateSeries) {
  Batch b = small_batch();
  b.series.push_back(b.series[1]);
  b.series.back().points = {{99000, 1.0}};
  expect_refused(b, Errc::malformed, "appears twice");
}

TEST(BatchCodec, RefusesTimeThatDoesNotMoveForward) {
  Batch b = small_batch();
  b.series[1].points[1].timestamp_ms = b.series[1].points[0].timestamp_ms;
  expect_refused(b, Errc::malformed, "not later");
  b = small_batch();
  b.series[1].points[2].timestamp_ms = 0;
  expect_refused(b, Errc::malformed, "not later");
}

TEST(BatchCodec, RefusesAnInvertedSequenceRange) {
  Batch b = small_batch();
  b.first_sequence = 11;
  expect_refused(b, Errc::malformed, "first_sequence");
}

TEST(BatchCodec, RefusesWhatExceedsTheLimits) {
  const Batch b = random_batch(5, 20, 10);
  CodecLimits limits;
  limits.max_series = 19;
  expect_refused(b, Errc::too_large, "series", limits, false);
  limits = {};
  limits.max_points = 3;
  expect_refused(b, Errc::too_large, "points", limits, false);
  limits = {};
  limits.max_labels_per_series = 1;
  expect_refused(b, Errc::too_large, "labels", limits, false);
  limits = {};
  limits.max_string_bytes = 10;
  expect_refused(b, Errc::too_large, "longer than", limits, false);
  limits = {};
  limits.max_encoded_bytes = 10;
  expect_refused(b, Errc::too_large, "more than 10", limits, false);
  limits = {};
  limits.max_decoded_bytes = 100;
  expect_refused(b, Errc::too_large, "more than 100", limits, false);
}

// Bodies a broken or hostile encoder could write: refs and counts that do not add up.
void expect_proto_refused(const edgefleet::telemetry::v1::Batch& pb, const std::string& words) {
  auto frame = compress_body(pb.SerializeAsString(), 3);
  ASSERT_TRUE(frame);
  auto decoded = decode_batch(*frame);
  ASSERT_FALSE(decoded) << words;
  EXPECT_EQ(decoded.error().code, Errc::malformed) << decoded.error().message;
  EXPECT_NE(decoded.error().message.find(words), std::string::npos) << decoded.error().message;
}

TEST(BatchCodec, RefusesReferencesOutsideTheSymbolTable) {
  auto pb = proto_of(small_batch());
  pb.mutable_series(0)->set_name_ref(static_cast<std::uint32_t>(pb.symbols_size()));
  expect_proto_refused(pb, "past the table");
  pb = proto_of(small_batch());
  pb.mutable_series(1)->set_label_refs(1, 4000000000u);
  expect_proto_refused(pb, "past the table");
}

TEST(BatchCodec, RefusesMismatchedCounts) {
  auto pb = proto_of(small_batch());
  pb.mutable_series(1)->add_label_refs(1);
  expect_proto_refused(pb, "odd number");
  pb = proto_of(small_batch());
  pb.mutable_series(0)->add_value_xors(0);
  expect_proto_refused(pb, "timestamps but");
  pb = proto_of(small_batch());
  pb.mutable_series(0)->set_timestamp_deltas(1, 0);
  expect_proto_refused(pb, "not later");
  pb = proto_of(small_batch());
  pb.mutable_series(0)->set_timestamp_deltas(1, -5);
  expect_proto_refused(pb, "not later");
}

TEST(BatchCodec, RefusesGarbageAndTrailingBytes) {
  for (const std::string& bad : {std::string(), std::string("hello"), std::string(64, '\0')}) {
    auto decoded = decode_batch(bad);
    ASSERT_FALSE(decoded);
    EXPECT_EQ(decoded.error().code, Errc::malformed) << decoded.error().message;
  }
  auto decoded = decode_batch(encode(small_batch()) + "x");
  ASSERT_FALSE(decoded);
  EXPECT_NE(decoded.error().message.find("after the zstd frame"), std::string::npos);
  // A well-formed frame whose content is not our protobuf.
  decoded = decode_batch(*compress_body(std::string(100, '\xff'), 3));
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().code, Errc::malformed);
}

TEST(BatchCodec, EveryTruncationIsAnError) {
  const std::string frame = encode(random_batch(3, 10, 8));
  for (std::size_t n = 0; n < frame.size(); ++n) {
    auto decoded = decode_batch(std::string_view(frame).substr(0, n));
    ASSERT_FALSE(decoded) << "a prefix of " << n << " bytes decoded";
    EXPECT_NE(decoded.error().code, Errc::internal);
  }
}

TEST(BatchCodec, EveryBitFlipIsAnErrorOrHarmless) {
  const Batch b = random_batch(4, 6, 6);
  const std::string frame = encode(b);
  std::size_t refused = 0;
  for (std::size_t bit = 0; bit < frame.size() * 8; ++bit) {
    std::string flipped = frame;
    flipped[bit / 8] = static_cast<char>(flipped[bit / 8] ^ (1 << (bit % 8)));
    auto decoded = decode_batch(flipped);
    if (!decoded) {
      ++refused;
      continue;
    }
    // The checksum leaves nothing but header bits that do not change the content.
    EXPECT_TRUE(same_bits(b, *decoded)) << "bit " << bit << " changed the batch undetected";
  }
  EXPECT_GT(refused, frame.size() * 8 * 95 / 100);
}

std::string stamped_zeros(std::size_t size, bool declare_size) {
  const std::string zeros(size, '\0');
  if (declare_size) return *compress_body(zeros, 3);
  // Streamed without a pledged size: the header declares nothing.
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_loadDictionary(cctx, dictionary_content().data(), dictionary_content().size());
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, 17);  // within what the decoder allows
  std::string out(ZSTD_compressBound(size), '\0');
  ZSTD_inBuffer in{zeros.data(), zeros.size(), 0};
  ZSTD_outBuffer o{out.data(), out.size(), 0};
  ZSTD_compressStream2(cctx, &o, &in, ZSTD_e_continue);  // the header goes out without a size
  while (ZSTD_compressStream2(cctx, &o, &in, ZSTD_e_end) != 0) {
  }
  ZSTD_freeCCtx(cctx);
  out.resize(o.pos);
  EXPECT_EQ(ZSTD_getFrameContentSize(out.data(), out.size()), ZSTD_CONTENTSIZE_UNKNOWN);
  // Stamp our id the way the encoder does (no single-segment flag without a size).
  out.insert(6, std::string("\x01\x00\x46\x45", 4));
  out[4] = static_cast<char>(out[4] | 3);
  return out;
}

TEST(BatchCodec, RefusesAZstdBomb) {
  CodecLimits limits;
  limits.max_decoded_bytes = 1 << 20;
  const std::string declared = stamped_zeros(8 << 20, true);
  EXPECT_LT(declared.size(), 2000u);
  auto decoded = decode_batch(declared, limits);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().code, Errc::too_large);
  EXPECT_NE(decoded.error().message.find("declares"), std::string::npos) << decoded.error().message;
  const std::string undeclared = stamped_zeros(8 << 20, false);
  EXPECT_EQ(ZSTD_getDictID_fromFrame(undeclared.data(), undeclared.size()), kDictionaryId);
  decoded = decode_batch(undeclared, limits);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().code, Errc::too_large) << decoded.error().message;
  EXPECT_NE(decoded.error().message.find("inflates past"), std::string::npos)
      << decoded.error().message;
  // A window wider than the output bound is refused before the decoder allocates it.
  ZSTD_CCtx* cctx = ZSTD_createCCtx();
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, 26);
  ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 19);
  const std::string zeros(8 << 20, '\0');
  std::string wide(ZSTD_compressBound(zeros.size()), '\0');
  ZSTD_inBuffer in{zeros.data(), zeros.size(), 0};
  ZSTD_outBuffer o{wide.data(), wide.size(), 0};
  ZSTD_compressStream2(cctx, &o, &in, ZSTD_e_continue);
  while (ZSTD_compressStream2(cctx, &o, &in, ZSTD_e_end) != 0) {
  }
  ZSTD_freeCCtx(cctx);
  wide.resize(o.pos);
  wide.insert(6, std::string("\x01\x00\x46\x45", 4));
  wide[4] = static_cast<char>(wide[4] | 3);
  decoded = decode_batch(wide, limits);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().code, Errc::too_large) << decoded.error().message;
}

TEST(BatchCodec, RefusesAnUnknownDictionaryId) {
  std::string frame = encode(small_batch());
  // Single-segment frame: the 4-byte id follows the descriptor at offset 5.
  ASSERT_EQ(static_cast<unsigned char>(frame[4]) & 0x23u, 0x23u);
  frame[5] = static_cast<char>(frame[5] ^ 0x01);
  auto decoded = decode_batch(frame);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().code, Errc::unsupported);
  EXPECT_NE(decoded.error().message.find("dictionary id " + std::to_string(kDictionaryId ^ 1)),
            std::string::npos)
      << decoded.error().message;
  // Compressed without any dictionary (id 0).
  const std::string body = serialize_batch(small_batch());
  std::string plain(ZSTD_compressBound(body.size()), '\0');
  plain.resize(ZSTD_compress(plain.data(), plain.size(), body.data(), body.size(), 3));
  decoded = decode_batch(plain);
  ASSERT_FALSE(decoded);
  EXPECT_EQ(decoded.error().code, Errc::unsupported);
  EXPECT_NE(decoded.error().message.find("dictionary id 0"), std::string::npos);
}

}  // namespace
}  // namespace ef::telemetry
