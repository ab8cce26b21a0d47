// fake_hub_server: serves the tiny golden model as test-org/tiny-gpt2 on 127.0.0.1 for the CLI
// test of `inferline pull`. Prints its endpoint on the first line, then serves until killed (or
// for at most `seconds`, so a forgotten server does not linger).
//
//   fake_hub_server <source_dir> [seconds] [token]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "hub/testing/fake_hub.h"

int main(int argc, char** argv) {
  using namespace inferline::hub::testing;
  if (argc < 2) {
    std::fprintf(stderr, "usage: fake_hub_server <source_dir> [seconds] [token]\n");
    return 64;
  }
  TinyModel model = LoadTinyModel(argv[1]);
  if (model.weights.empty()) {
    std::fprintf(stderr, "fake_hub_server: no tests/golden under %s\n", argv[1]);
    return 1;
  }
  int seconds = argc > 2 ? std::atoi(argv[2]) : 120;
  FakeHub hub;
  AddTinyModel(hub, model);
  if (argc > 3) {
    FakeFaults faults;
    faults.required_token = argv[3];
    hub.SetFaults(faults);
  }
  std::printf("%s\n", hub.endpoint().c_str());
  std::fflush(stdout);
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  return 0;
}
