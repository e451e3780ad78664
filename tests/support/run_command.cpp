#include "run_command.hpp"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <sstream>

namespace ef::testing {

CommandResult run_command(const std::string& command) {
  char out_name[] = "/tmp/ef-cmd-out-XXXXXX";
  char err_name[] = "/tmp/ef-cmd-err-XXXXXX";
  ::close(::mkstemp(out_name));
  ::close(::mkstemp(err_name));
  const std::string full = "(" + command + ") >" + out_name + " 2>" + err_name;
  const int status = std::system(full.c_str());
  CommandResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  auto slurp = [](const char* path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  };
  r.out = slurp(out_name);
  r.err = slurp(err_name);
  ::unlink(out_name);
  ::unlink(err_name);
  return r;
}

}  // namespace ef::testing
