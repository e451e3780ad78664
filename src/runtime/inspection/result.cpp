#include "runtime/inspection/result.hpp"

namespace ef::inspection {

const char* decision_name(Decision d) {
  return d == Decision::reject ? "reject" : "pass";
}

Result<Decision> parse_decision(std::string_view text) {
  if (text == "pass") return Decision::pass;
  if (text == "reject") return Decision::reject;
  return make_error(Errc::invalid_argument, "decision must be \"pass\" or \"reject\"");
}

}  // namespace ef::inspection
