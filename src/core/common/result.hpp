// Errors as values across module boundaries.
//
// Every library returns Result<T> (or Status for no value) instead of throwing. An Error carries a
// coarse code that callers can branch on and a message for people: it names what failed and, where
// it can, what to do about it. std::expected is C++23 and not in g++ 12's library, and tl::expected
// is not packaged in Debian bookworm, so this is a small stand-in with the same shape.
#pragma once

#include <cassert>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace ef {

enum class Errc {
  invalid_argument,  // the caller passed something unusable
  malformed,         // input could not be parsed
  too_large,         // input exceeded a size limit
  not_found,         // a file, role, target or record does not exist
  exists,            // refused to overwrite something
  io,                // the operating system refused a read or write
  no_space,          // the disk is full (or would be)
  crypto,            // a key or signature could not be processed
  bad_signature,     // signatures did not reach the threshold
  expired,           // metadata or a certificate is past its expiry
  rollback,          // a version (or epoch) older than one already trusted
  mismatch,          // a length, hash or version differs from what was signed
  unsafe_path,       // a name that could escape its directory or confuse a URL
  unsupported,       // a valid request for something not implemented here
  network,           // a transfer failed
  timeout,           // a deadline passed
  closed,            // the peer ended the connection (not an error of the request)
  refused,           // a policy said no: an update, an enrolment, a request not allowed
  unhealthy,         // a process ran but did not become (or stay) healthy
  rolled_back,       // an update was undone and the previous release restored
  internal,          // a bug: an invariant did not hold
};

std::string_view errc_name(Errc code);

struct Error {
  Errc code;
  std::string message;

  // Prefixes the message with where the error happened: "loading root.json: <message>".
  Error context(std::string_view where) const& {
    return {code, std::string(where) + ": " + message};
  }
  Error context(std::string_view where) && {
    message.insert(0, std::string(where) + ": ");
    return std::move(*this);
  }
};

inline Error make_error(Errc code, std::string message) {
  return Error{code, std::move(message)};
}

template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}

  bool has_value() const { return state_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & {
    assert(has_value());
    return std::get<0>(state_);
  }
  const T& value() const& {
    assert(has_value());
    return std::get<0>(state_);
  }
  T&& value() && {
    assert(has_value());
    return std::get<0>(std::move(state_));
  }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const& {
    assert(!has_value());
    return std::get<1>(state_);
  }
  Error&& error() && {
    assert(!has_value());
    return std::get<1>(std::move(state_));
  }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)), failed_(true) {}

  bool has_value() const { return !failed_; }
  explicit operator bool() const { return !failed_; }
  const Error& error() const& {
    assert(failed_);
    return error_;
  }
  Error&& error() && {
    assert(failed_);
    return std::move(error_);
  }

 private:
  Error error_{Errc::internal, {}};
  bool failed_ = false;
};

using Status = Result<void>;

}  // namespace ef

#define EF_CONCAT_INNER(a, b) a##b
#define EF_CONCAT(a, b) EF_CONCAT_INNER(a, b)

// EF_TRY(auto x, expr): evaluates a Result, returns its error from the enclosing function, or
// binds its value to x.
#define EF_TRY(decl, expr)                                                        \
  auto EF_CONCAT(ef_try_, __LINE__) = (expr);                                     \
  if (!EF_CONCAT(ef_try_, __LINE__)) return EF_CONCAT(ef_try_, __LINE__).error(); \
  decl = std::move(EF_CONCAT(ef_try_, __LINE__)).value()

// EF_CHECK(expr): evaluates a Status and returns its error from the enclosing function.
#define EF_CHECK(expr)                                               \
  do {                                                               \
    auto ef_check_status = (expr);                                   \
    if (!ef_check_status) return std::move(ef_check_status).error(); \
  } while (false)
