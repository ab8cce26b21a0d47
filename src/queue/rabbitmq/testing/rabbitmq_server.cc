#include "queue/rabbitmq/testing/rabbitmq_server.h"

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <thread>
#include <vector>

namespace inferline::queue::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

Result<int> FreePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return Internal("socket() failed");
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(a);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
    ::close(fd);
    return Internal("cannot find a free loopback port");
  }
  ::close(fd);
  return static_cast<int>(ntohs(a.sin_port));
}

// True once a guest login on the AMQP port succeeds.
bool AmqpAnswers(int port) {
  amqp_connection_state_t conn = amqp_new_connection();
  amqp_socket_t* socket = amqp_tcp_socket_new(conn);
  timeval tv{2, 0};
  bool ok = false;
  if (socket != nullptr && amqp_socket_open_noblock(socket, "127.0.0.1", port, &tv) == 0) {
    amqp_set_handshake_timeout(conn, &tv);
    amqp_rpc_reply_t r = amqp_login(conn, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest",
                                    "guest");
    ok = r.reply_type == AMQP_RESPONSE_NORMAL;
    if (ok) (void)amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
  }
  amqp_destroy_connection(conn);
  return ok;
}

std::string Tail(const std::string& path, size_t bytes) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string s = ss.str();
  return s.size() > bytes ? s.substr(s.size() - bytes) : s;
}

std::atomic<int> g_counter{0};

}  // namespace

Result<std::unique_ptr<RabbitMqServer>> RabbitMqServer::Start(RabbitMqServerOptions options) {
  std::unique_ptr<RabbitMqServer> s(new RabbitMqServer());
  s->options_ = std::move(options);
  std::string tmpl = (fs::temp_directory_path() / "inferline-rabbitmq-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) return Internal("mkdtemp failed for " + tmpl);
  s->dir_ = tmpl;
  s->node_name_ = fmt::format("inferline_{}_{}_{}@localhost", ::getpid(), g_counter++,
                              fs::path(tmpl).filename().string().substr(19));
  std::vector<int> ports;
  while (ports.size() < 3) {
    ASSIGN_OR_RETURN(int p, FreePort());
    bool dup = false;
    for (int q : ports) dup = dup || q == p;
    if (!dup) ports.push_back(p);
  }
  s->amqp_port_ = ports[0];
  s->dist_port_ = ports[1];
  s->epmd_port_ = ports[2];
  RETURN_IF_ERROR(s->WriteConfig());
  RETURN_IF_ERROR(s->StartAgain());
  return s;
}

Result<std::unique_ptr<RabbitMqServer>> RabbitMqServer::Attach(const std::string& state) {
  std::ifstream in(state);
  if (!in) return NotFound("no RabbitMQ state file at " + state);
  std::map<std::string, std::string> kv;
  std::string line;
  while (std::getline(in, line)) {
    size_t eq = line.find('=');
    if (eq != std::string::npos) kv[line.substr(0, eq)] = line.substr(eq + 1);
  }
  std::unique_ptr<RabbitMqServer> s(new RabbitMqServer());
  try {
    s->dir_ = kv.at("dir");
    s->node_name_ = kv.at("node");
    s->amqp_port_ = std::stoi(kv.at("amqp_port"));
    s->dist_port_ = std::stoi(kv.at("dist_port"));
    s->epmd_port_ = std::stoi(kv.at("epmd_port"));
    s->pid_ = static_cast<pid_t>(std::stol(kv.at("pid")));
  } catch (const std::exception&) {
    return DataLoss("RabbitMQ state file " + state + " is incomplete");
  }
  // A state file left by an interrupted run may name a pid that another process has since
  // taken: never signal it.
  std::ifstream cmdline(fmt::format("/proc/{}/cmdline", s->pid_));
  std::string args((std::istreambuf_iterator<char>(cmdline)), std::istreambuf_iterator<char>());
  if (args.find("rabbitmq-server") == std::string::npos) s->pid_ = -1;
  s->owned_ = false;
  return s;
}

Result<std::unique_ptr<RabbitMqServer>> RabbitMqServer::FromEnvironment() {
  const char* state = std::getenv("INFERLINE_RABBITMQ_STATE");
  if (state == nullptr || *state == '\0') {
    return FailedPrecondition(
        "INFERLINE_RABBITMQ_STATE is not set: run this test through ctest (fixture "
        "rabbitmq_server) or start a node with `rabbitmq_test_server start <state-file>`");
  }
  return Attach(state);
}

RabbitMqServer::~RabbitMqServer() {
  if (!owned_) return;
  (void)Stop();
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

std::string RabbitMqServer::url() const {
  return fmt::format("amqp://guest:guest@127.0.0.1:{}/", amqp_port_);
}

Status RabbitMqServer::SaveState(const std::string& path) const {
  std::ofstream out(path, std::ios::trunc);
  out << "url=" << url() << "\ndir=" << dir_ << "\nnode=" << node_name_
      << "\namqp_port=" << amqp_port_ << "\ndist_port=" << dist_port_
      << "\nepmd_port=" << epmd_port_ << "\npid=" << pid_ << "\n";
  out.close();
  if (!out) return Internal("cannot write " + path);
  return Status::Ok();
}

Status RabbitMqServer::WriteConfig() const {
  for (const char* sub : {"home", "mnesia", "log"}) fs::create_directories(fs::path(dir_) / sub);
  std::ofstream conf(fs::path(dir_) / "rabbitmq.conf");
  conf << "listeners.tcp.1 = 127.0.0.1:" << amqp_port_ << "\n"
       << "loopback_users = none\n"
       << "log.file.level = info\n"
       << "log.console = false\n";
  std::ofstream(fs::path(dir_) / "rabbitmq-env.conf") << "\n";
  std::ofstream(fs::path(dir_) / "enabled_plugins") << "[].\n";
  if (!conf) return Internal("cannot write the RabbitMQ config in " + dir_);
  return Status::Ok();
}

Status RabbitMqServer::Launch() {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view v(*e);
    if (!v.starts_with("RABBITMQ_") && !v.starts_with("ERL_") && !v.starts_with("HOME=")) {
      env.emplace_back(v);
    }
  }
  auto set = [&](std::string k, std::string v) { env.push_back(k + "=" + v); };
  fs::path d(dir_);
  set("HOME", (d / "home").string());  // the Erlang cookie lives here
  set("RABBITMQ_NODENAME", node_name_);
  set("RABBITMQ_NODE_IP_ADDRESS", "127.0.0.1");
  set("RABBITMQ_NODE_PORT", std::to_string(amqp_port_));
  set("RABBITMQ_DIST_PORT", std::to_string(dist_port_));
  set("ERL_EPMD_PORT", std::to_string(epmd_port_));
  set("ERL_EPMD_ADDRESS", "127.0.0.1");
  set("RABBITMQ_MNESIA_BASE", (d / "mnesia").string());
  set("RABBITMQ_LOG_BASE", (d / "log").string());
  set("RABBITMQ_CONFIG_FILE", (d / "rabbitmq.conf").string());
  set("RABBITMQ_ADVANCED_CONFIG_FILE", (d / "advanced.config").string());
  set("RABBITMQ_CONF_ENV_FILE", (d / "rabbitmq-env.conf").string());
  set("RABBITMQ_ENABLED_PLUGINS_FILE", (d / "enabled_plugins").string());
  set("RABBITMQ_PID_FILE", (d / "rabbitmq.pid").string());
  set("RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS", "-kernel inet_dist_use_interface {127,0,0,1}");
  std::vector<char*> envp;
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string prog = options_.rabbitmq_server;
  std::string log = (d / "server.out").string();
  char* argv[] = {prog.data(), nullptr};

  pid_t pid = ::fork();
  if (pid < 0) return Internal("fork failed");
  if (pid == 0) {
    ::setsid();  // own process group: a forced stop kills the script and the VM together
    int in = ::open("/dev/null", O_RDONLY);
    int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (in >= 0) ::dup2(in, 0);
    if (out >= 0) {
      ::dup2(out, 1);
      ::dup2(out, 2);
    }
    for (int fd = 3; fd < 1024; ++fd) ::close(fd);  // never hold ctest's pipes open
    ::execve(prog.c_str(), argv, envp.data());
    ::_exit(127);
  }
  pid_ = pid;
  return Status::Ok();
}

bool RabbitMqServer::Running() const {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) return false;  // our child, reaped now
  if (::kill(pid_, 0) != 0) return false;
  std::ifstream stat(fmt::format("/proc/{}/stat", pid_));
  std::string content;
  std::getline(stat, content);
  size_t paren = content.rfind(')');
  return !(paren != std::string::npos && paren + 2 < content.size() && content[paren + 2] == 'Z');
}

