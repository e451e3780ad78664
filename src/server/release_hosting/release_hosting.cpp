#include "server/release_hosting/release_hosting.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <regex>
#include <set>

#include "core/common/fs.hpp"
#include "core/common/hex.hpp"
#include "core/common/path.hpp"
#include "core/crypto/hash.hpp"
#include "core/http/file_response.hpp"
#include "core/http/json_body.hpp"
#include "core/release_format/release.hpp"
#include "core/release_signing/keyring.hpp"
#include "core/trust/trusted_set.hpp"
#include "core/trust/verify.hpp"
#include "server/device_auth/device_auth.hpp"

namespace ef::release_hosting {

namespace fs = std::filesystem;
using http::Request;
using http::Response;

namespace {

Result<trust::Envelope> read_envelope(const fs::path& file, std::size_t max) {
  EF_TRY(auto bytes, read_file(file, max));
  return trust::parse_envelope(bytes, max);
}

fs::path targets_file(const fs::path& metadata, std::int64_t version) {
  return metadata / (std::to_string(version) + ".targets.json");
}

}  // namespace

Status init(const fs::path& repo_dir, const fs::path& online_keys_dir,
            const fs::path& keys_source) {
  const auto metadata = repo_dir / "metadata";
  if (fs::exists(metadata / "root.json")) {
    return make_error(Errc::exists,
                      "the repository in " + repo_dir.string() + " already has a root");
  }
  const auto versions = release::root_versions(keys_source);
  if (versions.empty()) {
    return make_error(Errc::not_found,
                      keys_source.string() + " holds no N.root.json (run `edgefleet keys init`)");
  }
  EF_TRY(auto keyring, release::load_keyring(keys_source));
  if (keyring.of("snapshot").empty() || keyring.of("timestamp").empty()) {
    return make_error(Errc::not_found,
                      keys_source.string() + " holds no snapshot or timestamp key");
  }
  EF_CHECK(make_dirs(metadata, 0755));
  EF_CHECK(make_dirs(repo_dir / "blobs" / "sha256", 0755));
  EF_CHECK(make_dirs(online_keys_dir, 0700));
  static const std::regex online(R"((snapshot|timestamp)-[0-9]+\.key)");
  for (const auto& entry : fs::directory_iterator(keys_source)) {
    const auto name = entry.path().filename().string();
    if (!std::regex_match(name, online)) continue;  // root and targets keys never leave KEYS
    EF_TRY(auto pem, read_file(entry.path(), 64 * 1024));
    EF_CHECK(write_file_atomic(online_keys_dir / name, pem, 0600));
  }
  // Every root must chain from the first (signed by the old and the new keys), as devices check.
  std::vector<std::string> roots;
  for (auto v : versions) {
    EF_TRY(auto bytes,
           read_file(keys_source / (std::to_string(v) + ".root.json"), trust::kMaxRootBytes));
    roots.push_back(std::move(bytes));
  }
  EF_TRY(auto set, trust::TrustedSet::create(roots.front(), utc_now()));
  for (std::size_t i = 1; i < roots.size(); ++i)
    EF_CHECK(set.update_root(roots[i]));
  for (std::size_t i = 0; i < roots.size(); ++i) {
    EF_CHECK(write_file_atomic(metadata / (std::to_string(versions[i]) + ".root.json"), roots[i]));
  }
  const std::string& newest = roots.back();
  return write_file_atomic(metadata / "root.json", newest);
}

std::string Repository::not_ready_reason() const {
  if (!fs::exists(metadata_dir() / "root.json")) {
    return "the release repository has no trusted root yet: run `edgefleet-server init-repository "
           "--data DIR --keys KEYS` on the server";
  }
  auto keys = release::load_keyring(keys_dir_);
  if (!keys || keys->of("snapshot").empty() || keys->of("timestamp").empty()) {
    return "the server has no online snapshot/timestamp keys in " + keys_dir_.string();
  }
  return "";
}

Result<bool> Repository::store_blob(std::string_view expected_hex, const fs::path& upload) {
  if (!is_lower_hex(expected_hex, 64)) {
    return make_error(Errc::unsafe_path,
                      "a blob is named by its SHA-256: 64 lower-case hex characters");
  }
  UniqueFd fd(::open(upload.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return os_error("cannot open", upload, errno);
  EF_TRY(auto actual, crypto::sha256_hex_of_fd(fd.get()));
  if (actual != expected_hex) {
    return make_error(Errc::mismatch, "the uploaded content has SHA-256 " + actual + ", not " +
                                          std::string(expected_hex));
  }
  EF_CHECK(make_dirs(blob_dir(), 0755));
  const auto target = blob_dir() / std::string(expected_hex);
  if (fs::exists(target)) return false;
  if (::fchmod(fd.get(), 0444) != 0 || ::fsync(fd.get()) != 0)
    return os_error("cannot sync", upload, errno);
  if (::link(upload.c_str(), target.c_str()) !=
      0) {  // the upload file itself is removed by the server
    if (errno == EEXIST) return false;
    return os_error("cannot store blob", target, errno);
  }
  EF_CHECK(fsync_dir(blob_dir()));
  return true;
}

Status Repository::add_root(std::string_view bytes) {
  EF_TRY(auto current, read_file(metadata_dir() / "root.json", trust::kMaxRootBytes));
  EF_TRY(auto set, trust::TrustedSet::create(current, utc_now()));
  const auto old_version = set.root().version;
  EF_CHECK(set.update_root(bytes));
  const auto name = std::to_string(old_version + 1) + ".root.json";
  EF_CHECK(write_file_atomic(metadata_dir() / name, bytes));
  return write_file_atomic(metadata_dir() / "root.json", bytes);
}

namespace {

// Targets metadata signed by a threshold of the trusted root's targets keys, without delegations,
// not expired and above the published version.
Result<trust::Targets> accept_targets(std::string_view bytes, const trust::Root& root,
                                      std::int64_t current_version, UtcTime now) {
  EF_TRY(auto env, trust::parse_envelope(bytes, trust::kMaxTargetsBytes));
  EF_CHECK(trust::check_type(env.signed_json, trust::kTargets));
  EF_TRY(auto targets, trust::parse_targets(env.signed_json));
  EF_CHECK(trust::verify_threshold(env, root.keys, root.roles.at("targets"), "targets"));
  if (targets.delegations) {
    return make_error(Errc::unsupported, "delegated targets are not supported by this server");
  }
  if (targets.is_expired(now)) {
    return make_error(Errc::expired,
                      "the targets metadata expired at " + format_utc(targets.expires));
  }
  if (targets.version <= current_version) {
    return make_error(Errc::rollback, "targets version " + std::to_string(targets.version) +
                                          " is not above the published version " +
                                          std::to_string(current_version));
  }
  return targets;
}

// The release versions in `old`, after checking that `targets` keeps each of old's targets
// unchanged: published releases are immutable.
Result<std::set<std::string>> keep_published(const trust::Targets& old,
                                             const trust::Targets& targets) {
  for (const auto& [path, file] : old.targets) {
    const auto it = targets.targets.find(path);
    if (it == targets.targets.end() || it->second.length != file.length ||
        it->second.hashes != file.hashes || it->second.custom != file.custom) {
      return make_error(Errc::mismatch, "target " + printable(path) +
                                            " of an earlier release is missing or changed; "
                                            "published releases are immutable");
    }
  }
  std::set<std::string> versions;
  for (const auto& v : release::release_versions(old))
    versions.insert(v);
  return versions;
}

// Every blob of the release is stored with the length its metadata lists.
Status check_blobs(const release::Release& rel, const std::string& version,
                   const fs::path& blob_dir) {
  for (const auto& file : rel.files) {
    struct stat st {};
    const auto blob = blob_dir / file.sha256;
    if (::stat(blob.c_str(), &st) != 0) {
      return make_error(Errc::not_found, "release " + version + ": blob " + file.sha256 + " for " +
                                             printable(file.path) + " has not been uploaded");
    }
    if (static_cast<std::uint64_t>(st.st_size) != file.length) {
      return make_error(Errc::mismatch, "release " + version + ": blob " + file.sha256 + " is " +
                                            std::to_string(st.st_size) +
                                            " bytes, the metadata says " +
                                            std::to_string(file.length));
    }
  }
  return {};
}

}  // namespace

Result<Published> Repository::publish(std::string_view bytes, UtcTime now) {
  if (auto reason = not_ready_reason(); !reason.empty()) return make_error(Errc::refused, reason);
  EF_TRY(auto root_env, read_envelope(metadata_dir() / "root.json", trust::kMaxRootBytes));
  EF_TRY(auto root, trust::parse_root(root_env.signed_json));
  const auto current_version = release::latest_version(repo_, "targets");
  EF_TRY(auto targets, accept_targets(bytes, root, current_version, now));
  std::set<std::string> old_versions;
  if (current_version > 0) {
    EF_TRY(auto old_env,
           read_envelope(targets_file(metadata_dir(), current_version), trust::kMaxTargetsBytes));
    EF_TRY(auto old, trust::parse_targets(old_env.signed_json));
    EF_TRY(old_versions, keep_published(old, targets));
  }

  Published out;
  out.targets_version = targets.version;
  for (const auto& version : release::release_versions(targets)) {
    if (old_versions.contains(version)) continue;
    EF_TRY(auto rel, release::release_from_targets(targets, version));
    EF_CHECK(check_blobs(rel, version, blob_dir()));
    out.releases.push_back(store::ReleaseRecord{version, targets.version, rel.epoch, rel.bytes(),
                                                rel.files.size(), now, ""});
  }
  if (out.releases.empty()) {
    return make_error(Errc::invalid_argument, "the targets metadata adds no new release");
  }
  return store_targets(bytes, targets.version, now, std::move(out));
}

Result<Published> Repository::store_targets(std::string_view bytes, std::int64_t version,
                                            UtcTime now, Published published) {
  const auto file = targets_file(metadata_dir(), version);
  EF_CHECK(write_file_atomic(file, bytes));
  EF_TRY(auto keys, release::load_keyring(keys_dir_));
  if (auto signed_ok = release::sign_snapshot_and_timestamp(repo_, keys, settings_.expiries, now);
      !signed_ok) {
    ::unlink(file.c_str());  // the previous snapshot still names the previous targets
    return std::move(signed_ok).error().context("signing snapshot and timestamp");
  }
  return published;
}

Status Repository::refresh_if_due(UtcTime now) {
  if (!not_ready_reason().empty()) return {};
  const auto snapshot_version = release::latest_version(repo_, "snapshot");
  if (snapshot_version == 0) return {};
  EF_TRY(auto keys, release::load_keyring(keys_dir_));
  EF_TRY(auto snap_env,
         read_envelope(metadata_dir() / (std::to_string(snapshot_version) + ".snapshot.json"),
                       trust::kMaxSnapshotBytes));
  EF_TRY(auto snapshot, trust::parse_snapshot(snap_env.signed_json));
  if (snapshot.expires - now < settings_.expiries.snapshot / 2) {
    return release::sign_snapshot_and_timestamp(repo_, keys, settings_.expiries, now);
  }
  EF_TRY(auto ts_env, read_envelope(metadata_dir() / "timestamp.json", trust::kMaxTimestampBytes));
  EF_TRY(auto timestamp, trust::parse_timestamp(ts_env.signed_json));
  if (timestamp.expires - now < settings_.expiries.timestamp / 2) {
    return release::refresh_timestamp(repo_, keys, settings_.expiries, now);
  }
  return {};
}

namespace {

using Shared = std::shared_ptr<Services>;

// Devices (enrolled, not revoked) and read-only operators may fetch the repository: a request
// with a client certificate and no token is a device's, acting for the certificate's subject.
http::Guard reader_guard(Services& s) {
  return [&s](Request& r) -> std::optional<Response> {
    const auto& cert = r.peer->client_certificate;
    if (r.header("Authorization").empty() && cert) {
      auto device = device_auth::authenticate(r, cert->subject_cn, s.store);
      if (auto* refusal = std::get_if<Response>(&device)) return std::move(*refusal);
      return std::nullopt;
    }
    return s.auth.guard(store::Role::read_only)(r);
  };
}

Response upload_blob(Services& s, Request& r, const operator_auth::Actor& actor) {
  const std::string hex(r.param("hex"));
  auto stored = s.repository.store_blob(hex, r.body_file);
  if (!stored) return http::error_response(stored.error());
  if (*stored) {
    if (auto logged = s.log.record(actor.describe(), "repository.blob", hex, r.peer->address,
                                   {{"bytes", r.body_size}});
        !logged) {
      return http::error_response(logged.error());
    }
  }
  return Response::json(*stored ? 201 : 200, {{"sha256", hex}, {"stored", *stored}});
}

Response upload_root(Services& s, Request& r, const operator_auth::Actor& actor) {
  if (auto reason = s.repository.not_ready_reason(); !reason.empty()) {
    return Response::error(409, "repository_not_ready", reason);
  }
  if (auto added = s.repository.add_root(r.body); !added)
    return http::error_response(added.error());
  if (auto logged = s.log.record(actor.describe(), "repository.root", "root.json", r.peer->address);
      !logged) {
    return http::error_response(logged.error());
  }
  return Response::json(201, {{"root", "accepted"}});
}

Response publish(Services& s, Request& r, const operator_auth::Actor& actor) {
  if (auto reason = s.repository.not_ready_reason(); !reason.empty()) {
    return Response::error(409, "repository_not_ready", reason);
  }
  auto published = s.repository.publish(r.body, utc_now());
  if (!published) {
    const auto& e = published.error();
    if (e.code == Errc::rollback) return Response::error(409, "rollback", e.message);
    if (e.code == Errc::not_found) return Response::error(400, "missing_blob", e.message);
    return http::error_response(e);
  }
  json::Json versions = json::Json::array();
  auto done = s.store.in_transaction([&]() -> Status {
    for (auto& rel : published->releases) {
      rel.published_by = actor.describe();
      EF_CHECK(s.store.add_release(rel));
      versions.push_back(rel.version);
    }
    return s.log.record(actor.describe(), "release.publish", versions.dump(), r.peer->address,
                        {{"targets_version", published->targets_version}, {"releases", versions}});
  });
  if (!done) return http::error_response(done.error());
  return Response::json(201,
                        {{"targets_version", published->targets_version}, {"releases", versions}});
}

json::Json release_json(const store::ReleaseRecord& r) {
  return {{"version", r.version},
          {"targets_version", r.targets_version},
          {"epoch", r.epoch},
          {"bytes", r.bytes},
          {"files", r.files},
          {"published_at", format_utc(r.published_at)},
          {"published_by", r.published_by}};
}

bool metadata_name_ok(std::string_view name) {
  static const std::regex pattern(
      R"(([1-9][0-9]{0,8}\.)?(root|targets|snapshot)\.json|timestamp\.json)");
  return std::regex_match(name.begin(), name.end(), pattern);
}

Response missing_blobs(Services& s, Request& r) {
  Response refusal;
  auto body = http::json_object_body(r, &refusal);
  if (!body) return refusal;
  const auto& list = body->contains("sha256") ? (*body)["sha256"] : json::Json();
  if (!list.is_array() || list.size() > 100000) {
    return Response::error(400, "bad_request", "sha256 must be a list of blob hashes");
  }
  json::Json out = json::Json::array();
  for (const auto& h : list) {
    if (!h.is_string() || !is_lower_hex(h.get<std::string>(), 64)) {
      return Response::error(400, "bad_blob_name",
                             "blobs are named by their SHA-256: 64 lower-case hex characters");
    }
    if (!fs::exists(s.repository.blob_dir() / h.get<std::string>())) out.push_back(h);
  }
  return Response::json(200, {{"missing", out}});
}

Response list_releases(Services& s) {
  auto releases = s.store.releases();
  if (!releases) return http::error_response(releases.error());
  json::Json list = json::Json::array();
  for (const auto& r : *releases)
    list.push_back(release_json(r));
  return Response::json(200, {{"releases", list}});
}

Response serve_metadata(Services& s, Request& r) {
  const std::string name(r.param("name"));
  if (!metadata_name_ok(name)) {
    return Response::error(404, "not_found", "no metadata file " + printable(name));
  }
  auto response = http::file_response(r, s.repository.metadata_dir() / name, "application/json");
  response.set("Cache-Control", "no-cache");
  return response;
}

Response serve_blob(Services& s, Request& r) {
  const std::string hex(r.param("hex"));
  if (!is_lower_hex(hex, 64)) {
    return Response::error(400, "bad_blob_name",
                           "blobs are named by their SHA-256: 64 lower-case hex characters");
  }
  auto response = http::file_response(r, s.repository.blob_dir() / hex, "application/octet-stream");
  response.set("ETag", "\"" + hex + "\"");
  response.set("Cache-Control", "public, max-age=31536000, immutable");
  return response;
}

// Uploads and publishes (operator role).
void add_publishing_routes(http::Router& router, const Shared& s) {
  using operator_auth::Actor;
  using operator_auth::add_operator_route;
  constexpr auto kOperator = store::Role::operator_;
  http::RouteOptions blob{.name = "repository.blob_upload",
                          .max_body = s->settings.max_blob_bytes,
                          .body_timeout = std::chrono::hours(2),
                          .body_to_file = true};
  add_operator_route(
      router, http::Verb::put, "/api/v1/repository/blobs/sha256/{hex}", s->auth, kOperator,
      [s](Request& r, const Actor& a) { return upload_blob(*s, r, a); }, blob);
  add_operator_route(router, http::Verb::post, "/api/v1/repository/blobs/missing", s->auth,
                     kOperator, [s](Request& r, const Actor&) { return missing_blobs(*s, r); },
                     {.name = "repository.blobs_missing"});
  add_operator_route(router, http::Verb::put, "/api/v1/repository/root", s->auth, kOperator,
                     [s](Request& r, const Actor& a) { return upload_root(*s, r, a); },
                     {.name = "repository.root_upload", .max_body = trust::kMaxTargetsBytes});
  add_operator_route(router, http::Verb::post, "/api/v1/releases", s->auth, kOperator,
                     [s](Request& r, const Actor& a) { return publish(*s, r, a); },
                     {.name = "releases.publish", .max_body = trust::kMaxTargetsBytes});
}

// What devices fetch, and the list of releases.
void add_reading_routes(http::Router& router, const Shared& s) {
  operator_auth::add_operator_route(
      router, http::Verb::get, "/api/v1/releases", s->auth, store::Role::read_only,
      [s](Request&, const operator_auth::Actor&) { return list_releases(*s); },
      {.name = "releases.list"});
  router.add_sync(http::Verb::get, "/repo/metadata/{name}",
                  [s](Request& r) { return serve_metadata(*s, r); },
                  {.name = "repository.metadata", .guard = reader_guard(*s)});
  router.add_sync(http::Verb::get, "/repo/blobs/sha256/{hex}",
                  [s](Request& r) { return serve_blob(*s, r); },
                  {.name = "repository.blob", .guard = reader_guard(*s)});
}

}  // namespace

void add_routes(http::Router& router, Services services) {
  auto s = std::make_shared<Services>(std::move(services));
  add_publishing_routes(router, s);
  add_reading_routes(router, s);
}

}  // namespace ef::release_hosting
