#include "quota/local/local_quota_ledger.h"

#include <fmt/format.h>

#include <algorithm>

#include "common/log.h"
#include "store/types.h"

namespace inferline::quota {
namespace {

using store::Connection;
using store::Statement;

constexpr int64_t kDayKind = 0;

int64_t UnixSeconds(Time t) {
  return std::chrono::floor<std::chrono::seconds>(t).time_since_epoch().count();
}

std::chrono::seconds SecondsUntil(Time at, Time now) {
  return std::max(std::chrono::seconds(1), std::chrono::ceil<std::chrono::seconds>(at - now));
}

}  // namespace

Result<std::unique_ptr<LocalQuotaLedger>> LocalQuotaLedger::Open(
    std::shared_ptr<store::SqliteDatabase> db, Time now, LocalQuotaLedgerOptions options) {
  std::unique_ptr<LocalQuotaLedger> ledger(new LocalQuotaLedger(std::move(db), options));
  if (ledger->db_) RETURN_IF_ERROR(ledger->Load(now));
  return ledger;
}

Status LocalQuotaLedger::Load(Time now) {
  int64_t today = UtcDay(now), month = UtcMonth(now), now_sec = UnixSeconds(now);
  std::lock_guard lock(mu_);
  RETURN_IF_ERROR(db_->Read([&](Connection& c) -> Status {
    ASSIGN_OR_RETURN(Statement st, c.Prepare(
        "SELECT user_id, kind, tokens, requests FROM quota_counters "
        "WHERE (kind = 0 AND period = ?1) OR (kind = 1 AND period = ?2)"));
    st.Bind(1, today).Bind(2, month);
    while (true) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return Status::Ok();
      UserWindows& u = users_[st.Text(0)];
      CalendarWindow& w = st.Int(1) == kDayKind ? u.day : u.month;
      w.Roll(st.Int(1) == kDayKind ? today : month);
      w.settled = Amount{st.Int(2), st.Int(3)};
    }
  }));
  return db_->Read([&](Connection& c) -> Status {
    ASSIGN_OR_RETURN(Statement st, c.Prepare(
        "SELECT request_id, user_id, tokens, requests, day, month, created_at "
        "FROM quota_reservations ORDER BY created_at"));
    while (true) {
      ASSIGN_OR_RETURN(bool row, st.Step());
      if (!row) return Status::Ok();
      Reservation r{st.Text(1), Amount{st.Int(2), st.Int(3)}, st.Int(4), st.Int(5), 0, st.Int(6)};
      UserWindows& u = users_[r.user_id];
      Advance(u, now);
      if (u.day.period == r.day) u.day.reserved += r.amount;
      if (u.month.period == r.month) u.month.reserved += r.amount;
      int64_t sec = r.created_ms >= 0 ? r.created_ms / 1000 : (r.created_ms - 999) / 1000;
      r.minute_second = sec > now_sec - MinuteWindow::kSeconds ? u.minute.Reserve(sec, r.amount)
                                                               : sec;
      u.concurrent += 1;
      reservations_.emplace(st.Text(0), std::move(r));
    }
  });
}

void LocalQuotaLedger::Advance(UserWindows& u, Time now) const {
  u.day.Roll(UtcDay(now));
  u.month.Roll(UtcMonth(now));
  u.minute.Prune(UnixSeconds(now));
}

