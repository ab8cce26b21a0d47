#include "checks.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <mutex>
#include <thread>

#include "e2e_client.h"

namespace inferline::distributed {
namespace json = boost::json;

Submitted Submit(uint16_t port, int count, int threads,
                 const std::function<std::string(int)>& body,
                 const std::function<std::string(int)>& key, const std::atomic<bool>* stop,
                 std::chrono::milliseconds pause) {
  Submitted out;
  std::mutex mu;
  std::atomic<int> next{0};
  auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i = next++; i < count && (stop == nullptr || !*stop); i = next++) {
        auto r = e2e::Call(port, "POST", "/v1/requests", body(i), key(i));
        {
          std::lock_guard lock(mu);
          if (r && r->status == 202 && r->Json()["request_id"].is_string()) {
            out.accepted.emplace_back(r->Json()["request_id"].as_string());
          } else {
            out.refused.push_back(r ? fmt::format("{} {}", r->status, r->body) : "no answer");
          }
        }
        if (pause.count() > 0) std::this_thread::sleep_for(pause);
      }
    });
  }
  for (auto& t : pool) t.join();
  out.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  return out;
}

std::string SqlList(const std::vector<std::string>& ids) {
  std::string out = "(";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) out += ',';
    out += '\'';
    for (char ch : ids[i]) out += ch == '\'' ? std::string("''") : std::string(1, ch);
    out += '\'';
  }
  if (ids.empty()) out += "NULL";
  return out + ")";
}

