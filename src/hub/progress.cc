#include "hub/progress.h"

#include <fmt/format.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>

namespace inferline::hub {

namespace {

constexpr auto kBarRedraw = std::chrono::milliseconds(100);

int TerminalWidth(std::FILE* out) {
  winsize ws{};
  if (ioctl(fileno(out), TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 20) return ws.ws_col;
  return 80;
}

std::string Percent(const ProgressSnapshot& s) {
  if (s.total == 0) return "  ?%";
  double pct = 100.0 * static_cast<double>(std::min(s.done, s.total)) / static_cast<double>(s.total);
  return fmt::format("{:3.0f}%", std::floor(pct));
}

std::string Rate(const ProgressSnapshot& s) {
  if (s.bytes_per_second <= 0) return "-- MB/s";
  return fmt::format("{:.1f} MB/s", s.bytes_per_second / 1e6);
}

std::string Eta(const ProgressSnapshot& s) {
  if (s.total > 0 && s.done >= s.total) return FormatEta(0);
  if (s.total == 0 || s.bytes_per_second <= 0) return FormatEta(-1);
  return FormatEta(static_cast<double>(s.total - s.done) / s.bytes_per_second);
}

}  // namespace

std::string FormatBytes(uint64_t bytes) {
  if (bytes < 1000) return fmt::format("{} B", bytes);
  static constexpr const char* kUnits[] = {"KB", "MB", "GB", "TB", "PB"};
  double v = static_cast<double>(bytes) / 1000.0;
  int unit = 0;
  while (v >= 1000.0 && unit < 4) {
    v /= 1000.0;
    ++unit;
  }
  int precision = v < 10 ? 2 : (v < 100 ? 1 : 0);
  return fmt::format("{:.{}f} {}", v, precision, kUnits[unit]);
}

std::string FormatEta(double seconds) {
  if (!(seconds >= 0) || seconds > 99 * 3600.0) return "--:--";
  auto total = static_cast<uint64_t>(std::llround(seconds));
  uint64_t h = total / 3600, m = total / 60 % 60, sec = total % 60;
  if (h > 0) return fmt::format("{}:{:02}:{:02}", h, m, sec);
  return fmt::format("{}:{:02}", m, sec);
}

std::string FormatBar(const ProgressSnapshot& s, int width) {
  std::string amounts = s.total > 0
                            ? fmt::format("{} / {}", FormatBytes(s.done), FormatBytes(s.total))
                            : FormatBytes(s.done);
  std::string tail = fmt::format(" {} {} ETA {}", amounts, Rate(s), Eta(s));
  std::string name = s.name;
  // The name gives way first, the bar second; the numbers always show.
  int room = width - static_cast<int>(tail.size()) - 6 /* " 100% " */ - 2 /* "||" */;
  int name_room = std::max(std::min(static_cast<int>(name.size()), room - 11), 8);
  int bar_width = std::clamp(room - name_room - 1, 0, 30);
  if (static_cast<int>(name.size()) > name_room) {
    name = "..." + name.substr(name.size() - static_cast<size_t>(name_room - 3));
  }
  std::string bar;
  if (bar_width > 0) {
    int filled = s.total == 0 ? 0
                              : static_cast<int>(static_cast<double>(bar_width) *
                                                 static_cast<double>(std::min(s.done, s.total)) /
                                                 static_cast<double>(s.total));
    bar = "|" + std::string(static_cast<size_t>(filled), '#') +
          std::string(static_cast<size_t>(bar_width - filled), ' ') + "|";
  }
  std::string line = fmt::format("{} {} {}{}", name, Percent(s), bar, tail);
  if (static_cast<int>(line.size()) > width && width > 0) line.resize(static_cast<size_t>(width));
  return line;
}

std::string FormatLine(const ProgressSnapshot& s) {
  if (s.total == 0) {
    return fmt::format("{}: {} at {}", s.name, FormatBytes(s.done), Rate(s));
  }
  std::string pct = Percent(s);
  pct.erase(0, pct.find_first_not_of(' '));
  return fmt::format("{}: {} ({} of {}) at {}, ETA {}", s.name, pct, FormatBytes(s.done),
                     FormatBytes(s.total), Rate(s), Eta(s));
}

ConsoleProgress::Style ConsoleProgress::AutoStyle(std::FILE* out) {
  return isatty(fileno(out)) ? Style::kBar : Style::kLines;
}

ConsoleProgress::ConsoleProgress(std::FILE* out, Style style, Clock clock,
                                 std::chrono::milliseconds line_interval)
    : out_(out), style_(style), clock_(std::move(clock)), line_interval_(line_interval) {}

std::chrono::steady_clock::time_point ConsoleProgress::Now() const {
  return clock_ ? clock_() : std::chrono::steady_clock::now();
}

ProgressSnapshot ConsoleProgress::Snapshot(std::chrono::steady_clock::time_point now,
                                           bool final) const {
  ProgressSnapshot s{name_, done_, total_, 0};
  double elapsed = std::chrono::duration<double>(now - started_).count();
  // A rate over the first instants of a transfer says more about latency than bandwidth.
  if ((final ? elapsed > 0 : elapsed >= 0.2) && done_ > base_) {
    s.bytes_per_second = static_cast<double>(done_ - base_) / elapsed;
  }
  return s;
}

void ConsoleProgress::EndBarLine() {
  if (bar_open_) {
    std::fputc('\n', out_);
    bar_open_ = false;
  }
}

void ConsoleProgress::FileStarted(std::string_view name, uint64_t total, uint64_t already) {
  if (style_ == Style::kQuiet) return;
  bool same = name_ == name;
  name_ = std::string(name);
  total_ = total;
  done_ = base_ = already;
  started_ = last_draw_ = Now();
  if (style_ == Style::kLines) {
    std::string size = total > 0 ? FormatBytes(total) : "size unknown";
    if (already > 0) {
      std::fprintf(out_, "%s: resuming at %s of %s\n", name_.c_str(), FormatBytes(already).c_str(),
                   size.c_str());
    } else if (!same) {
      std::fprintf(out_, "%s: downloading (%s)\n", name_.c_str(), size.c_str());
    }
    std::fflush(out_);
    return;
  }
  FileAdvanced(already);
}

void ConsoleProgress::FileAdvanced(uint64_t done) {
  if (style_ == Style::kQuiet) return;
  done_ = done;
  auto now = Now();
  if (style_ == Style::kBar) {
    if (bar_open_ && now - last_draw_ < kBarRedraw) return;
    last_draw_ = now;
    std::string line = FormatBar(Snapshot(now), TerminalWidth(out_) - 1);
    std::fprintf(out_, "\r%s\033[K", line.c_str());
    bar_open_ = true;
  } else {
    if (now - last_draw_ < line_interval_) return;
    last_draw_ = now;
    std::fprintf(out_, "%s\n", FormatLine(Snapshot(now)).c_str());
  }
  std::fflush(out_);
}

void ConsoleProgress::FileFinished(std::string_view name, uint64_t size, bool skipped) {
  if (style_ == Style::kQuiet) return;
  auto now = Now();
  if (skipped) {
    EndBarLine();
    std::fprintf(out_, "%.*s: already complete (%s)\n", static_cast<int>(name.size()), name.data(),
                 FormatBytes(size).c_str());
  } else if (style_ == Style::kBar) {
    done_ = size;
    if (total_ == 0) total_ = size;
    std::fprintf(out_, "\r%s\033[K\n",
                 FormatBar(Snapshot(now, /*final=*/true), TerminalWidth(out_) - 1).c_str());
    bar_open_ = false;
  } else {
    double secs = std::chrono::duration<double>(now - started_).count();
    std::fprintf(out_, "%.*s: done, %s in %.1f s\n", static_cast<int>(name.size()), name.data(),
                 FormatBytes(size).c_str(), secs);
  }
  name_.clear();
  std::fflush(out_);
}

void ConsoleProgress::Note(std::string_view message) {
  if (style_ == Style::kQuiet) return;
  EndBarLine();
  std::fprintf(out_, "%.*s\n", static_cast<int>(message.size()), message.data());
  std::fflush(out_);
}

}  // namespace inferline::hub
