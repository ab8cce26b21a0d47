#include "redis/testing/redis_server.h"

#include <fmt/format.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>
#include <vector>

#include "redis/redis_connection.h"

namespace inferline::redis::testing {
namespace {

Result<int> FreeLoopbackPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return Internal("socket() failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    return Internal("cannot find a free loopback port");
  }
  ::close(fd);
  return static_cast<int>(ntohs(addr.sin_port));
}

}  // namespace

Result<std::unique_ptr<RedisServer>> RedisServer::Start() {
  std::unique_ptr<RedisServer> s(new RedisServer());
  const char* bin = std::getenv("INFERLINE_REDIS_SERVER");
  s->binary_ = bin != nullptr && *bin != '\0' ? bin : "/usr/bin/redis-server";
  if (::access(s->binary_.c_str(), X_OK) != 0) {
    return FailedPrecondition(fmt::format("{} is missing: install redis-server "
                                          "(scripts/setup.sh does)", s->binary_));
  }
  std::string tmpl = (std::filesystem::temp_directory_path() / "inferline-redis-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) return Internal("cannot create a temporary folder");
  s->dir_ = tmpl;
  // Another process may take the port between our probe and the server's bind: try a few.
  Status last;
  for (int attempt = 0; attempt < 5; ++attempt) {
    ASSIGN_OR_RETURN(s->port_, FreeLoopbackPort());
    last = s->Launch();
    if (last.ok()) return s;
    s->Kill();
  }
  return last;
}

RedisServer::~RedisServer() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 200; ++i) {
      if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {
        pid_ = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    Kill();
  }
  std::error_code ec;
  if (!dir_.empty()) std::filesystem::remove_all(dir_, ec);
}

std::string RedisServer::url() const { return fmt::format("redis://127.0.0.1:{}", port_); }

Status RedisServer::Launch() {
  std::vector<std::string> args{binary_,      "--port",       std::to_string(port_),
                                "--bind",     "127.0.0.1",    "--save",
                                "",           "--appendonly", "no",
                                "--dir",      dir_,           "--logfile",
                                dir_ + "/redis.log", "--maxclients", "1000"};
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return Internal("fork() failed");
  if (pid == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);  // the parent died before prctl
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  pid_ = pid;
  return WaitReady();
}

Status RedisServer::WaitReady() {
  RedisEndpoint ep{.host = "127.0.0.1", .port = port_};
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  Status last;
  while (std::chrono::steady_clock::now() < deadline) {
    int wstatus = 0;
    if (::waitpid(pid_, &wstatus, WNOHANG) == pid_) {
      pid_ = -1;
      return Unavailable(fmt::format("redis-server on port {} exited at start (see its log in {})",
                                     port_, dir_));
    }
    auto conn = RedisConnection::Connect(ep, {std::chrono::milliseconds(200),
                                              std::chrono::milliseconds(500)});
    if (conn.ok()) {
      auto pong = (*conn)->Command({"PING"});
      if (pong.ok() && pong->str == "PONG") return Status::Ok();
      last = pong.ok() ? Unavailable("PING answered " + pong->Describe()) : pong.status();
    } else {
      last = conn.status();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return last.Annotate(fmt::format("redis-server on port {} did not answer PING", port_));
}

void RedisServer::Kill() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

Status RedisServer::Restart() {
  Kill();
  // The old socket may linger briefly; Launch waits for PING, a failed bind exits the child.
  Status last;
  for (int attempt = 0; attempt < 20; ++attempt) {
    last = Launch();
    if (last.ok()) return last;
    Kill();
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return last;
}

}  // namespace inferline::redis::testing
