#include "quota/local/user_windows.h"

#include <algorithm>

namespace inferline::quota {

void MinuteWindow::Prune(int64_t now_sec) {
  while (!entries_.empty() && entries_.front().second <= now_sec - kSeconds) {
    settled_ -= entries_.front().settled;
    reserved_ -= entries_.front().reserved;
    entries_.pop_front();
  }
}

int64_t MinuteWindow::Reserve(int64_t sec, const Amount& a) {
  if (entries_.empty() || entries_.back().second < sec) {
    entries_.push_back(Entry{sec, {}, {}});
  }
  entries_.back().reserved += a;
  reserved_ += a;
  return entries_.back().second;
}

void MinuteWindow::Settle(int64_t sec, const Amount& reserved, const Amount& actual) {
  auto it = std::lower_bound(entries_.begin(), entries_.end(), sec,
                             [](const Entry& e, int64_t s) { return e.second < s; });
  if (it == entries_.end() || it->second != sec) return;  // aged out already
  it->reserved -= reserved;
  it->settled += actual;
  reserved_ -= reserved;
  settled_ += actual;
}

int64_t MinuteWindow::SecondsUntilFits(bool tokens_kind, int64_t need, int64_t limit,
                                       int64_t now_sec) const {
  int64_t remaining = Total(tokens_kind);
  for (const Entry& e : entries_) {
    remaining -= e.settled.Of(tokens_kind) + e.reserved.Of(tokens_kind);
    if (remaining + need <= limit) return std::max<int64_t>(1, e.second + kSeconds - now_sec);
  }
  return 1;
}

}  // namespace inferline::quota
