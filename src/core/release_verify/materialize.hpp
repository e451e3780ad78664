// Writing a verified release onto disk.
#pragma once

#include <filesystem>

#include "core/common/result.hpp"
#include "core/release_format/release.hpp"

namespace ef::release {

// Checks one blob's length and SHA-256 by reading it (for verifying without installing).
Status verify_blob(const std::filesystem::path& blob_dir, const ReleaseFile& file);

// Writes `release` into `into` from the blobs in blob_dir. Each blob is opened once and copied
// while it is hashed, so the bytes installed are exactly the bytes verified, whatever happens to
// the blob file meanwhile. Everything is staged in a hidden sibling folder, fsynced, and renamed
// onto `into` in one step; on any error the staging folder is removed and `into` is untouched.
// `into` must not exist or be an empty folder. Free space is checked first (no_space).
Status materialize(const Release& release, const std::filesystem::path& blob_dir,
                   const std::filesystem::path& into);

}  // namespace ef::release
