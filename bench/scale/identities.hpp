// Devices' identities passed from the coordinator, which enrols them, to the generators: one JSON
// object per line, {"id", "key" (PEM), "certificate" (PEM)}. The file holds private keys: 0600.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "core/common/result.hpp"
#include "mtls_connection.hpp"

namespace ef::scale {

// The shared connection (bench/server/mtls_connection.hpp) under the names bench/scale uses.
namespace asio = boost::asio;
namespace http = boost::beast::http;
using bench::Connection;
using bench::Identity;
using bench::local;
using bench::Response;

struct IdentityPem {
  std::string id, key_pem, certificate_pem;
};

Status write_identities(const std::filesystem::path& file, const std::vector<IdentityPem>& all);
// Fails on a line that does not parse or a key or certificate OpenSSL cannot read.
Result<std::vector<Identity>> read_identities(const std::filesystem::path& file);

}  // namespace ef::scale
