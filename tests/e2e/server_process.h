// ServerProcess: an `inferline` subcommand as a child process for end-to-end tests. Servers
// (`serve`, `gateway`, `worker`, `collector`) run on a free port (--port 0; the port is read
// from their "listening on HOST:PORT" log line); one-shot commands (`migrate`) run to their
// exit with RunToExit. stdout and stderr go to a log file. The destructor stops a server with
// SIGTERM (and SIGKILL if it does not exit in time); a child also dies with the test
// (PR_SET_PDEATHSIG).
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

struct ProcessOptions {
  std::string subcommand = "serve";
  // Appended after the common flags (--host 127.0.0.1 --port 0 --log-format text
  // --http-access-log=false); later flags win.
  std::vector<std::string> args;
  std::filesystem::path log_path;  // required; created (truncated) on start
  std::chrono::seconds start_timeout{90};
};

class ServerProcess {
 public:
  // The inferline binary: $INFERLINE_BINARY/inferline (set by ctest), else ./build/.../inferline.
  static std::filesystem::path Binary();

  // Starts `inferline serve` and waits until it listens. `extra_args` are appended (e.g.
  // "--engine-max-slots", "2"). Check ok() afterwards; log() says why it failed.
  ServerProcess(std::filesystem::path data_dir, std::vector<std::string> extra_args = {},
                std::chrono::seconds start_timeout = std::chrono::seconds(90));
  // Starts any server subcommand and waits until it listens.
  explicit ServerProcess(ProcessOptions options);
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;
  ServerProcess& operator=(const ServerProcess&) = delete;

  // Runs a subcommand that exits by itself (no --port flags added); returns its exit status,
  // or nullopt when it did not exit within `options.start_timeout` (it is killed then).
  static std::optional<int> RunToExit(const ProcessOptions& options);

  bool ok() const { return port_ != 0 && pid_ > 0; }
  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }
  const std::filesystem::path& data_dir() const { return data_dir_; }
  // The admin key written on the first start (serve only).
  std::string AdminKey() const;
  std::string log() const;

  // kill -9, then reap.
  void Kill();
  // SIGTERM; returns the exit status, or nullopt if it had to be killed after `timeout`.
  std::optional<int> Terminate(std::chrono::seconds timeout = std::chrono::seconds(60));

 private:
  ServerProcess() = default;
  void Launch(const ProcessOptions& options, bool server);

  std::filesystem::path data_dir_;
  std::filesystem::path log_path_;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
};

}  // namespace inferline::e2e
