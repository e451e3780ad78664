#include "core/common/result.hpp"

namespace ef {

std::string_view errc_name(Errc code) {
  switch (code) {
    case Errc::invalid_argument:
      return "invalid_argument";
    case Errc::malformed:
      return "malformed";
    case Errc::too_large:
      return "too_large";
    case Errc::not_found:
      return "not_found";
    case Errc::exists:
      return "exists";
    case Errc::io:
      return "io";
    case Errc::no_space:
      return "no_space";
    case Errc::crypto:
      return "crypto";
    case Errc::bad_signature:
      return "bad_signature";
    case Errc::expired:
      return "expired";
    case Errc::rollback:
      return "rollback";
    case Errc::mismatch:
      return "mismatch";
    case Errc::unsafe_path:
      return "unsafe_path";
    case Errc::unsupported:
      return "unsupported";
    case Errc::network:
      return "network";
    case Errc::timeout:
      return "timeout";
    case Errc::closed:
      return "closed";
    case Errc::refused:
      return "refused";
    case Errc::unhealthy:
      return "unhealthy";
    case Errc::rolled_back:
      return "rolled_back";
    case Errc::internal:
      return "internal";
  }
  return "unknown";
}

}  // namespace ef
