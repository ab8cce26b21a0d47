// RedisServer: a private redis-server for integration tests, on a free loopback port with its own
// temporary folder and no persistence (`--save '' --appendonly no`). Start() returns once the
// server answers PING; the destructor stops it and removes the folder. The child gets
// PR_SET_PDEATHSIG, so a test that crashes leaves no server behind. Kill() (SIGKILL) and
// Restart() (same port, empty data) are for fault tests.
//
// The binary is /usr/bin/redis-server unless INFERLINE_REDIS_SERVER names another.
//
// Thread-safety: none; owned by one test.
#pragma once

#include <sys/types.h>

#include <memory>
#include <string>

#include "common/status.h"

namespace inferline::redis::testing {

class RedisServer {
 public:
  [[nodiscard]] static Result<std::unique_ptr<RedisServer>> Start();
  ~RedisServer();
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  int port() const { return port_; }
  std::string url() const;  // redis://127.0.0.1:<port>

  // SIGKILL, and wait for the process to be gone.
  void Kill();
  // Starts a fresh server on the same port (after Kill(), or kills the running one first).
  [[nodiscard]] Status Restart();

 private:
  RedisServer() = default;
  Status Launch();
  Status WaitReady();

  std::string dir_;
  std::string binary_;
  int port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace inferline::redis::testing
