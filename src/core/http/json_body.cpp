#include "core/http/json_body.hpp"

namespace ef::http {

unsigned status_for(Errc code) {
  switch (code) {
    case Errc::invalid_argument:
    case Errc::malformed:
    case Errc::unsafe_path:
    case Errc::mismatch:
    case Errc::bad_signature:
    case Errc::rollback:
    case Errc::expired:
      return 400;
    case Errc::not_found:
      return 404;
    case Errc::exists:
    case Errc::refused:
      return 409;
    case Errc::too_large:
      return 413;
    case Errc::unsupported:
      return 501;
    case Errc::network:  // a server it needs (the database) is unreachable now: try again
    case Errc::closed:   // the server is stopping
      return 503;
    case Errc::timeout:
      return 504;
    case Errc::no_space:
      return 507;
    default:
      return 500;
  }
}

Response error_response(const Error& error) {
  auto response = Response::error(status_for(error.code), errc_name(error.code), error.message);
  if (response.status == 503) response.set("Retry-After", "5");
  return response;
}

Result<json::Json> json_object_body(const Request& request, Response* refusal, bool allow_floats) {
  const auto type = request.header("Content-Type");
  const auto base = type.substr(0, type.find(';'));
  if (!type.empty() && base != "application/json") {
    *refusal = Response::error(415, "unsupported_media_type",
                               "send the body as application/json, not " + std::string(base));
    return make_error(Errc::invalid_argument, "wrong content type");
  }
  json::Limits limits;
  limits.max_depth = 16;
  limits.allow_floats = allow_floats;
  auto parsed = json::parse_strict(request.body, limits);
  if (!parsed) {
    *refusal = Response::error(400, "malformed_json",
                               "the body is not valid JSON: " + parsed.error().message);
    return std::move(parsed).error();
  }
  if (!parsed->is_object()) {
    *refusal = Response::error(400, "malformed_json", "the body must be a JSON object");
    return make_error(Errc::malformed, "not an object");
  }
  return parsed;
}

}  // namespace ef::http
