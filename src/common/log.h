// Structured logging. Human-readable lines when stderr is a terminal, one JSON object per line
// otherwise (or as configured). Every line of a request carries its request id: pass it
// explicitly with the *For variants, e.g. log::InfoFor(rid, "queued model={}", model).
//
// Lines are written to stderr by a background thread (warnings and errors at once), so logging
// costs a request's thread a buffer append, not a system call. Flush() writes what is pending;
// it runs at exit too.
//
// Thread-safety: all functions may be called from any thread; a line is written atomically.
#pragma once

#include <fmt/format.h>

#include <string_view>

namespace inferline::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class Format { kAuto, kText, kJson };

// Call once at start; until then lines go out at info level in auto format.
void Init(Format format, Level level);
bool Enabled(Level level);
void Write(Level level, std::string_view request_id, std::string_view message);
void Flush();

// Parses "debug|info|warn|error" / "auto|text|json".
bool ParseLevel(std::string_view s, Level* out);
bool ParseFormat(std::string_view s, Format* out);

template <class... A>
void Debug(fmt::format_string<A...> f, A&&... a) {
  if (Enabled(Level::kDebug)) Write(Level::kDebug, {}, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void Info(fmt::format_string<A...> f, A&&... a) {
  if (Enabled(Level::kInfo)) Write(Level::kInfo, {}, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void Warn(fmt::format_string<A...> f, A&&... a) {
  if (Enabled(Level::kWarn)) Write(Level::kWarn, {}, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void Error(fmt::format_string<A...> f, A&&... a) {
  if (Enabled(Level::kError)) Write(Level::kError, {}, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void DebugFor(std::string_view rid, fmt::format_string<A...> f, A&&... a) {
  if (Enabled(Level::kDebug)) Write(Level::kDebug, rid, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void InfoFor(std::string_view rid, fmt::format_string<A...> f, A&&... a) {
  if (Enabled(Level::kInfo)) Write(Level::kInfo, rid, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void WarnFor(std::string_view rid, fmt::format_string<A...> f, A&&... a) {
  if (Enabled(Level::kWarn)) Write(Level::kWarn, rid, fmt::format(f, std::forward<A>(a)...));
}
template <class... A>
void ErrorFor(std::string_view rid, fmt::format_string<A...> f, A&&... a) {
  if (Enabled(Level::kError)) Write(Level::kError, rid, fmt::format(f, std::forward<A>(a)...));
}

}  // namespace inferline::log