std::optional<Exceeded> LocalQuotaLedger::Check(const UserWindows& u, const Amount& want,
                                                const Limits& limits, Time now) const {
  std::optional<Exceeded> worst;
  for (Window w : kAllWindows) {
    std::optional<int64_t> limit = limits.Get(w);
    if (!limit) continue;
    bool tokens = CountsTokens(w);
    Exceeded e{.window = w, .limit = *limit, .requested = want.Of(tokens)};
    switch (w) {
      case Window::kConcurrentRequests:
        e.current = u.concurrent;
        e.requested = 1;
        break;
      case Window::kMinuteRequests:
      case Window::kMinuteTokens:
        e.current = u.minute.Total(tokens);
        break;
      case Window::kDailyRequests:
      case Window::kDailyTokens:
        e.current = u.day.settled.Of(tokens) + u.day.reserved.Of(tokens);
        e.retry_after = SecondsUntil(DayStart(u.day.period + 1), now);
        break;
      case Window::kMonthlyRequests:
      case Window::kMonthlyTokens:
        e.current = u.month.settled.Of(tokens) + u.month.reserved.Of(tokens);
        e.retry_after = SecondsUntil(MonthStart(u.month.period + 1), now);
        break;
    }
    if (e.current + e.requested <= e.limit) continue;
    e.never_fits = e.requested > e.limit;
    if (w == Window::kMinuteRequests || w == Window::kMinuteTokens) {
      e.retry_after = std::chrono::seconds(
          e.never_fits ? MinuteWindow::kSeconds
                       : u.minute.SecondsUntilFits(tokens, e.requested, e.limit, UnixSeconds(now)));
    }
    bool worse = !worst || (e.never_fits && !worst->never_fits) ||
                 (e.never_fits == worst->never_fits && e.retry_after > worst->retry_after);
    if (worse) worst = e;
  }
  return worst;
}

std::optional<std::future<Status>> LocalQuotaLedger::Persist(JournalRow row) {
  if (!journal_) return std::nullopt;
  return journal_->Add(std::move(row), options_.wait_for_commit);
}

Result<ReserveOutcome> LocalQuotaLedger::Reserve(const ReserveRequest& request,
                                                 const Limits& limits, Time now) {
  if (request.user_id.empty()) return InvalidArgument("user id must not be empty", "user_id");
  if (request.request_id.empty()) {
    return InvalidArgument("request id must not be empty", "request_id");
  }
  if (request.tokens < 0 || request.requests < 0) {
    return InvalidArgument("reserved amounts must be >= 0", "tokens");
  }
  RETURN_IF_ERROR(limits.Validate());
  Amount want{request.tokens, request.requests};
  std::optional<std::future<Status>> committed;
  {
    std::lock_guard lock(mu_);
    // One lookup in a map that holds every outstanding reservation: the slot is taken first,
    // filled below, and given back if the request is refused.
    auto [slot, inserted] = reservations_.try_emplace(request.request_id);
    if (!inserted) {
      return AlreadyExists(fmt::format("request '{}' already holds a reservation",
                                       request.request_id));
    }
    // Given back unless filled below (a refusal, or an exception such as bad_alloc).
    struct Unfilled {
      StringMap<Reservation>& map;
      StringMap<Reservation>::iterator slot;
      bool filled = false;
      ~Unfilled() {
        if (!filled) map.erase(slot);
      }
    } unfilled{reservations_, slot};
    UserWindows& u = users_[request.user_id];
    Advance(u, now);
    if (std::optional<Exceeded> e = Check(u, want, limits, now)) {
      return ReserveOutcome{.granted = false, .exceeded = e};
    }
    u.day.reserved += want;
    u.month.reserved += want;
    int64_t sec = u.minute.Reserve(UnixSeconds(now), want);
    u.concurrent += 1;
    Reservation r{request.user_id, want, u.day.period, u.month.period, sec,
                  store::ToMillis(now)};
    committed = Persist(JournalRow{JournalRow::Kind::kReserve, request.request_id, r.user_id,
                                   r.amount, r.day, r.month, r.created_ms});
    slot->second = std::move(r);
    unfilled.filled = true;
  }
  if (committed) {
    Status st = committed->get();
    if (!st.ok()) {
      // Not durable, so not granted: give the room back.
      (void)Settle(request.request_id, 0, now, 0);
      return st.Annotate("recording the reservation");
    }
  }
  return ReserveOutcome{.granted = true};
}

