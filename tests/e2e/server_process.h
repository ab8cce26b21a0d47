// ServerProcess: `inferline serve` as a child process for end-to-end tests, on a free port
// (--port 0; the port is read from its "listening on" log line) with a data directory of the
// test's choosing, its stderr captured to a file. The destructor stops it with SIGTERM (and
// SIGKILL if it does not exit in time).
//
// Thread-safety: one thread (the test's) drives it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace inferline::e2e {

class ServerProcess {
 public:
  // The inferline binary: $INFERLINE_BINARY/inferline (set by ctest), else ./build/.../inferline.
  static std::filesystem::path Binary();

  // Starts `inferline serve` and waits until it listens. `extra_args` are appended (e.g.
  // "--engine-max-slots", "2"). Check ok() afterwards; log() says why it failed.
  ServerProcess(std::filesystem::path data_dir, std::vector<std::string> extra_args = {},
                std::chrono::seconds start_timeout = std::chrono::seconds(90));
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  bool ok() const { return port_ != 0 && pid_ > 0; }
  uint16_t port() const { return port_; }
  const std::filesystem::path& data_dir() const { return data_dir_; }
  // The admin key written on the first start.
  std::string AdminKey() const;
  std::string log() const;

  // kill -9, then reap.
  void Kill();
  // SIGTERM; returns the exit status, or nullopt if it had to be killed after `timeout`.
  std::optional<int> Terminate(std::chrono::seconds timeout = std::chrono::seconds(60));

 private:
  std::filesystem::path data_dir_;
  std::filesystem::path log_path_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

}  // namespace inferline::e2e
