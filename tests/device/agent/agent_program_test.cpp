// The edgefleet-agent program's start: it executes itself once more with GnuTLS's load-time
// initialisation switched off (apps/edgefleet-agent/main.cpp), and must still see its own
// arguments, stop re-executing, and leave an operator's own GNUTLS_NO_IMPLICIT_INIT alone.
#include <gtest/gtest.h>

#include <string>

#include "run_command.hpp"

namespace ef {
namespace {

const std::string kAgent = EF_AGENT_PROGRAM;

TEST(AgentProgram, StartsOnceMoreAndKeepsItsArguments) {
  // A loop of re-executions would never print the version: the test would time out.
  auto version = testing::run_command("env -u GNUTLS_NO_IMPLICIT_INIT " + kAgent + " --version");
  EXPECT_EQ(version.exit_code, 0) << version.err;
  EXPECT_FALSE(version.out.empty());
  // The arguments survive the second start: a bad value is still reported as such.
  auto bad = testing::run_command("env -u GNUTLS_NO_IMPLICIT_INIT " + kAgent +
                                  " --checkin-wait not-a-number");
  EXPECT_NE(bad.exit_code, 0);
  EXPECT_NE((bad.out + bad.err).find("checkin-wait"), std::string::npos) << bad.out << bad.err;
}

TEST(AgentProgram, LeavesAnOperatorsSettingAlone) {
  for (const char* value : {"1", "0"}) {
    auto version = testing::run_command(std::string("GNUTLS_NO_IMPLICIT_INIT=") + value + " " +
                                        kAgent + " --version");
    EXPECT_EQ(version.exit_code, 0) << version.err;
    EXPECT_FALSE(version.out.empty());
  }
}

}  // namespace
}  // namespace ef
