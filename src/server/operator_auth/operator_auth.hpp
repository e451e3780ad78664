// Operator authentication: bearer tokens with roles.
//
// A token is "eft_" + 64 hex characters of CSPRNG output, shown once when created and stored only
// as its SHA-256. Roles are ordered: read-only < operator < admin; an endpoint names the lowest
// role it accepts. A revoked token stops working at once (every request looks the hash up).
//
// Operator routes are added with add_operator_route: its guard authenticates the token once, on
// the request head, and the handler receives the admitted Actor; handlers never check roles.
//
// Routes (admin only): POST /api/v1/tokens {"name", "role"} -> {"id", "token", ...};
// GET /api/v1/tokens; DELETE /api/v1/tokens/{id}. Each action is audited.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "core/http/router.hpp"
#include "server/audit/audit.hpp"
#include "server/store/store.hpp"

namespace ef::operator_auth {

struct Actor {
  std::string token_id;
  std::string name;
  store::Role role = store::Role::read_only;

  // How the audit log names this actor: "token:<id> (<name>)".
  std::string describe() const;
};

struct NewToken {
  store::OperatorToken record;
  std::string secret;
};

class OperatorAuth {
 public:
  explicit OperatorAuth(store::Store& store) : store_(store) {}

  // Creates a token; the secret is returned here and never again.
  Result<NewToken> create_token(std::string_view name, store::Role role);

  // On first start (no tokens at all) creates an admin token and returns its secret.
  Result<std::optional<std::string>> bootstrap_admin();

  // The actor behind "Authorization: Bearer <token>", or the answer to send: 401 without a valid
  // token, 403 when its role is below `minimum`.
  std::variant<Actor, http::Response> authorize(const http::Request& request, store::Role minimum);

  // A route guard that admits `minimum` and above (runs before the body is read) and leaves the
  // Actor in request.principal.
  http::Guard guard(store::Role minimum);

 private:
  store::Store& store_;
};

// The Actor that a guard() admitted, or null when the request passed no such guard.
const Actor* actor_of(const http::Request& request);

using OperatorHandler = std::function<http::Response(http::Request&, const Actor&)>;

// Adds a route for operators of role `minimum` and above: options.guard is set to guard(minimum),
// and handler runs with the actor it admitted.
void add_operator_route(http::Router& router, http::Verb method, std::string_view pattern,
                        OperatorAuth& auth, store::Role minimum, OperatorHandler handler,
                        http::RouteOptions options = {});

void add_routes(http::Router& router, OperatorAuth& auth, store::Store& store,
                audit::AuditLog& log);

json::Json token_json(const store::OperatorToken& token);

}  // namespace ef::operator_auth
