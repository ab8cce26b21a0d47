// Test helper: a private RabbitMQ node from Debian's rabbitmq-server package, on free loopback
// ports, with its data, logs, config and Erlang cookie in a temporary folder. Nothing of the
// system installation is touched: the node has its own name, its own epmd (ERL_EPMD_PORT) and
// its own config, env and plugins files.
//
// Startup takes seconds, so a test suite starts one node for all its tests: the executable
// `rabbitmq_test_server start|stop <state-file>` (rabbitmq_test_server_main.cc) runs as ctest
// fixtures, and tests read the node's URL from the state file named by INFERLINE_RABBITMQ_STATE
// (RabbitMqServer::FromEnvironment). A test that needs to stop or restart the node (fault tests)
// starts its own with Start().
//
// Stop is graceful (SIGTERM, which the node handles like `rabbitmqctl stop`), then SIGKILL of the
// node's process group after a timeout; Kill is the crash. Restart keeps ports, name and data.
//
// Thread-safety: one owner thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>

#include "common/status.h"

namespace inferline::queue::testing {

struct RabbitMqServerOptions {
  std::string rabbitmq_server = "/usr/lib/rabbitmq/bin/rabbitmq-server";
  std::string epmd = "/usr/bin/epmd";
  std::chrono::seconds start_timeout{180};
  std::chrono::seconds stop_timeout{60};
};

class RabbitMqServer {
 public:
  // Creates a temporary folder, picks free ports and starts the node; returns once AMQP logins
  // succeed.
  [[nodiscard]] static Result<std::unique_ptr<RabbitMqServer>> Start(
      RabbitMqServerOptions options = {});
  // The node described by a state file written by SaveState (the fixture's node). It is not
  // stopped when the object is destroyed. If the recorded pid no longer runs RabbitMQ's script
  // (a reused pid), the node counts as stopped and nothing is ever signalled.
  [[nodiscard]] static Result<std::unique_ptr<RabbitMqServer>> Attach(const std::string& state);
  // The suite's shared node: Attach(getenv("INFERLINE_RABBITMQ_STATE")).
  [[nodiscard]] static Result<std::unique_ptr<RabbitMqServer>> FromEnvironment();

  ~RabbitMqServer();  // stops (and removes) a node this object started
  RabbitMqServer(const RabbitMqServer&) = delete;
  RabbitMqServer& operator=(const RabbitMqServer&) = delete;

  // amqp://guest:guest@127.0.0.1:<port>/
  std::string url() const;
  int port() const { return amqp_port_; }
  const std::string& dir() const { return dir_; }
  // How long the last start took until AMQP answered.
  std::chrono::milliseconds startup_time() const { return startup_time_; }

  [[nodiscard]] Status SaveState(const std::string& path) const;
  // Leaves the node running when this object is destroyed (the fixture's start step).
  void Detach() { owned_ = false; }

  [[nodiscard]] Status Stop();     // graceful, then forced; idempotent
  [[nodiscard]] Status Kill();     // SIGKILL: a crash
  [[nodiscard]] Status Restart();  // Stop then start on the same ports and data
  [[nodiscard]] Status StartAgain();  // after Kill or Stop

 private:
  RabbitMqServer() = default;
  Status WriteConfig() const;
  Status Launch();
  Status WaitReady();
  bool Running() const;
  void StopEpmd() const;

  RabbitMqServerOptions options_;
  std::string dir_;
  std::string node_name_;
  int amqp_port_ = 0;
  int dist_port_ = 0;
  int epmd_port_ = 0;
  pid_t pid_ = -1;  // the rabbitmq-server script; leader of the node's process group
  bool owned_ = true;
  std::chrono::milliseconds startup_time_{0};
};

}  // namespace inferline::queue::testing
