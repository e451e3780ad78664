#include "server/store/store.hpp"

#include "core/common/path.hpp"

namespace ef::store {

std::string_view status_name(DeviceStatus status) {
  switch (status) {
    case DeviceStatus::registered:
      return "registered";
    case DeviceStatus::active:
      return "active";
    case DeviceStatus::revoked:
      return "revoked";
  }
  return "unknown";
}

Result<DeviceStatus> status_from_name(std::string_view name) {
  if (name == "registered") return DeviceStatus::registered;
  if (name == "active") return DeviceStatus::active;
  if (name == "revoked") return DeviceStatus::revoked;
  return make_error(Errc::invalid_argument, "unknown device status '" + printable(name) +
                                                "' (registered, active, revoked)");
}

Result<CheckinView> make_checkin_view(std::string_view id, std::string_view status,
                                      std::optional<std::string> pinned_release) {
  auto parsed = status_from_name(status);
  if (!parsed) {
    return make_error(Errc::malformed,
                      "devices row '" + printable(id) + "': status: " + parsed.error().message);
  }
  return CheckinView{*parsed, std::move(pinned_release)};
}

std::string_view role_name(Role role) {
  switch (role) {
    case Role::read_only:
      return "read-only";
    case Role::operator_:
      return "operator";
    case Role::admin:
      return "admin";
  }
  return "unknown";
}

Result<Role> role_from_name(std::string_view name) {
  if (name == "read-only") return Role::read_only;
  if (name == "operator") return Role::operator_;
  if (name == "admin") return Role::admin;
  return make_error(Errc::invalid_argument,
                    "unknown role '" + printable(name) + "' (admin, operator, read-only)");
}

}  // namespace ef::store
