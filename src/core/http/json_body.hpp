// JSON request bodies and error answers for API handlers.
#pragma once

#include "core/common/result.hpp"
#include "core/http/message.hpp"

namespace ef::http {

// The HTTP status for an error code: invalid_argument, malformed, unsafe_path, mismatch,
// bad_signature, rollback, expired -> 400 (handlers that mean 401/403 say so themselves);
// not_found -> 404; exists, refused -> 409; too_large -> 413; unsupported -> 501; network (a
// server it depends on, such as the database, is unreachable), closed (stopping) -> 503;
// timeout -> 504; no_space -> 507; everything else -> 500.
unsigned status_for(Errc code);

// {"error": {"code": errc_name(code), "message": message}} with status_for(code); a 503 carries
// Retry-After: 5.
Response error_response(const Error& error);

// Parses the body as a JSON object (strict: no duplicate keys, depth <= 16, no floats unless
// allowed: bodies that are only read, never signed or hashed, may carry measurements). Refuses a
// Content-Type other than application/json (415) and anything that is not an object (400); the
// error is ready to send.
Result<json::Json> json_object_body(const Request& request, Response* refusal,
                                    bool allow_floats = false);

}  // namespace ef::http
