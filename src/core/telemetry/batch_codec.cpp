#include "core/telemetry/batch_codec.hpp"

#include <zstd.h>
#include <zstd_errors.h>

#include <algorithm>
#include <bit>
#include <memory>

#include "core/telemetry/batch_wire.hpp"
#include "core/telemetry/dictionary.hpp"

namespace ef::telemetry {
namespace {

constexpr std::size_t kFrameHeaderMin = 6;  // magic, descriptor, at least one more byte

struct CCtxFree {
  void operator()(ZSTD_CCtx* c) const { ZSTD_freeCCtx(c); }
};
struct DCtxFree {
  void operator()(ZSTD_DCtx* d) const { ZSTD_freeDCtx(d); }
};

Error zstd_error(Errc code, std::string what, std::size_t ret) {
  return make_error(code, what + ": " + ZSTD_getErrorName(ret));
}

// zstd records no id for a raw-content dictionary; the frame header (RFC 8878 3.1.1.1.1) carries
// one anyway: Dictionary_ID_flag 3 and the 4-byte id after the window descriptor, so
// ZSTD_getDictID_fromFrame reports kDictionaryId. libzstd refuses to pair a frame id with a
// dictionary that has none, so the decoder takes the id out again (unstamp) before decoding.
std::size_t id_offset(unsigned char descriptor) {
  return (descriptor & 0x20u) ? 5 : 6;
}

Status stamp_dictionary_id(std::string& frame) {
  if (frame.size() < kFrameHeaderMin) return make_error(Errc::internal, "zstd frame too short");
  auto descriptor = static_cast<unsigned char>(frame[4]);
  if ((descriptor & 3u) != 0) return make_error(Errc::internal, "zstd frame already has an id");
  const std::size_t at = id_offset(descriptor);
  std::string id(4, '\0');
  for (int i = 0; i < 4; ++i)
    id[static_cast<std::size_t>(i)] = static_cast<char>(kDictionaryId >> (8 * i));
  frame.insert(at, id);
  frame[4] = static_cast<char>(descriptor | 3u);
  return {};
}

}  // namespace

Result<std::string> encode_batch(const Batch& batch, int zstd_level) {
  EF_CHECK(validate_batch(batch, CodecLimits{}));
  return compress_body(serialize_batch(batch), zstd_level);
}

Result<std::string> compress_body(std::string_view body, int zstd_level) {
  std::unique_ptr<ZSTD_CCtx, CCtxFree> cctx(ZSTD_createCCtx());
  if (!cctx) return make_error(Errc::internal, "zstd: out of memory");
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_compressionLevel, zstd_level);
  // 4 bytes that turn a flipped bit on disk or in a proxy into an error, not a wrong value.
  ZSTD_CCtx_setParameter(cctx.get(), ZSTD_c_checksumFlag, 1);
  const auto& dict = dictionary_content();
  std::size_t ret = ZSTD_CCtx_loadDictionary(cctx.get(), dict.data(), dict.size());
  if (ZSTD_isError(ret)) return zstd_error(Errc::internal, "zstd dictionary", ret);
  std::string frame(ZSTD_compressBound(body.size()), '\0');
  ret = ZSTD_compress2(cctx.get(), frame.data(), frame.size(), body.data(), body.size());
  if (ZSTD_isError(ret)) return zstd_error(Errc::internal, "zstd", ret);
  frame.resize(ret);
  EF_CHECK(stamp_dictionary_id(frame));
  return frame;
}

