#include "server_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

namespace inferline::e2e {
namespace fs = std::filesystem;

namespace {

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

fs::path ServerProcess::Binary() {
  if (const char* dir = std::getenv("INFERLINE_BINARY"); dir != nullptr && *dir != '\0') {
    return fs::path(dir) / "inferline";
  }
  return fs::path("build/debug/bin/inferline");
}

ServerProcess::ServerProcess(fs::path data_dir, std::vector<std::string> extra_args,
                             std::chrono::seconds start_timeout)
    : data_dir_(std::move(data_dir)) {
  static std::atomic<int> counter{0};
  fs::create_directories(data_dir_);
  ProcessOptions o;
  o.log_path = data_dir_.parent_path() /
               (data_dir_.filename().string() + "-server-" + std::to_string(++counter) + ".log");
  o.args = {"--data-dir", data_dir_.string(), "--engine-threads", "1"};
  o.args.insert(o.args.end(), extra_args.begin(), extra_args.end());
  o.start_timeout = start_timeout;
  Launch(o, /*server=*/true);
}

ServerProcess::ServerProcess(ProcessOptions options) { Launch(options, /*server=*/true); }

std::optional<int> ServerProcess::RunToExit(const ProcessOptions& options) {
  ServerProcess p;
  p.Launch(options, /*server=*/false);
  if (p.pid_ <= 0) return std::nullopt;
  auto deadline = std::chrono::steady_clock::now() + options.start_timeout;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(p.pid_, &status, WNOHANG) == p.pid_) {
      p.pid_ = -1;
      return WIFEXITED(status) ? std::optional<int>(WEXITSTATUS(status)) : std::nullopt;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  p.Kill();
  return std::nullopt;
}

void ServerProcess::Launch(const ProcessOptions& options, bool server) {
  log_path_ = options.log_path;
  std::vector<std::string> args = {Binary().string(), options.subcommand};
  if (server) {
    for (const char* a : {"--host", "127.0.0.1", "--port", "0", "--log-format", "text",
                          "--http-access-log=false"}) {
      args.emplace_back(a);
    }
  } else {
    args.insert(args.end(), {"--log-format", "text"});
  }
  args.insert(args.end(), options.args.begin(), options.args.end());
  pid_ = ::fork();
  if (pid_ == 0) {
    // A test that crashes must not leave its server running.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      ::close(fd);
    }
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    std::_Exit(127);
  }
  if (pid_ < 0 || !server) return;
  // The character after the port proves the line complete: the file may be read while the
  // server is half-way through writing it (a truncated port would be another port).
  const std::regex listening(R"(listening on [^\s]*:(\d+)\D)");
  auto deadline = std::chrono::steady_clock::now() + options.start_timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::smatch m;
    std::string text = ReadFile(log_path_);
    if (std::regex_search(text, m, listening)) {
      port_ = static_cast<uint16_t>(std::stoi(m[1].str()));
      return;
    }
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;  // exited during start-up
      return;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

ServerProcess::~ServerProcess() {
  if (pid_ > 0) (void)Terminate(std::chrono::seconds(30));
}

std::string ServerProcess::AdminKey() const {
  std::string key = ReadFile(data_dir_ / "admin.key");
  while (!key.empty() && (key.back() == '\n' || key.back() == '\r')) key.pop_back();
  return key;
}

std::string ServerProcess::log() const { return ReadFile(log_path_); }

void ServerProcess::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::optional<int> ServerProcess::Terminate(std::chrono::seconds timeout) {
  if (pid_ <= 0) return std::nullopt;
  ::kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? std::optional<int>(WEXITSTATUS(status)) : std::nullopt;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  Kill();
  return std::nullopt;
}

}  // namespace inferline::e2e
