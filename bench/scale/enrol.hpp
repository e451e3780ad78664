// Registers and enrols simulated devices through the operator API and the enrolment endpoint,
// as an operator and an agent would: each device gets its own EC key and a certificate for a real
// CSR. The work is spread over `parallel` connections, each to one replica in turn.
#pragma once

#include <string>
#include <vector>

#include "core/common/result.hpp"
#include "identities.hpp"

namespace ef::scale {

struct EnrolOptions {
  int devices = 0;
  int parallel = 8;
  std::vector<int> ports;  // replicas
  std::string ca_file, admin_token, site = "bench";
};

// Devices are named scale-000000 upwards; the first failure ends the enrolment.
Result<std::vector<IdentityPem>> enrol(const EnrolOptions& options);

}  // namespace ef::scale
