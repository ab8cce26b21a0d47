// Distributed (issue 6, acceptance 5): the embedded mode's bad-input catalogue
// (tests/e2e/bad_input_cases.h) and the official OpenAI Node SDK test (tests/e2e/sdk) pass
// against the distributed gateway unchanged.
#include <fmt/format.h>
#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "bad_input_cases.h"
#include "distributed_fixture.h"

namespace inferline::distributed {
namespace {

TEST_F(Distributed, BadInputCatalogue) {
  const std::string alice = CreateUserKey(cluster(), "alice");
  ASSERT_FALSE(alice.empty());
  e2e::CheckBadInputCatalogue(port(), cluster().admin_key(), alice);
}

// Runs tests/e2e/sdk/run.sh with the gateway's URL; its output goes to the test's log.
TEST_F(Distributed, OpenAiSdk) {
  const char* src = std::getenv("INFERLINE_SOURCE_DIR");
  std::filesystem::path root = src != nullptr && *src != '\0' ? src : ".";
  std::filesystem::path script = root / "tests/e2e/sdk/run.sh";
  ASSERT_TRUE(std::filesystem::exists(script)) << script;
  if (std::system("command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1") != 0) {
    FAIL() << "node and npm are not installed (scripts/setup.sh installs them)";
  }
  std::string cmd = fmt::format(
      "INFERLINE_SDK_BASE_URL=http://127.0.0.1:{} INFERLINE_SDK_ADMIN_KEY={} {} 2>&1", port(),
      cluster().admin_key(), script.string());
  FILE* pipe = ::popen(cmd.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string output;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof(buf), pipe)) output.append(buf, n);
  int status = ::pclose(pipe);
  std::printf("%s", output.c_str());
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << output;
  EXPECT_NE(output.find("openai sdk e2e: all passed"), std::string::npos) << output;
}

}  // namespace
}  // namespace inferline::distributed