Result<bool> LocalQuotaLedger::Settle(std::string_view request_id, int64_t actual_tokens,
                                      Time now, std::optional<int64_t> actual_requests) {
  if (actual_tokens < 0 || (actual_requests && *actual_requests < 0)) {
    return InvalidArgument("actual amounts must be >= 0", "actual_tokens");
  }
  std::optional<std::future<Status>> committed;
  {
    std::lock_guard lock(mu_);
    auto it = reservations_.find(request_id);
    if (it == reservations_.end()) return false;
    Reservation r = std::move(it->second);
    reservations_.erase(it);
    Amount actual{actual_tokens, actual_requests.value_or(r.amount.requests)};
    UserWindows& u = users_[r.user_id];
    Advance(u, now);
    // A reservation made before a day or month boundary is charged to its own period.
    if (u.day.period == r.day) {
      u.day.reserved -= r.amount;
      u.day.settled += actual;
    }
    if (u.month.period == r.month) {
      u.month.reserved -= r.amount;
      u.month.settled += actual;
    }
    u.minute.Settle(r.minute_second, r.amount, actual);
    u.concurrent -= 1;
    committed = Persist(JournalRow{JournalRow::Kind::kSettle, std::string(request_id), r.user_id,
                                   actual, r.day, r.month, 0});
  }
  if (committed) RETURN_IF_ERROR(committed->get().Annotate("recording the settlement"));
  return true;
}

Result<std::vector<WindowUsage>> LocalQuotaLedger::Usage(std::string_view user_id,
                                                        const Limits& limits, Time now) {
  RETURN_IF_ERROR(limits.Validate());
  std::vector<WindowUsage> out;
  out.reserve(std::size(kAllWindows));
  auto report = [&](const UserWindows& u) {
    for (Window w : kAllWindows) {
      bool tokens = CountsTokens(w);
      WindowUsage wu{.window = w, .limit = limits.Get(w)};
      switch (w) {
        case Window::kConcurrentRequests:
          wu.reserved = u.concurrent;
          break;
        case Window::kMinuteRequests:
        case Window::kMinuteTokens:
          wu.used = u.minute.settled().Of(tokens);
          wu.reserved = u.minute.reserved().Of(tokens);
          if (!u.minute.empty()) wu.resets_at = Time(std::chrono::seconds(u.minute.OldestExpiry()));
          break;
        case Window::kDailyRequests:
        case Window::kDailyTokens:
          wu.used = u.day.settled.Of(tokens);
          wu.reserved = u.day.reserved.Of(tokens);
          wu.resets_at = DayStart(u.day.period + 1);
          break;
        case Window::kMonthlyRequests:
        case Window::kMonthlyTokens:
          wu.used = u.month.settled.Of(tokens);
          wu.reserved = u.month.reserved.Of(tokens);
          wu.resets_at = MonthStart(u.month.period + 1);
          break;
      }
      if (wu.limit) wu.remaining = std::max<int64_t>(0, *wu.limit - wu.used - wu.reserved);
      out.push_back(wu);
    }
  };
  {
    // Read in place, under the lock: a copy of the user's windows copied the minute window's
    // deque, an allocation or two on every admission.
    std::lock_guard lock(mu_);
    auto it = users_.find(user_id);
    if (it != users_.end()) {
      Advance(it->second, now);
      report(it->second);
      return out;
    }
  }
  UserWindows fresh;
  Advance(fresh, now);
  report(fresh);
  return out;
}

Result<std::vector<ReservationInfo>> LocalQuotaLedger::ListReservations() {
  std::lock_guard lock(mu_);
  std::vector<ReservationInfo> out;
  out.reserve(reservations_.size());
  for (const auto& [id, r] : reservations_) {
    out.push_back(ReservationInfo{id, r.user_id, r.amount.tokens, r.amount.requests,
                                  store::FromMillis(r.created_ms)});
  }
  std::sort(out.begin(), out.end(),
            [](const ReservationInfo& a, const ReservationInfo& b) {
              return a.request_id < b.request_id;
            });
  return out;
}

}  // namespace inferline::quota
