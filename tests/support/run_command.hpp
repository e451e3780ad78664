// Runs a shell command for tests and captures its exit status, stdout and stderr.
#pragma once

#include <string>

namespace ef::testing {

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

CommandResult run_command(const std::string& command);

}  // namespace ef::testing
