// Download progress for people: a redrawn bar on a terminal (file, %, bytes, MB/s, ETA), plain
// lines every few seconds otherwise (logs, CI), or nothing.
//
// The downloader reports through the Progress interface and knows nothing of terminals; the
// formatting functions are pure so they can be tested without a clock or a terminal.
//
// Thread-safety: a ConsoleProgress belongs to the thread running the pull.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>

namespace inferline::hub {

class Progress {
 public:
  virtual ~Progress() = default;
  // A transfer of `name` begins (again, after a retry) with `already` bytes on disk; `total` is
  // 0 when unknown.
  virtual void FileStarted(std::string_view name, uint64_t total, uint64_t already) = 0;
  // `done` bytes of the file are on disk.
  virtual void FileAdvanced(uint64_t done) = 0;
  virtual void FileFinished(std::string_view name, uint64_t size, bool skipped) = 0;
  // Something the user should see: a retry, a restart, a warning.
  virtual void Note(std::string_view message) = 0;
};

// "523 B", "12.3 KB", "1.50 GB" (powers of 1000, as download tools and the Hub show them).
std::string FormatBytes(uint64_t bytes);
// "0:07", "12:34", "1:02:03"; "--:--" when unknown or absurd.
std::string FormatEta(double seconds);

struct ProgressSnapshot {
  std::string name;
  uint64_t done = 0;
  uint64_t total = 0;            // 0: unknown
  double bytes_per_second = 0;   // 0: not measured yet
};

// One terminal line of `width` columns at most: "name  45% |#####     | 1.2/2.7 GB 52.1 MB/s ETA 0:29".
std::string FormatBar(const ProgressSnapshot& s, int width);
// One log line: "name: 45% (1.2 GB of 2.7 GB) at 52.1 MB/s, ETA 0:29".
std::string FormatLine(const ProgressSnapshot& s);

class ConsoleProgress : public Progress {
 public:
  enum class Style { kBar, kLines, kQuiet };
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  // kBar when `out` is a terminal, else kLines.
  static Style AutoStyle(std::FILE* out);

  ConsoleProgress(std::FILE* out, Style style, Clock clock = nullptr,
                  std::chrono::milliseconds line_interval = std::chrono::seconds(5));

  void FileStarted(std::string_view name, uint64_t total, uint64_t already) override;
  void FileAdvanced(uint64_t done) override;
  void FileFinished(std::string_view name, uint64_t size, bool skipped) override;
  void Note(std::string_view message) override;

 private:
  std::chrono::steady_clock::time_point Now() const;
  ProgressSnapshot Snapshot(std::chrono::steady_clock::time_point now, bool final = false) const;
  void EndBarLine();

  std::FILE* out_;
  Style style_;
  Clock clock_;
  std::chrono::milliseconds line_interval_;
  std::string name_;
  uint64_t total_ = 0;
  uint64_t done_ = 0;
  uint64_t base_ = 0;  // bytes already on disk when this transfer started: not part of the rate
  std::chrono::steady_clock::time_point started_{};
  std::chrono::steady_clock::time_point last_draw_{};
  bool bar_open_ = false;  // a bar line is on screen without its newline
};

}  // namespace inferline::hub
