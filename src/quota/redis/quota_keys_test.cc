#include "quota/redis/quota_keys.h"

#include <gtest/gtest.h>


namespace inferline::quota::redis_keys {
namespace {

Time Utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  using namespace std::chrono;
  return Time(sys_days(year(y) / month(mo) / day(d)).time_since_epoch() + hours(h) +
              minutes(mi) + seconds(s));
}

TEST(RedisQuotaKeys, SeedNames) {
  EXPECT_EQ(UserPrefix("42") + "daily:tokens:used", "user:42:quota:daily:tokens:used");
  EXPECT_EQ(ReservationKey("req-1"), "reservation:req-1");
}

TEST(RedisQuotaKeys, PeriodsEndAtUtcBoundaries) {
  Periods p = PeriodsAt(Utc(2024, 12, 31, 23, 59, 59) + std::chrono::milliseconds(250));
  EXPECT_EQ(p.day, UtcDay(Utc(2024, 12, 31)));
  EXPECT_EQ(p.month, 2024 * 12 + 11);
  EXPECT_EQ(p.day_end_ms - p.now_ms, 750);
  EXPECT_EQ(p.month_end_ms, UnixMillis(Utc(2025, 1, 1)));  // December rolls into the next year
  Periods leap = PeriodsAt(Utc(2024, 2, 29, 12));
  EXPECT_EQ(leap.month_end_ms, UnixMillis(Utc(2024, 3, 1)));
  EXPECT_EQ(leap.day_end_ms - leap.now_ms, 12 * 3600 * 1000);
}

TEST(RedisQuotaKeys, UnixSecondsFloorBeforeTheEpoch) {
  EXPECT_EQ(UnixSecondOf(1999), 1);
  EXPECT_EQ(UnixSecondOf(0), 0);
  EXPECT_EQ(UnixSecondOf(-1), -1);
  EXPECT_EQ(UnixSecondOf(-1000), -1);
  EXPECT_EQ(UnixSecondOf(-1001), -2);
}

TEST(RedisQuotaKeys, SumMinuteKeepsOnlyTheLastSixtySeconds) {
  std::vector<std::pair<std::string, std::string>> fields = {
      {"1000:tokens:used", "5"},      {"1000:tokens:reserved", "7"},  // aged out at 1060
      {"1001:tokens:used", "10"},     {"1001:requests:used", "1"},
      {"1030:tokens:reserved", "20"}, {"1030:requests:reserved", "2"},
      {"junk", "1"},                  {"1040:tokens:used", "x"},      {"1050:what", "3"}};
  MinuteTotals t = SumMinute(fields, 1060);
  EXPECT_EQ(t.tokens_used, 10);
  EXPECT_EQ(t.tokens_reserved, 20);
  EXPECT_EQ(t.requests_used, 1);
  EXPECT_EQ(t.requests_reserved, 2);
  EXPECT_EQ(t.oldest_second, 1001);
  EXPECT_FALSE(SumMinute(fields, 2000).oldest_second.has_value());
  EXPECT_EQ(SumMinute(fields, 1059).tokens_reserved, 27);
}

}  // namespace
}  // namespace inferline::quota::redis_keys