std::vector<std::string> WaitTerminal(Cluster& c, const std::vector<std::string>& ids,
                                      std::chrono::seconds timeout) {
  const std::string sql = fmt::format(
      "SELECT id FROM requests WHERE id IN {} AND status IN ('queued','running') ORDER BY id",
      SqlList(ids));
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<std::string> open = ids;
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = c.Sql(sql);
    if (r.ok()) {
      open.clear();
      for (int i = 0; i < r->rows(); ++i) open.push_back(r->String(i, 0));
      if (open.empty()) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  // Ids without a record at all count as open: they were accepted, so they must exist.
  auto rows = c.Sql(fmt::format("SELECT count(*) FROM requests WHERE id IN {}", SqlList(ids)));
  if (rows.ok() && rows->Int(0, 0) != static_cast<int64_t>(ids.size())) open.push_back("missing");
  return open;
}

std::map<std::string, int64_t> StatusCounts(Cluster& c, const std::vector<std::string>& ids) {
  std::map<std::string, int64_t> out;
  auto r = c.Sql(fmt::format("SELECT status, count(*) FROM requests WHERE id IN {} GROUP BY 1",
                             SqlList(ids)));
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  if (!r.ok()) return out;
  int64_t seen = 0;
  for (int i = 0; i < r->rows(); ++i) {
    out[r->String(i, 0)] = r->Int(i, 1);
    seen += r->Int(i, 1);
  }
  if (seen != static_cast<int64_t>(ids.size())) out["missing"] = ids.size() - seen;
  return out;
}

namespace {

void ReadWindows(uint16_t port, const std::string& key, Accounting& a) {
  auto r = e2e::Call(port, "GET", "/v1/quota", {}, key);
  if (!r || r->status != 200) return;
  json::object body = r->Json();
  if (!body["windows"].is_array()) return;
  for (const auto& v : body["windows"].as_array()) {
    const json::object& o = v.as_object();
    const auto& name = o.at("window").as_string();
    int64_t used = o.at("used").as_int64();
    int64_t reserved = o.at("reserved").as_int64();
    if (name == "tokens_per_day") {
      a.api_day_tokens_used = used;
      a.api_day_tokens_reserved = reserved;
    } else if (name == "requests_per_day") {
      a.api_day_requests_used = used;
    } else if (name == "tokens_per_month") {
      a.api_month_tokens_used = used;
    }
  }
}

int64_t Int(Cluster& c, const std::string& key) {
  auto v = c.RedisInt(key);
  EXPECT_TRUE(v.ok()) << key << ": " << v.status().ToString();
  return v.ok() ? *v : -1;
}

}  // namespace

Accounting ReadAccounting(Cluster& c, uint16_t port, const std::string& user,
                          const std::string& key) {
  Accounting a;
  auto ledger = c.Sql(fmt::format(
      "SELECT count(*), coalesce(sum(prompt_tokens + completion_tokens), 0) FROM usage_ledger "
      "WHERE user_id = '{}'",
      user));
  EXPECT_TRUE(ledger.ok()) << ledger.status().ToString();
  if (ledger.ok()) {
    a.ledger_rows = ledger->Int(0, 0);
    a.ledger_tokens = ledger->Int(0, 1);
  }
  auto records = c.Sql(fmt::format(
      "SELECT coalesce(sum(usage_total_tokens), 0) FROM requests WHERE user_id = '{}'", user));
  if (records.ok()) a.records_tokens = records->Int(0, 0);
  const std::string p = "user:" + user + ":quota:";
  a.redis_day_tokens_used = Int(c, p + "daily:tokens:used");
  a.redis_day_tokens_reserved = Int(c, p + "daily:tokens:reserved");
  a.redis_day_requests_used = Int(c, p + "daily:requests:used");
  a.redis_day_requests_reserved = Int(c, p + "daily:requests:reserved");
  a.redis_month_tokens_used = Int(c, p + "monthly:tokens:used");
  a.redis_month_requests_used = Int(c, p + "monthly:requests:used");
  a.redis_concurrent = Int(c, p + "concurrent");
  ReadWindows(port, key, a);
  return a;
}

void ExpectAccountingAgrees(Cluster& c, uint16_t port, const std::string& user,
                            const std::string& key, const std::string& what) {
  SCOPED_TRACE(what + " (user " + user + ")");
  Accounting a = ReadAccounting(c, port, user, key);
  EXPECT_GT(a.ledger_tokens, 0);
  EXPECT_EQ(a.records_tokens, a.ledger_tokens);
  EXPECT_EQ(a.redis_day_tokens_used, a.ledger_tokens);
  EXPECT_EQ(a.redis_month_tokens_used, a.ledger_tokens);
  EXPECT_EQ(a.redis_day_requests_used, a.ledger_rows);
  EXPECT_EQ(a.redis_month_requests_used, a.ledger_rows);
  EXPECT_EQ(a.redis_day_tokens_reserved, 0);
  EXPECT_EQ(a.redis_day_requests_reserved, 0);
  EXPECT_EQ(a.redis_concurrent, 0);
  EXPECT_EQ(a.api_day_tokens_used, a.ledger_tokens);
  EXPECT_EQ(a.api_day_tokens_reserved, 0);
  EXPECT_EQ(a.api_day_requests_used, a.ledger_rows);
  EXPECT_EQ(a.api_month_tokens_used, a.ledger_tokens);
}

void ExpectOneLedgerRowPerCompleted(Cluster& c, const std::vector<std::string>& ids) {
  // Per id: its status, and how many ledger rows it has (PRIMARY KEY makes that 0 or 1; the
  // check is that completed <=> one row with the record's usage).
  auto r = c.Sql(fmt::format(
      "SELECT r.id, r.status, coalesce(r.usage_total_tokens, 0), count(u.request_id), "
      "coalesce(sum(u.prompt_tokens + u.completion_tokens), 0) "
      "FROM requests r LEFT JOIN usage_ledger u ON u.request_id = r.id "
      "WHERE r.id IN {} GROUP BY r.id, r.status, r.usage_total_tokens",
      SqlList(ids)));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->rows(), static_cast<int>(ids.size())) << "a request has no record";
  int bad = 0;
  for (int i = 0; i < r->rows() && bad < 10; ++i) {
    const std::string status = r->String(i, 1);
    const int64_t record_tokens = r->Int(i, 2), rows = r->Int(i, 3), row_tokens = r->Int(i, 4);
    const bool ok = status == "completed" ? rows == 1 && row_tokens == record_tokens
                                          : rows == (record_tokens > 0 ? 1 : 0);
    if (!ok) {
      ++bad;
      ADD_FAILURE() << r->String(i, 0) << ": status " << status << ", " << rows
                    << " ledger rows with " << row_tokens << " tokens, record " << record_tokens;
    }
  }
}

std::string CreateUserKey(Cluster& c, const std::string& user) {
  const uint16_t port = c.gateway_port();
  std::string key = e2e::CreateKey(port, c.admin_key(), user, "unlimited");
  if (key.empty()) return "";
  if (!e2e::SetLimits(port, c.admin_key(), user,
                      R"({"tokens_per_day":100000000,"requests_per_day":1000000,)"
                      R"("tokens_per_month":1000000000})")) {
    return "";
  }
  return key;
}

}  // namespace inferline::distributed
