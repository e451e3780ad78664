// Answers a GET/HEAD with a file from disk, with single byte ranges for resumed downloads.
//
// "Range: bytes=A-B", "bytes=A-" and "bytes=-N" get 206 with Content-Range; a range that starts
// past the end gets 416 with "Content-Range: bytes */LENGTH"; several ranges, or a malformed
// Range header, get the whole file (200), as RFC 9110 allows. Every answer says
// "Accept-Ranges: bytes". The file is opened here and read while the answer is written.
#pragma once

#include <filesystem>
#include <string>

#include "core/http/message.hpp"

namespace ef::http {

// 404 when the file does not exist (or is not a regular file).
Response file_response(const Request& request, const std::filesystem::path& path,
                       std::string content_type);

}  // namespace ef::http