namespace {

// What the frame header declares, checked before anything is allocated for the content.
Result<std::size_t> output_bound(std::string_view frame, const CodecLimits& limits) {
  if (frame.size() > limits.max_encoded_bytes) {
    return make_error(Errc::too_large, "batch of " + std::to_string(frame.size()) +
                                           " bytes, more than " +
                                           std::to_string(limits.max_encoded_bytes));
  }
  const auto declared = ZSTD_getFrameContentSize(frame.data(), frame.size());
  if (declared == ZSTD_CONTENTSIZE_ERROR) {
    return make_error(Errc::malformed, "not a zstd frame, or its header is cut short");
  }
  const unsigned id = ZSTD_getDictID_fromFrame(frame.data(), frame.size());
  // kDictionaryId needs the 4-byte field (flag 3), so a matching id means unstamp may cut it.
  if (id != kDictionaryId || (static_cast<unsigned char>(frame[4]) & 3u) != 3u) {
    return make_error(Errc::unsupported, "batch compressed with zstd dictionary id " +
                                             std::to_string(id) + ", this build knows only " +
                                             std::to_string(kDictionaryId));
  }
  if (declared == ZSTD_CONTENTSIZE_UNKNOWN) return limits.max_decoded_bytes;
  if (declared > limits.max_decoded_bytes) {
    return make_error(Errc::too_large, "batch declares " + std::to_string(declared) +
                                           " bytes decompressed, more than " +
                                           std::to_string(limits.max_decoded_bytes));
  }
  return static_cast<std::size_t>(declared);
}

// The frame as libzstd wants it with a raw-content dictionary: without the id (checked already).
std::string unstamp(std::string_view frame) {
  const auto descriptor = static_cast<unsigned char>(frame[4]);
  const std::size_t at = id_offset(descriptor);
  std::string out;
  out.reserve(frame.size() - 4);
  out.append(frame.substr(0, at));
  out.append(frame.substr(at + 4));
  out[4] = static_cast<char>(descriptor & ~3u);
  return out;
}

Result<std::unique_ptr<ZSTD_DCtx, DCtxFree>> make_dctx(std::size_t bound) {
  std::unique_ptr<ZSTD_DCtx, DCtxFree> dctx(ZSTD_createDCtx());
  if (!dctx) return make_error(Errc::internal, "zstd: out of memory");
  // The window is memory the decoder allocates up front: never more than the output bound.
  int window_log = 10;
  while (window_log < 27 && (std::size_t{1} << window_log) < bound)
    ++window_log;
  ZSTD_DCtx_setParameter(dctx.get(), ZSTD_d_windowLogMax, window_log);
  const auto& dict = dictionary_content();
  const std::size_t ret = ZSTD_DCtx_loadDictionary(dctx.get(), dict.data(), dict.size());
  if (ZSTD_isError(ret)) return zstd_error(Errc::internal, "zstd dictionary", ret);
  return dctx;
}

// Streams the frame into a buffer that grows as output arrives (a small body declaring a huge
// size costs only what it really inflates to) and stops one byte past the bound.
Result<std::string> decompress(std::string_view frame, const CodecLimits& limits) {
  EF_TRY(const std::size_t bound, output_bound(frame, limits));
  EF_TRY(auto dctx, make_dctx(bound));
  const std::string plain = unstamp(frame);
  std::string out;
  std::size_t produced = 0;
  ZSTD_inBuffer in{plain.data(), plain.size(), 0};
  for (;;) {
    if (produced == out.size()) {
      if (out.size() > bound) {
        return make_error(Errc::too_large,
                          "batch inflates past " + std::to_string(bound) + " bytes");
      }
      out.resize(std::min(bound + 1, std::max<std::size_t>(64 * 1024, out.size() * 2)));
    }
    ZSTD_outBuffer o{out.data(), out.size(), produced};
    const std::size_t ret = ZSTD_decompressStream(dctx.get(), &o, &in);
    produced = o.pos;
    if (ZSTD_isError(ret)) {
      const bool window = ZSTD_getErrorCode(ret) == ZSTD_error_frameParameter_windowTooLarge;
      return zstd_error(window ? Errc::too_large : Errc::malformed, "zstd", ret);
    }
    if (ret == 0) break;
    if (in.pos == in.size && o.pos < o.size) {
      return make_error(Errc::malformed, "zstd frame cut short");
    }
  }
  if (produced > bound) {
    return make_error(Errc::too_large, "batch inflates past " + std::to_string(bound) + " bytes");
  }
  if (in.pos != in.size) return make_error(Errc::malformed, "bytes after the zstd frame");
  out.resize(produced);
  return out;
}

}  // namespace

Result<Batch> decode_batch(std::string_view encoded, const CodecLimits& limits) {
  EF_TRY(std::string body, decompress(encoded, limits));
  return parse_batch(body, limits);
}

}  // namespace ef::telemetry
