// rabbitmq_test_server start|stop <state-file>: the ctest fixture that runs one private
// RabbitMQ node for a whole test suite (see rabbitmq_server.h). `start` returns once the node
// answers AMQP and leaves it running, its URL and process in <state-file> (first stopping the
// node of an earlier run that never reached its `stop`); `stop` stops that node, removes its
// folder and the state file. Tests find the file through
// INFERLINE_RABBITMQ_STATE.
#include <cstdio>
#include <filesystem>
#include <string>

#include "queue/rabbitmq/testing/rabbitmq_server.h"

using inferline::queue::testing::RabbitMqServer;

namespace {

// An earlier run was interrupted before its `stop`: stop its node, which would run on orphaned.
void StopStale(const std::string& state) {
  auto stale = RabbitMqServer::Attach(state);
  if (stale.ok()) {
    (void)(*stale)->Stop();  // nothing to stop if its pid no longer runs RabbitMQ (Attach)
    std::printf("cleared the RabbitMQ node of an interrupted run (%s)\n",
                (*stale)->url().c_str());
    std::error_code ec;
    std::filesystem::remove_all((*stale)->dir(), ec);
  }
  std::error_code ec;
  std::filesystem::remove(state, ec);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || (std::string(argv[1]) != "start" && std::string(argv[1]) != "stop")) {
    std::fprintf(stderr, "usage: %s start|stop <state-file>\n", argv[0]);
    return 2;
  }
  std::string state = argv[2];
  if (std::string(argv[1]) == "start") {
    if (std::filesystem::exists(state)) StopStale(state);
    auto server = RabbitMqServer::Start();
    if (!server.ok()) {
      std::fprintf(stderr, "starting RabbitMQ failed: %s\n", server.status().ToString().c_str());
      return 1;
    }
    if (auto st = (*server)->SaveState(state); !st.ok()) {
      std::fprintf(stderr, "%s\n", st.ToString().c_str());
      return 1;
    }
    std::printf("RabbitMQ %s started in %lld ms (folder %s)\n", (*server)->url().c_str(),
                static_cast<long long>((*server)->startup_time().count()),
                (*server)->dir().c_str());
    (*server)->Detach();
    return 0;
  }
  auto server = RabbitMqServer::Attach(state);
  if (!server.ok()) {
    std::fprintf(stderr, "%s\n", server.status().ToString().c_str());
    return 1;
  }
  inferline::Status st = (*server)->Stop();
  std::error_code ec;
  std::filesystem::remove_all((*server)->dir(), ec);
  std::filesystem::remove(state, ec);
  if (!st.ok()) {
    std::fprintf(stderr, "%s\n", st.ToString().c_str());
    return 1;
  }
  std::printf("RabbitMQ stopped\n");
  return 0;
}
