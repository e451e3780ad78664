// libFuzzer target for the telemetry decoders the server runs on every device's upload: the
// batch codec (zstd frame and, since the frame's checksum stops most mutations there, the
// protobuf layer on its own) and the remote-write decoder. Any input is refused or decoded, and
// what decodes re-encodes to the same batch, bit for bit.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/telemetry/batch_codec.hpp"
#include "core/telemetry/batch_wire.hpp"
#include "core/telemetry/remote_write.hpp"

namespace {

using ef::telemetry::Batch;

bool same_bits(const Batch& a, const Batch& b) {
  if (a.first_sequence != b.first_sequence || a.last_sequence != b.last_sequence ||
      a.series.size() != b.series.size()) {
    return false;
  }
  for (std::size_t i = 0; i < a.series.size(); ++i) {
    const auto& x = a.series[i];
    const auto& y = b.series[i];
    if (x.name != y.name || x.labels != y.labels || x.points.size() != y.points.size())
      return false;
    for (std::size_t k = 0; k < x.points.size(); ++k) {
      if (x.points[k].timestamp_ms != y.points[k].timestamp_ms ||
          std::bit_cast<std::uint64_t>(x.points[k].value) !=
              std::bit_cast<std::uint64_t>(y.points[k].value)) {
        return false;
      }
    }
  }
  return true;
}

void check_round_trip(const Batch& batch) {
  auto encoded = ef::telemetry::encode_batch(batch);
  if (!encoded) __builtin_trap();  // decoded means valid, and valid must encode
  auto again = ef::telemetry::decode_batch(*encoded);
  if (!again || !same_bits(batch, *again)) __builtin_trap();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  ef::telemetry::CodecLimits limits;
  limits.max_decoded_bytes = 1 << 20;  // keep each run fast; the bound is what is under test
  if (auto batch = ef::telemetry::decode_batch(input, limits)) check_round_trip(*batch);
  if (auto batch = ef::telemetry::parse_batch(input, limits)) check_round_trip(*batch);
  if (auto series = ef::telemetry::decode_write_request(input, limits)) {
    const auto body = ef::telemetry::encode_write_request(*series);
    auto again = ef::telemetry::decode_write_request(body);
    if (!again || !same_bits(Batch{0, 0, *series}, Batch{0, 0, *again})) __builtin_trap();
  }
  return 0;
}
