#include "core/spool/format.hpp"

#include <array>
#include <cstring>

namespace ef::spool::format {

namespace {

constexpr std::string_view kSegmentMagic = "EFSPSEG1";
constexpr std::string_view kStateMagic = "EFSPSTA1";
constexpr std::uint32_t kVersion = 1;
constexpr std::size_t kStateFields = 7;
constexpr std::size_t kStateBytes = 8 + 4 + kStateFields * 8 + 4;

// Reflected Castagnoli polynomial; a byte-wise table is fast enough next to an fsync.
constexpr std::array<std::uint32_t, 256> make_table() {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k)
      c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
    table[i] = c;
  }
  return table;
}
constexpr auto kTable = make_table();

void put_u32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
std::uint32_t get_u32(const char* p) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= std::uint32_t(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}
std::uint64_t get_u64(const char* p) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v |= std::uint64_t(static_cast<unsigned char>(p[i])) << (8 * i);
  return v;
}

}  // namespace

std::uint32_t crc32c(std::string_view data, std::uint32_t crc) {
  crc = ~crc;
  for (unsigned char b : data)
    crc = kTable[(crc ^ b) & 0xff] ^ (crc >> 8);
  return ~crc;
}

std::uint32_t frame_crc(std::uint64_t sequence, std::string_view bytes) {
  std::string seq;
  put_u64(seq, sequence);
  return crc32c(bytes, crc32c(seq));
}

std::string encode_frame(std::uint64_t sequence, std::string_view bytes) {
  std::string out;
  out.reserve(kFrameHeaderBytes + bytes.size());
  put_u32(out, static_cast<std::uint32_t>(bytes.size()));
  put_u64(out, sequence);
  put_u32(out, frame_crc(sequence, bytes));
  out.append(bytes);
  return out;
}

FrameHeader decode_frame_header(const char (&bytes)[kFrameHeaderBytes]) {
  return {get_u32(bytes), get_u64(bytes + 4), get_u32(bytes + 12)};
}

std::string encode_segment_header(const SegmentHeader& h) {
  std::string out(kSegmentMagic);
  put_u32(out, kVersion);
  put_u32(out, 0);  // reserved
  put_u64(out, h.first_sequence);
  put_u64(out, h.last_sequence);
  put_u64(out, h.records);
  put_u64(out, h.payload_bytes);
  put_u32(out, h.payload_crc);
  put_u32(out, crc32c(out));
  return out;
}

Result<SegmentHeader> decode_segment_header(std::string_view bytes) {
  if (bytes.size() < kSegmentHeaderBytes)
    return make_error(Errc::malformed, "segment header is truncated");
  if (bytes.substr(0, 8) != kSegmentMagic) return make_error(Errc::malformed, "not a segment");
  const char* p = bytes.data();
  if (crc32c(bytes.substr(0, kSegmentHeaderBytes - 4)) != get_u32(p + kSegmentHeaderBytes - 4))
    return make_error(Errc::malformed, "segment header CRC mismatch");
  if (get_u32(p + 8) != kVersion)
    return make_error(Errc::unsupported, "segment version " + std::to_string(get_u32(p + 8)));
  SegmentHeader h{get_u64(p + 16), get_u64(p + 24), get_u64(p + 32), get_u64(p + 40),
                  get_u32(p + 48)};
  if (h.first_sequence == 0 || h.first_sequence > h.last_sequence || h.records == 0 ||
      h.records - 1 > h.last_sequence - h.first_sequence)
    return make_error(Errc::malformed, "segment header sequences are incoherent");
  return h;
}

std::string encode_state(const PersistentState& s) {
  std::string out(kStateMagic);
  put_u32(out, kVersion);
  for (std::uint64_t v :
       {s.next_sequence, s.next_segment_id, s.evicted_through, s.evicted_segments_total,
        s.evicted_records_total, s.torn_bytes_cut_total, s.corrupt_segments_total})
    put_u64(out, v);
  put_u32(out, crc32c(out));
  return out;
}

Result<PersistentState> decode_state(std::string_view bytes) {
  if (bytes.size() != kStateBytes || bytes.substr(0, 8) != kStateMagic)
    return make_error(Errc::malformed, "not a spool state file");
  const char* p = bytes.data();
  if (crc32c(bytes.substr(0, kStateBytes - 4)) != get_u32(p + kStateBytes - 4))
    return make_error(Errc::malformed, "spool state CRC mismatch");
  if (get_u32(p + 8) != kVersion)
    return make_error(Errc::unsupported, "spool state version " + std::to_string(get_u32(p + 8)));
  std::array<std::uint64_t, kStateFields> v{};
  for (std::size_t i = 0; i < kStateFields; ++i)
    v[i] = get_u64(p + 12 + 8 * i);
  return PersistentState{v[0], v[1], v[2], v[3], v[4], v[5], v[6]};
}

}  // namespace ef::spool::format
