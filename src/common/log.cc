#include "common/log.h"

#include <unistd.h>

#include <cerrno>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <string>
#include <thread>

#include "common/json_writer.h"
#include "common/thread_name.h"

namespace inferline::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
std::atomic<bool> g_json{false};
// Lines go to stderr through a writer thread, so that a request's thread (an HTTP I/O thread
// above all) only appends to a buffer instead of making a system call per line. Warnings and
// errors are written at once (with everything before them), so that they are never lost in a
// crash; so is every line of a process whose writer thread is not running (a forked child).
// The buffer is bounded: past kMaxPending bytes lines are dropped and counted, and the count is
// reported once there is room again.
class Sink {
 public:
  static constexpr size_t kMaxPending = 8 << 20;

  static Sink& Get() {
    static Sink* sink = [] {
      auto* s = new Sink();  // never destroyed: lines may be written during static destruction
      std::atexit([] { Get().Flush(); });
      return s;
    }();
    return *sink;
  }

  void Append(std::string_view line, bool now) {
    bool sync = now;
    {
      std::lock_guard lock(mu_);
      if (!started_) {
        started_ = true;
        writer_pid_ = ::getpid();
        std::thread([this] {
          NameThisThread("log-writer");
          Run();
        }).detach();
      }
      if (!sync && ::getpid() != writer_pid_) sync = true;
      if (pending_.size() + line.size() > kMaxPending && !sync) {
        ++dropped_;
        return;
      }
      if (dropped_ > 0) {
        pending_ += fmt::format("{} log lines dropped: stderr could not keep up\n", dropped_);
        dropped_ = 0;
      }
      pending_ += line;
      if (!sync) {
        if (!waiting_) return;
        waiting_ = false;
      }
    }
    if (sync) {
      Flush();
    } else {
      cv_.notify_one();
    }
  }

  // Writes everything appended so far.
  void Flush() {
    std::string out;
    std::lock_guard write_lock(write_mu_);
    {
      std::lock_guard lock(mu_);
      out.swap(pending_);
    }
    WriteAll(out);
  }

 private:
  void Run() {
    for (;;) {
      {
        std::unique_lock lock(mu_);
        waiting_ = true;
        cv_.wait_for(lock, std::chrono::milliseconds(100), [&] { return !pending_.empty(); });
        waiting_ = false;
      }
      Flush();
    }
  }

  static void WriteAll(std::string_view out) {
    while (!out.empty()) {
      ssize_t n = ::write(STDERR_FILENO, out.data(), out.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;  // nowhere to log to
      out.remove_prefix(static_cast<size_t>(n));
    }
  }

  std::mutex write_mu_;  // serialises writes to stderr, so that lines stay in order
  std::mutex mu_;        // guards the fields below
  std::condition_variable cv_;
  std::string pending_;
  uint64_t dropped_ = 0;
  bool started_ = false;
  bool waiting_ = false;  // the writer is (about to be) asleep: wake it
  pid_t writer_pid_ = 0;
};

const char* LevelName(Level l) {
  switch (l) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarn: return "warn";
    case Level::kError: return "error";
  }
  return "info";
}

std::string Timestamp() {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                     tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
}

struct AutoInit {
  AutoInit() { g_json = !isatty(STDERR_FILENO); }
} g_auto_init;

}  // namespace

void Init(Format format, Level level) {
  g_level = static_cast<int>(level);
  g_json = format == Format::kJson || (format == Format::kAuto && !isatty(STDERR_FILENO));
}

bool Enabled(Level level) { return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed); }

void Write(Level level, std::string_view request_id, std::string_view message) {
  std::string line;
  line.reserve(message.size() + 96);
  if (g_json.load(std::memory_order_relaxed)) {
    line += "{\"ts\":\"";
    line += Timestamp();
    line += "\",\"level\":\"";
    line += LevelName(level);
    line += '"';
    if (!request_id.empty()) {
      line += ",\"request_id\":";
      AppendJsonString(line, request_id);
    }
    line += ",\"msg\":";
    AppendJsonString(line, message);
    line += "}\n";
  } else {
    line += Timestamp();
    line += ' ';
    line += LevelName(level);
    line += ' ';
    if (!request_id.empty()) {
      line += '[';
      line += request_id;
      line += "] ";
    }
    line += message;
    line += '\n';
  }
  Sink::Get().Append(line, level >= Level::kWarn);
}

void Flush() { Sink::Get().Flush(); }

bool ParseLevel(std::string_view s, Level* out) {
  if (s == "debug") *out = Level::kDebug;
  else if (s == "info") *out = Level::kInfo;
  else if (s == "warn" || s == "warning") *out = Level::kWarn;
  else if (s == "error") *out = Level::kError;
  else return false;
  return true;
}

bool ParseFormat(std::string_view s, Format* out) {
  if (s == "auto") *out = Format::kAuto;
  else if (s == "text") *out = Format::kText;
  else if (s == "json") *out = Format::kJson;
  else return false;
  return true;
}

}  // namespace inferline::log
