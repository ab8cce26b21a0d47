#include "quota/redis/redis_quota_ledger.h"

#include <fmt/format.h>

#include <algorithm>

#include "quota/redis/quota_keys.h"
#include "quota/redis/quota_scripts.h"

namespace inferline::quota {
namespace {

namespace keys = redis_keys;
using redis::Reply;

constexpr size_t kMaxIdBytes = 512;

const redis::RedisScript& ReserveScript() {
  static const redis::RedisScript script{std::string(redis_scripts::kReserve)};
  return script;
}

const redis::RedisScript& SettleScript() {
  static const redis::RedisScript script{std::string(redis_scripts::kSettle)};
  return script;
}

Status CheckId(std::string_view id, std::string_view what) {
  if (id.empty()) return InvalidArgument(fmt::format("{} must not be empty", what), std::string(what));
  if (id.size() > kMaxIdBytes) {
    return InvalidArgument(fmt::format("{} is longer than {} bytes", what, kMaxIdBytes),
                           std::string(what));
  }
  return Status::Ok();
}

Status Annotated(const Status& st, std::string_view doing) {
  return Status(st.code(), fmt::format("quota ledger: {}: {}", doing, st.message()), st.param());
}

int64_t IntOr0(const Reply& r) {
  Result<int64_t> v = r.AsInteger();
  return v.ok() ? *v : 0;
}

}  // namespace

RedisQuotaLedger::RedisQuotaLedger(std::shared_ptr<redis::RedisClient> client)
    : client_(std::move(client)) {}

namespace {

// The reserve script's keys and arguments; InvalidArgument for bad input.
Result<std::pair<std::vector<std::string>, std::vector<std::string>>> ReserveCall(
    const ReserveRequest& request, const Limits& limits, Time now) {
  RETURN_IF_ERROR(CheckId(request.user_id, "user_id"));
  RETURN_IF_ERROR(CheckId(request.request_id, "request_id"));
  if (request.tokens < 0 || request.requests < 0) {
    return InvalidArgument("reserved amounts must be >= 0", "tokens");
  }
  RETURN_IF_ERROR(limits.Validate());
  keys::Periods p = keys::PeriodsAt(now);
  std::vector<std::string> args{request.user_id,
                                request.request_id,
                                std::to_string(request.tokens),
                                std::to_string(request.requests),
                                std::to_string(p.now_ms),
                                std::to_string(p.day),
                                std::to_string(p.month),
                                std::to_string(p.day_end_ms),
                                std::to_string(p.month_end_ms)};
  for (Window w : kAllWindows) args.push_back(std::to_string(limits.Get(w).value_or(-1)));
  std::vector<std::string> script_keys{keys::ReservationKey(request.request_id),
                                       std::string(keys::kReservationIndex)};
  return std::make_pair(std::move(script_keys), std::move(args));
}

Result<ReserveOutcome> ParseReserveReply(const Reply& r, const ReserveRequest& request) {
  const std::vector<Reply>& v = r.elements;
  if (v.empty()) return Internal("quota ledger: the reserve script answered " + r.Describe());
  int64_t code = IntOr0(v[0]);
  if (code == 1) return ReserveOutcome{.granted = true};
  if (code == -1) {
    return AlreadyExists(fmt::format("request '{}' already holds a reservation",
                                     request.request_id));
  }
  int64_t window = v.size() >= 7 ? IntOr0(v[1]) : -1;
  if (window < 0 || window >= static_cast<int64_t>(kAllWindows.size())) {
    return Internal("quota ledger: the reserve script answered " + r.Describe());
  }
  Exceeded e{.window = kAllWindows[static_cast<size_t>(window)],
             .limit = IntOr0(v[2]),
             .current = IntOr0(v[3]),
             .requested = IntOr0(v[4]),
             .retry_after = std::chrono::seconds(IntOr0(v[5])),
             .never_fits = IntOr0(v[6]) != 0};
  return ReserveOutcome{.granted = false, .exceeded = e};
}

// Every window's numbers, however they were read.
struct UsageNumbers {
  int64_t daily[4] = {};    // tokens used, tokens reserved, requests used, requests reserved
  int64_t monthly[4] = {};  // the same
  int64_t minute[4] = {};   // the same, inside the sliding window
  int64_t concurrent = 0;
  std::optional<int64_t> oldest_second;  // of the minute's live entries
};

std::vector<WindowUsage> UsageOf(const UsageNumbers& n, const Limits& limits, Time now) {
  keys::Periods periods = keys::PeriodsAt(now);
  std::vector<WindowUsage> out;
  for (Window w : kAllWindows) {
    const size_t at = CountsTokens(w) ? 0 : 2;
    WindowUsage wu{.window = w, .limit = limits.Get(w)};
    switch (w) {
      case Window::kConcurrentRequests:
        wu.reserved = n.concurrent;
        break;
      case Window::kMinuteRequests:
      case Window::kMinuteTokens:
        wu.used = n.minute[at];
        wu.reserved = n.minute[at + 1];
        if (n.oldest_second) {
          wu.resets_at = Time(std::chrono::seconds(*n.oldest_second + keys::kMinuteSeconds));
        }
        break;
      case Window::kDailyRequests:
      case Window::kDailyTokens:
      case Window::kMonthlyRequests:
      case Window::kMonthlyTokens: {
        const bool daily = w == Window::kDailyRequests || w == Window::kDailyTokens;
        const int64_t* c = daily ? n.daily : n.monthly;
        wu.used = c[at];
        wu.reserved = c[at + 1];
        wu.resets_at = daily ? DayStart(periods.day + 1) : MonthStart(periods.month + 1);
        break;
      }
    }
    if (wu.limit) wu.remaining = std::max<int64_t>(0, *wu.limit - wu.used - wu.reserved);
    out.push_back(wu);
  }
  return out;
}

// The usage the reserve script returns with its answer (the last element, 14 numbers: daily,
// monthly and minute {tokens used, tokens reserved, requests used, requests reserved},
// concurrency, the minute's oldest second or -1).
Result<std::vector<WindowUsage>> ScriptUsage(const Reply& r, const Limits& limits, Time now) {
  if (r.elements.size() != 2 && r.elements.size() != 8) {
    return Internal("quota ledger: no usage in " + r.Describe());
  }
  const std::vector<Reply>& u = r.elements.back().elements;
  if (u.size() != 14) return Internal("quota ledger: no usage in " + r.Describe());
  UsageNumbers n;
  for (size_t i = 0; i < 4; ++i) {
    n.daily[i] = IntOr0(u[i]);
    n.monthly[i] = IntOr0(u[4 + i]);
    n.minute[i] = IntOr0(u[8 + i]);
  }
  n.concurrent = IntOr0(u[12]);
  if (int64_t oldest = IntOr0(u[13]); oldest >= 0) n.oldest_second = oldest;
  return UsageOf(n, limits, now);
}

// The reads behind Usage: every calendar counter and the concurrency count, then the minute.
std::vector<std::vector<std::string>> UsageCommands(std::string_view user_id) {
  const std::string p = keys::UserPrefix(user_id);
  std::vector<std::string> mget{"MGET"};
  for (const char* kind : {"daily", "monthly"}) {
    for (const char* field : {":period", ":tokens:used", ":tokens:reserved", ":requests:used",
                              ":requests:reserved"}) {
      mget.push_back(fmt::format("{}{}{}", p, kind, field));
    }
  }
  mget.push_back(p + "concurrent");
  return {mget, {"HGETALL", p + "minute"}};
}

Result<std::vector<WindowUsage>> ParseUsage(const Reply& values, const Reply& minute,
                                            const Limits& limits, Time now) {
  if (values.elements.size() != 11 || minute.type != Reply::Type::kArray) {
    return Internal("quota ledger: unexpected usage replies: " + values.Describe() + ", " +
                    minute.Describe());
  }
  keys::Periods periods = keys::PeriodsAt(now);
  UsageNumbers n;
  // A calendar kind's counters count only if stored for the current (or a later) period.
  auto calendar = [&](size_t base, int64_t period, int64_t* out) {
    Result<int64_t> stored = values.elements[base].AsInteger();
    if (!stored.ok() || *stored < period) return;
    for (size_t i = 0; i < 4; ++i) out[i] = IntOr0(values.elements[base + 1 + i]);
  };
  calendar(0, periods.day, n.daily);
  calendar(5, periods.month, n.monthly);
  n.concurrent = IntOr0(values.elements[10]);
  std::vector<std::pair<std::string, std::string>> fields;
  for (size_t i = 0; i + 1 < minute.elements.size(); i += 2) {
    fields.emplace_back(minute.elements[i].str, minute.elements[i + 1].str);
  }
  keys::MinuteTotals m = keys::SumMinute(fields, keys::UnixSecondOf(periods.now_ms));
  n.minute[0] = m.tokens_used;
  n.minute[1] = m.tokens_reserved;
  n.minute[2] = m.requests_used;
  n.minute[3] = m.requests_reserved;
  n.oldest_second = m.oldest_second;
  return UsageOf(n, limits, now);
}

}  // namespace

Result<ReserveOutcome> RedisQuotaLedger::Reserve(const ReserveRequest& request,
                                                 const Limits& limits, Time now) {
  ASSIGN_OR_RETURN(auto call, ReserveCall(request, limits, now));
  Result<Reply> r = client_->Eval(ReserveScript(), call.first, call.second);
  if (!r.ok()) return Annotated(r.status(), "reserving");
  return ParseReserveReply(*r, request);
}

namespace {

// The reserve script's reply as a report (the script returns the usage with its answer).
Result<QuotaLedger::ReserveReport> ReportOf(Result<Reply> reply, const ReserveRequest& request,
                                            const Limits& limits, Time now) {
  if (!reply.ok()) return Annotated(reply.status(), "reserving");
  ASSIGN_OR_RETURN(ReserveOutcome outcome, ParseReserveReply(*reply, request));
  QuotaLedger::ReserveReport report{.outcome = std::move(outcome), .usage = std::nullopt};
  Result<std::vector<WindowUsage>> usage = ScriptUsage(*reply, limits, now);
  if (usage.ok()) report.usage = std::move(*usage);
  return report;
}

}  // namespace

Result<QuotaLedger::ReserveReport> RedisQuotaLedger::ReserveReportingUsage(
    const ReserveRequest& request, const Limits& limits, Time now) {
  ASSIGN_OR_RETURN(auto call, ReserveCall(request, limits, now));
  return ReportOf(client_->Eval(ReserveScript(), call.first, call.second), request, limits, now);
}

void RedisQuotaLedger::ReserveReportingUsageAsync(const ReserveRequest& request,
                                                  const Limits& limits, Time now,
                                                  ReserveDone done) {
  Result<std::pair<std::vector<std::string>, std::vector<std::string>>> call =
      ReserveCall(request, limits, now);
  if (!call.ok()) {
    done(call.status());
    return;
  }
  client_->EvalThenAsync(
      ReserveScript(), std::move(call->first), std::move(call->second), {},
      [request, limits, now, done = std::move(done)](Result<std::vector<Reply>> replies) {
        done(ReportOf(replies.ok() ? Result<Reply>(std::move(replies->at(0)))
                                   : Result<Reply>(replies.status()),
                      request, limits, now));
      });
}

Result<bool> RedisQuotaLedger::Settle(std::string_view request_id, int64_t actual_tokens,
                                      Time now, std::optional<int64_t> actual_requests) {
  if (actual_tokens < 0 || (actual_requests && *actual_requests < 0)) {
    return InvalidArgument("actual amounts must be >= 0", "actual_tokens");
  }
  if (request_id.empty() || request_id.size() > kMaxIdBytes) return false;  // never reserved
  Result<Reply> r = client_->Eval(
      SettleScript(), {keys::ReservationKey(request_id), std::string(keys::kReservationIndex)},
      {std::string(request_id), std::to_string(actual_tokens),
       std::to_string(actual_requests.value_or(-1)), std::to_string(keys::UnixMillis(now))});
  if (!r.ok()) return Annotated(r.status(), "settling");
  ASSIGN_OR_RETURN(int64_t settled, r->AsInteger());
  return settled == 1;
}

Result<std::vector<WindowUsage>> RedisQuotaLedger::Usage(std::string_view user_id,
                                                        const Limits& limits, Time now) {
  RETURN_IF_ERROR(CheckId(user_id, "user_id"));
  RETURN_IF_ERROR(limits.Validate());
  Result<std::vector<Reply>> replies = client_->Pipeline(UsageCommands(user_id));
  if (!replies.ok()) return Annotated(replies.status(), "reading usage");
  return ParseUsage((*replies)[0], (*replies)[1], limits, now);
}

Result<std::vector<ReservationInfo>> RedisQuotaLedger::ListReservations() {
  std::vector<ReservationInfo> out;
  std::string cursor = "0";
  do {
    Result<Reply> page = client_->Command(
        {"SSCAN", std::string(keys::kReservationIndex), cursor, "COUNT", "1000"});
    if (!page.ok()) return Annotated(page.status(), "listing reservations");
    if (page->elements.size() != 2) {
      return Internal("quota ledger: SSCAN answered " + page->Describe());
    }
    cursor = page->elements[0].str;
    const std::vector<Reply>& ids = page->elements[1].elements;
    std::vector<std::vector<std::string>> reads;
    for (const Reply& id : ids) {
      reads.push_back({"HMGET", keys::ReservationKey(id.str), "user", "tokens", "requests",
                       "created_ms"});
    }
    if (reads.empty()) continue;
    Result<std::vector<Reply>> rows = client_->Pipeline(reads);
    if (!rows.ok()) return Annotated(rows.status(), "listing reservations");
    for (size_t i = 0; i < ids.size(); ++i) {
      const std::vector<Reply>& f = (*rows)[i].elements;
      if (f.size() != 4 || f[0].is_nil()) continue;  // settled meanwhile
      out.push_back(ReservationInfo{ids[i].str, f[0].str, IntOr0(f[1]), IntOr0(f[2]),
                                    Time(std::chrono::milliseconds(IntOr0(f[3])))});
    }
  } while (cursor != "0");
  std::sort(out.begin(), out.end(), [](const ReservationInfo& a, const ReservationInfo& b) {
    return a.request_id < b.request_id;
  });
  // SSCAN may return an id twice when the set is rehashed between pages.
  out.erase(std::unique(out.begin(), out.end(),
                        [](const ReservationInfo& a, const ReservationInfo& b) {
                          return a.request_id == b.request_id;
                        }),
            out.end());
  return out;
}

}  // namespace inferline::quota
