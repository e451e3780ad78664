#include "server/operator_auth/operator_auth.hpp"

#include "core/common/hex.hpp"
#include "core/crypto/hash.hpp"
#include "core/crypto/keys.hpp"
#include "core/http/json_body.hpp"

namespace ef::operator_auth {

namespace {

constexpr std::string_view kPrefix = "eft_";

int rank(store::Role role) {
  switch (role) {
    case store::Role::read_only:
      return 0;
    case store::Role::operator_:
      return 1;
    case store::Role::admin:
      return 2;
  }
  return -1;
}

http::Response unauthorized(std::string message) {
  auto r = http::Response::error(401, "unauthorized", message);
  r.set("WWW-Authenticate", "Bearer realm=\"edgefleet\"");
  return r;
}

}  // namespace

std::string Actor::describe() const {
  return "token:" + token_id + " (" + name + ")";
}

Result<NewToken> OperatorAuth::create_token(std::string_view name, store::Role role) {
  if (name.empty() || name.size() > 128) {
    return make_error(Errc::invalid_argument, "a token name must be 1 to 128 characters");
  }
  NewToken out;
  out.secret = std::string(kPrefix) + to_hex(crypto::random_bytes(32));
  out.record.id = "tok_" + to_hex(crypto::random_bytes(6));
  out.record.name = name;
  out.record.role = role;
  out.record.hash = crypto::sha256_hex(out.secret);
  out.record.created_at = utc_now();
  EF_CHECK(store_.add_operator_token(out.record));
  return out;
}

Result<std::optional<std::string>> OperatorAuth::bootstrap_admin() {
  EF_TRY(auto tokens, store_.operator_tokens());
  if (!tokens.empty()) return std::optional<std::string>();
  EF_TRY(auto created, create_token("initial admin", store::Role::admin));
  return std::optional<std::string>(created.secret);
}

std::variant<Actor, http::Response> OperatorAuth::authorize(const http::Request& request,
                                                            store::Role minimum) {
  const auto header = request.header("Authorization");
  constexpr std::string_view kBearer = "Bearer ";
  if (header.empty())
    return unauthorized("this endpoint needs an operator token (Authorization: Bearer ...)");
  if (header.substr(0, kBearer.size()) != kBearer) {
    return unauthorized("only Bearer tokens are accepted");
  }
  const auto secret = header.substr(kBearer.size());
  if (secret.substr(0, kPrefix.size()) != kPrefix || secret.size() != kPrefix.size() + 64) {
    return unauthorized("the operator token is malformed");
  }
  auto found = store_.operator_token_by_hash(crypto::sha256_hex(secret));
  if (!found) return http::error_response(found.error());
  if (!*found) return unauthorized("unknown operator token");
  const auto& token = **found;
  if (token.revoked_at) return unauthorized("the operator token " + token.id + " has been revoked");
  if (rank(token.role) < rank(minimum)) {
    return http::Response::error(403, "forbidden",
                                 "the token " + token.id + " has role " +
                                     std::string(store::role_name(token.role)) + "; this needs " +
                                     std::string(store::role_name(minimum)) + " or higher");
  }
  return Actor{token.id, token.name, token.role};
}

http::Guard OperatorAuth::guard(store::Role minimum) {
  return [this, minimum](http::Request& request) -> std::optional<http::Response> {
    auto result = authorize(request, minimum);
    if (auto* refusal = std::get_if<http::Response>(&result)) return std::move(*refusal);
    request.principal = std::get<Actor>(std::move(result));
    return std::nullopt;
  };
}

const Actor* actor_of(const http::Request& request) {
  return std::any_cast<Actor>(&request.principal);
}

void add_operator_route(http::Router& router, http::Verb method, std::string_view pattern,
                        OperatorAuth& auth, store::Role minimum, OperatorHandler handler,
                        http::RouteOptions options) {
  options.guard = auth.guard(minimum);
  router.add_sync(
      method, pattern,
      [handler = std::move(handler)](http::Request& request) {
        const Actor* actor = actor_of(request);
        if (actor == nullptr) {  // the guard always sets it: reaching here is a bug
          return http::error_response(
              make_error(Errc::internal, "no authenticated operator for " + request.path));
        }
        return handler(request, *actor);
      },
      std::move(options));
}

json::Json token_json(const store::OperatorToken& t) {
  json::Json j = {{"id", t.id},
                  {"name", t.name},
                  {"role", store::role_name(t.role)},
                  {"created_at", format_utc(t.created_at)}};
  j["revoked_at"] = t.revoked_at ? json::Json(format_utc(*t.revoked_at)) : json::Json(nullptr);
  return j;
}

namespace {

using http::Request;
using http::Response;

Response create_token(OperatorAuth& auth, store::Store& store, audit::AuditLog& log, Request& r,
                      const Actor& actor) {
  Response refusal;
  auto body = http::json_object_body(r, &refusal);
  if (!body) return refusal;
  auto name = json::get_string(*body, "name");
  auto role_text = json::get_string(*body, "role");
  if (!name || !role_text) return http::error_response(!name ? name.error() : role_text.error());
  auto role = store::role_from_name(*role_text);
  if (!role) return http::error_response(role.error());
  std::optional<NewToken> created;
  auto done = store.in_transaction([&]() -> Status {
    EF_TRY(created, auth.create_token(*name, *role));
    return log.record(actor.describe(), "token.create", created->record.id, r.peer->address,
                      {{"name", *name}, {"role", *role_text}});
  });
  if (!done) return http::error_response(done.error());
  auto j = token_json(created->record);
  j["token"] = created->secret;
  return Response::json(201, j);
}

Response list_tokens(store::Store& store) {
  auto tokens = store.operator_tokens();
  if (!tokens) return http::error_response(tokens.error());
  json::Json list = json::Json::array();
  for (const auto& t : *tokens)
    list.push_back(token_json(t));
  return Response::json(200, {{"tokens", list}});
}

Response revoke_token(store::Store& store, audit::AuditLog& log, Request& r, const Actor& actor) {
  const std::string id(r.param("id"));
  if (id == actor.token_id) {
    return Response::error(409, "conflict",
                           "a token cannot revoke itself; use another admin token");
  }
  auto done = store.in_transaction([&]() -> Status {
    EF_CHECK(store.revoke_operator_token(id, utc_now()));
    return log.record(actor.describe(), "token.revoke", id, r.peer->address);
  });
  if (!done) return http::error_response(done.error());
  return Response::no_content();
}

}  // namespace

void add_routes(http::Router& router, OperatorAuth& auth, store::Store& store,
                audit::AuditLog& log) {
  constexpr auto kAdmin = store::Role::admin;
  add_operator_route(
      router, http::Verb::post, "/api/v1/tokens", auth, kAdmin,
      [&](Request& r, const Actor& actor) { return create_token(auth, store, log, r, actor); },
      {.name = "tokens.create"});
  add_operator_route(router, http::Verb::get, "/api/v1/tokens", auth, kAdmin,
                     [&](Request&, const Actor&) { return list_tokens(store); },
                     {.name = "tokens.list"});
  add_operator_route(
      router, http::Verb::delete_, "/api/v1/tokens/{id}", auth, kAdmin,
      [&](Request& r, const Actor& actor) { return revoke_token(store, log, r, actor); },
      {.name = "tokens.revoke"});
}

}  // namespace ef::operator_auth
