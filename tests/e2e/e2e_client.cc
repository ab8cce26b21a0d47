#include "e2e_client.h"

#include <fmt/format.h>

#include <thread>

#include "http/testing/raw_client.h"

namespace inferline::e2e {
namespace json = boost::json;

std::string Response::Header(std::string_view name) const {
  for (const auto& [k, v] : headers) {
    if (k.size() == name.size() &&
        std::equal(k.begin(), k.end(), name.begin(),
                   [](char a, char b) { return std::tolower(a) == std::tolower(b); })) {
      return v;
    }
  }
  return "";
}

json::object Response::Json() const {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  return ec || !v.is_object() ? json::object{} : v.as_object();
}

std::string Response::ErrorField(std::string_view field) const {
  json::object o = Json();
  auto it = o.find("error");
  if (it == o.end() || !it->value().is_object()) return "";
  const json::object& e = it->value().as_object();
  auto f = e.find(field);
  if (f == e.end() || !f->value().is_string()) return "";
  return std::string(f->value().as_string());
}

std::optional<Response> CallRaw(uint16_t port, std::string_view bytes,
                                std::chrono::milliseconds timeout) {
  http::testing::RawClient client(port, timeout);
  if (!client.connected() || !client.Send(bytes)) return std::nullopt;
  auto raw = client.ReadResponse();
  if (!raw) return std::nullopt;
  Response r;
  r.status = raw->result_int();
  r.body = raw->body();
  for (const auto& f : *raw) {
    std::string name(f.name_string());
    for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    r.headers.emplace_back(std::move(name), std::string(f.value()));
  }
  return r;
}

std::optional<Response> Call(uint16_t port, std::string_view method, std::string_view target,
                             std::string_view body, std::string_view key,
                             std::string_view extra_headers, std::chrono::milliseconds timeout) {
  std::string auth = key.empty() ? "" : fmt::format("Authorization: Bearer {}\r\n", key);
  std::string request = fmt::format(
      "{} {} HTTP/1.1\r\nHost: 127.0.0.1\r\n{}{}Content-Type: application/json\r\n"
      "Content-Length: {}\r\nConnection: close\r\n\r\n{}",
      method, target, auth, extra_headers, body.size(), body);
  return CallRaw(port, request, timeout);
}

std::vector<SseEvent> ParseSse(std::string_view body) {
  std::vector<SseEvent> out;
  SseEvent cur;
  bool any = false;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find('\n', pos);
    if (end == std::string_view::npos) end = body.size();
    std::string_view line = body.substr(pos, end - pos);
    pos = end + 1;
    if (line.empty()) {
      if (any) out.push_back(cur);
      cur = SseEvent{};
      any = false;
      continue;
    }
    if (line.front() == ':') continue;
    size_t colon = line.find(':');
    std::string_view field = line.substr(0, colon);
    std::string_view value = colon == std::string_view::npos ? "" : line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    if (field == "id") cur.id = value, any = true;
    if (field == "event") cur.event = value, any = true;
    if (field == "data") {
      if (!cur.data.empty()) cur.data += '\n';
      cur.data += value;
      any = true;
    }
  }
  if (any) out.push_back(cur);
  return out;
}

std::string CreateKey(uint16_t port, const std::string& admin_key, const std::string& user,
                      const std::string& plan) {
  auto r = Call(port, "POST", "/v1/admin/keys",
                fmt::format(R"({{"user":"{}","plan":"{}"}})", user, plan), admin_key);
  if (!r || r->status != 201) return "";
  json::object o = r->Json();
  return o.contains("key") ? std::string(o["key"].as_string()) : "";
}

bool SetLimits(uint16_t port, const std::string& admin_key, const std::string& user,
               const std::string& limits_json) {
  auto r = Call(port, "PATCH", "/v1/admin/users/" + user,
                fmt::format(R"({{"limits":{}}})", limits_json), admin_key);
  return r && r->status == 200;
}

bool IsTerminalStatus(std::string_view s) {
  return s == "completed" || s == "failed" || s == "cancelled" || s == "expired";
}

json::object WaitTerminal(uint16_t port, const std::string& key, const std::string& id,
                          std::chrono::seconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = Call(port, "GET", "/v1/requests/" + id, {}, key);
    if (r && r->status == 200) {
      json::object o = r->Json();
      if (o.contains("status") && IsTerminalStatus(o["status"].as_string())) return o;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return {};
}

}  // namespace inferline::e2e
