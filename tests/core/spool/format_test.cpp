#include "core/spool/format.hpp"

#include <gtest/gtest.h>

namespace ef::spool::format {
namespace {

TEST(SpoolFormat, Crc32cMatchesTheKnownCheckValue) {
  EXPECT_EQ(crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(crc32c(""), 0u);
  // Chained computation equals the one-shot one.
  EXPECT_EQ(crc32c("6789", crc32c("12345")), crc32c("123456789"));
}

TEST(SpoolFormat, FrameRoundTripsAndItsCrcCoversTheSequence) {
  const std::string frame = encode_frame(42, "hello");
  ASSERT_EQ(frame.size(), kFrameHeaderBytes + 5);
  char raw[kFrameHeaderBytes];
  frame.copy(raw, kFrameHeaderBytes);
  const FrameHeader h = decode_frame_header(raw);
  EXPECT_EQ(h.length, 5u);
  EXPECT_EQ(h.sequence, 42u);
  EXPECT_EQ(h.crc, frame_crc(42, "hello"));
  EXPECT_NE(h.crc, frame_crc(43, "hello"));
}

TEST(SpoolFormat, SegmentHeaderRoundTripsAndRefusesEveryFlippedBit) {
  const SegmentHeader h{10, 19, 10, 1234, 0xdeadbeef};
  const std::string bytes = encode_segment_header(h);
  ASSERT_EQ(bytes.size(), kSegmentHeaderBytes);
  auto back = decode_segment_header(bytes);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(back->first_sequence, 10u);
  EXPECT_EQ(back->last_sequence, 19u);
  EXPECT_EQ(back->records, 10u);
  EXPECT_EQ(back->payload_bytes, 1234u);
  EXPECT_EQ(back->payload_crc, 0xdeadbeefu);
  for (std::size_t bit = 0; bit < bytes.size() * 8; ++bit) {
    std::string bad = bytes;
    bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
    EXPECT_FALSE(decode_segment_header(bad)) << "bit " << bit;
  }
  EXPECT_FALSE(decode_segment_header(bytes.substr(0, kSegmentHeaderBytes - 1)));
}

TEST(SpoolFormat, SegmentHeaderWithIncoherentSequencesIsRefused) {
  EXPECT_FALSE(decode_segment_header(encode_segment_header({5, 4, 1, 0, 0})));  // last < first
  EXPECT_FALSE(decode_segment_header(encode_segment_header({1, 3, 4, 0, 0})));  // too many
  EXPECT_FALSE(decode_segment_header(encode_segment_header({1, 3, 0, 0, 0})));  // none
  EXPECT_FALSE(decode_segment_header(encode_segment_header({0, 3, 1, 0, 0})));  // sequence 0
  EXPECT_TRUE(decode_segment_header(encode_segment_header({1, 3, 2, 0, 0})));   // a gap is fine
}

TEST(SpoolFormat, StateRoundTripsAndRefusesDamage) {
  const PersistentState s{7, 3, 1, 2, 9, 100, 4};
  const std::string bytes = encode_state(s);
  auto back = decode_state(bytes);
  ASSERT_TRUE(back) << back.error().message;
  EXPECT_EQ(*back, s);
  std::string bad = bytes;
  bad[20] ^= 1;
  EXPECT_FALSE(decode_state(bad));
  EXPECT_FALSE(decode_state(bytes.substr(1)));
  EXPECT_FALSE(decode_state(bytes + "x"));
  EXPECT_FALSE(decode_state(""));
}

}  // namespace
}  // namespace ef::spool::format
