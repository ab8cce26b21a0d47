#include "store/postgres/testing/postgres_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <grp.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

#include "store/postgres/pg_connection.h"

namespace inferline::store::testing {
namespace {

using std::chrono::steady_clock;

struct RunAs {
  bool drop = false;  // running as root: become `postgres`
  uid_t uid = 0;
  gid_t gid = 0;
};

Result<RunAs> ServerUser() {
  if (::geteuid() != 0) return RunAs{};
  passwd* pw = ::getpwnam("postgres");
  if (pw == nullptr) {
    return FailedPrecondition("running as root, but there is no `postgres` user to run "
                              "PostgreSQL as (install the postgresql package)");
  }
  return RunAs{true, pw->pw_uid, pw->pw_gid};
}

// fork + exec of argv with output appended to `log`. The child drops to the server user and
// asks for SIGKILL when this process dies (set after the uid change, which would clear it).
Result<pid_t> Spawn(const std::vector<std::string>& args, const std::string& log,
                    const RunAs& as) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) return Internal("fork failed");
  if (pid == 0) {
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    if (as.drop && (::setgroups(0, nullptr) != 0 || ::setgid(as.gid) != 0 ||
                    ::setuid(as.uid) != 0)) {
      ::_exit(126);
    }
    // The server must see SIGINT (fast shutdown) even if this process blocks or ignores it.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : {SIGINT, SIGTERM, SIGQUIT, SIGHUP}) ::signal(sig, SIG_DFL);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(125);  // the parent died before prctl
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

std::string Tail(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > 2000 ? s.substr(s.size() - 2000) : s;
}

Result<int> FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return Internal("socket failed");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  if (port <= 0) return Internal("no free loopback port");
  return port;
}

}  // namespace

Result<std::unique_ptr<PostgresServer>> PostgresServer::Start(PostgresServerOptions options) {
  if (const char* bin = std::getenv("INFERLINE_POSTGRES_BIN")) options.bin_dir = bin;
  std::string tmpl =
      (std::filesystem::temp_directory_path() / "inferline-postgres-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) return Internal("mkdtemp failed");
  std::unique_ptr<PostgresServer> server(new PostgresServer(std::move(options), tmpl));
  RETURN_IF_ERROR(server->InitDb());
  Status st;
  for (int attempt = 0; attempt < 3; ++attempt) {  // the free port may be taken meanwhile
    ASSIGN_OR_RETURN(server->port_, FreePort());
    st = server->Launch();
    if (st.ok()) st = server->WaitReady();
    if (st.ok()) return server;
    (void)server->Stop();
  }
  return st;
}

PostgresServer::~PostgresServer() {
  (void)Stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

Status PostgresServer::InitDb() {
  ASSIGN_OR_RETURN(RunAs as, ServerUser());
  if (as.drop && ::chown(dir_.c_str(), as.uid, as.gid) != 0) {
    return Internal(fmt::format("cannot give {} to the postgres user", dir_));
  }
  std::string log = dir_ + "/initdb.log";
  ASSIGN_OR_RETURN(pid_t pid,
                   Spawn({options_.bin_dir + "/initdb", "-D", dir_ + "/data", "-U", "postgres",
                          "-A", "trust", "-E", "UTF8", "--no-locale", "--no-sync",
                          "--no-instructions"},
                         log, as));
  int status = 0;
  if (::waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return FailedPrecondition(fmt::format("initdb failed ({}/initdb): {}", options_.bin_dir,
                                          Tail(log)));
  }
  return Status::Ok();
}

Status PostgresServer::Launch() {
  ASSIGN_OR_RETURN(RunAs as, ServerUser());
  std::vector<std::string> args = {options_.bin_dir + "/postgres", "-D", dir_ + "/data", "-k",
                                   dir_, "-p", std::to_string(port_), "-h", "127.0.0.1", "-c",
                                   fmt::format("max_connections={}", options_.max_connections)};
  if (!options_.fsync) {
    for (const char* c : {"fsync=off", "full_page_writes=off", "synchronous_commit=off"}) {
      args.push_back("-c");
      args.push_back(c);
    }
  }
  for (const std::string& c : options_.settings) {
    args.push_back("-c");
    args.push_back(c);
  }
  ASSIGN_OR_RETURN(pid_, Spawn(args, dir_ + "/server.log", as));
  return Status::Ok();
}

Status PostgresServer::WaitReady() {
  std::string conninfo = fmt::format(
      "host=127.0.0.1 port={} dbname=postgres user=postgres connect_timeout=2", port_);
  auto deadline = steady_clock::now() + options_.start_timeout;
  while (steady_clock::now() < deadline) {
    if (PQping(conninfo.c_str()) == PQPING_OK) return Status::Ok();
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return Unavailable(fmt::format("postgres exited at start: {}", Tail(dir_ + "/server.log")));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return DeadlineExceeded(fmt::format("postgres did not become ready within {} s: {}",
                                      options_.start_timeout.count(),
                                      Tail(dir_ + "/server.log")));
}

Status PostgresServer::Stop() {
  if (pid_ <= 0) return Status::Ok();
  ::kill(pid_, SIGINT);  // fast shutdown: SIGTERM would wait for every client to leave
  auto deadline = steady_clock::now() + std::chrono::seconds(15);
  int status = 0;
  while (::waitpid(pid_, &status, WNOHANG) == 0) {
    if (steady_clock::now() > deadline) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  pid_ = -1;
  return Status::Ok();
}

Status PostgresServer::Resume() {
  if (pid_ > 0) return Status::Ok();
  RETURN_IF_ERROR(Launch());
  return WaitReady();
}

std::string PostgresServer::Url(std::string_view db) const {
  return fmt::format("postgresql://postgres@127.0.0.1:{}/{}", port_, db);
}

Result<std::string> PostgresServer::CreateDatabase(std::string_view name) {
  for (char c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') {
      return InvalidArgument("database names here are [A-Za-z0-9_]+");
    }
  }
  std::lock_guard lock(mu_);  // CREATE DATABASE copies template1, one at a time
  PostgresOptions o;
  o.url = Url("postgres");
  ASSIGN_OR_RETURN(std::unique_ptr<PgConnection> conn, PgConnection::Connect(o));
  RETURN_IF_ERROR(conn->Exec(fmt::format("CREATE DATABASE {}", name)).status());
  return Url(name);
}

}  // namespace inferline::store::testing