Status RabbitMqServer::WaitReady() {
  auto start = Clock::now();
  while (Clock::now() - start < options_.start_timeout) {
    if (!Running()) {
      return Internal(fmt::format("rabbitmq-server exited during startup; its output:\n{}",
                                  Tail((fs::path(dir_) / "server.out").string(), 3000)));
    }
    if (AmqpAnswers(amqp_port_)) {
      startup_time_ =
          std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
      return Status::Ok();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return DeadlineExceeded(fmt::format("RabbitMQ did not answer on port {} within {} s; see {}",
                                      amqp_port_, options_.start_timeout.count(), dir_));
}

Status RabbitMqServer::StartAgain() {
  if (Running()) return FailedPrecondition("the RabbitMQ node is already running");
  RETURN_IF_ERROR(Launch());
  Status ready = WaitReady();
  if (!ready.ok()) (void)Kill();
  return ready;
}

void RabbitMqServer::StopEpmd() const {
  // The node's epmd is a daemon outside its process group; it exits once asked.
  std::string cmd = fmt::format("ERL_EPMD_PORT={} {} -kill >/dev/null 2>&1", epmd_port_,
                                options_.epmd);
  (void)std::system(cmd.c_str());
}

Status RabbitMqServer::Stop() {
  if (!Running()) {
    StopEpmd();
    return Status::Ok();
  }
  ::kill(pid_, SIGTERM);
  auto start = Clock::now();
  while (Running() && Clock::now() - start < options_.stop_timeout) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  Status st = Status::Ok();
  if (Running()) {
    st = DeadlineExceeded("RabbitMQ did not stop after SIGTERM; killed it");
    (void)Kill();
  }
  ::kill(-pid_, SIGKILL);  // stragglers of the group (the VM's helper processes)
  StopEpmd();
  return st;
}

Status RabbitMqServer::Kill() {
  if (pid_ <= 0) return Status::Ok();
  ::kill(-pid_, SIGKILL);
  ::kill(pid_, SIGKILL);
  auto start = Clock::now();
  while (Running() && Clock::now() - start < std::chrono::seconds(30)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return Running() ? Internal("RabbitMQ survived SIGKILL") : Status::Ok();
}

Status RabbitMqServer::Restart() {
  RETURN_IF_ERROR(Stop());
  return StartAgain();
}

}  // namespace inferline::queue::testing
