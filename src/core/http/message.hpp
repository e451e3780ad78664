// What a request handler sees and returns.
//
// A Request is fully read (head and body, within the route's limits) before its handler runs. The
// body is in memory, or in a temporary file for routes that asked for one (large uploads); the
// server deletes that file after the handler returns. Peer describes who is on the other end: the
// TCP address, the Unix-socket credentials, or the TLS client certificate (verified or not: see
// ClientCertificate). A Response is a status, headers and a body held in memory or read from an
// open file (blobs, with ranges).
#pragma once

#include <any>
#include <boost/beast/http/fields.hpp>
#include <boost/beast/http/verb.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/common/fs.hpp"
#include "core/json/json.hpp"

namespace ef::http {

using Verb = boost::beast::http::verb;
using Fields = boost::beast::http::fields;

// The credentials of a Unix-socket peer (SO_PEERCRED).
struct UnixCredentials {
  int pid = 0;
  unsigned uid = 0;
  unsigned gid = 0;
};

// A TLS client certificate as presented. The handshake accepts any certificate (so that a bad one
// gets a clear HTTP error instead of a TLS alert); `verified` says whether it chains to the
// listener's client CA and is within its validity, and verify_error says why not.
struct ClientCertificate {
  bool verified = false;
  std::string verify_error;  // empty when verified ("certificate has expired", ...)
  std::string subject_cn;    // the subject's common name
  std::string serial_hex;    // upper-case hex serial number
  std::string sha256_hex;    // SHA-256 of the DER certificate, lower-case hex
  std::chrono::system_clock::time_point not_before;
  std::chrono::system_clock::time_point not_after;
};

struct Peer {
  std::string address;  // "127.0.0.1:53122", or "unix" for a Unix socket
  std::optional<UnixCredentials> unix_credentials;
  bool tls = false;
  std::optional<ClientCertificate> client_certificate;  // only on TLS connections that sent one
};

struct Request {
  Verb method = Verb::get;
  std::string target;                                     // as sent: path and query
  std::string path;                                       // percent-decoded path, without the query
  std::map<std::string, std::string, std::less<>> query;  // decoded; the last of repeated keys
  std::map<std::string, std::string, std::less<>> params;  // from the route pattern's {names}
  Fields headers;
  std::string body;                 // empty when the route streams its body to a file
  std::filesystem::path body_file;  // the temporary file holding the body, if so
  std::uint64_t body_size = 0;
  std::shared_ptr<const Peer> peer;
  std::any principal;  // who the route's guard authenticated (router.hpp); empty without a guard

  // The header's value, or "" when absent.
  std::string_view header(std::string_view name) const;
  // The query parameter's value, or nullopt.
  std::optional<std::string_view> query_param(std::string_view name) const;
  // The path parameter's value ("" if the route has no such name).
  std::string_view param(std::string_view name) const;
};

// An open file to send as the body: length bytes from offset.
struct FileBody {
  std::shared_ptr<UniqueFd> fd;
  std::uint64_t offset = 0;
  std::uint64_t length = 0;
};

struct Response {
  unsigned status = 200;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::optional<FileBody> file;  // sent instead of body when set
  bool close = false;            // close the connection after this response

  Response& set(std::string name, std::string value);
  std::string_view header(std::string_view name) const;

  static Response text(unsigned status, std::string body,
                       std::string content_type = "text/plain; charset=utf-8");
  static Response json(unsigned status, const json::Json& value);
  // The one error shape of every endpoint: {"error": {"code": code, "message": message}}.
  static Response error(unsigned status, std::string_view code, std::string_view message);
  static Response no_content();
};

}  // namespace ef::http
