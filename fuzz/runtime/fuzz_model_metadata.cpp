// libFuzzer target for the model metadata parser (model/model.json of a release): any input is
// refused with a message or parsed into metadata that keeps the parser's promises.
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "runtime/model/metadata.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  auto meta = ef::model::parse_metadata(input);
  if (!meta) {
    if (meta.error().message.empty()) __builtin_trap();  // a refusal says why
    return 0;
  }
  // What parses is usable: a finite threshold and an input size the runtime can allocate.
  if (!std::isfinite(meta->threshold)) __builtin_trap();
  return 0;
}
