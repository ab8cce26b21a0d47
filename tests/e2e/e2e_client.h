// A small blocking HTTP client for end-to-end tests (one connection per call, via the HTTP
// layer's RawClient), JSON and server-sent-event helpers, and platform shortcuts (creating a
// user's key through the admin API, waiting for a request to finish).
//
// Thread-safety: every function may be called from several threads at once.
#pragma once

#include <boost/json.hpp>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace inferline::e2e {

struct Response {
  unsigned status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased

  std::string Header(std::string_view name) const;  // "" when absent
  boost::json::object Json() const;                 // {} when the body is not an object
  // error.param / error.code / error.type of an OpenAI-style error ("" when absent).
  std::string ErrorField(std::string_view field) const;
};

// One request; nullopt when the server could not be reached or did not answer in time.
std::optional<Response> Call(uint16_t port, std::string_view method, std::string_view target,
                             std::string_view body = {}, std::string_view key = {},
                             std::string_view extra_headers = {},
                             std::chrono::milliseconds timeout = std::chrono::seconds(120));

// Sends raw bytes (any request at all) and reads one response.
std::optional<Response> CallRaw(uint16_t port, std::string_view bytes,
                                std::chrono::milliseconds timeout = std::chrono::seconds(30));

struct SseEvent {
  std::string id;
  std::string event;
  std::string data;
};
std::vector<SseEvent> ParseSse(std::string_view body);

// POST /v1/admin/keys with the admin key; returns the new key's secret ("" on failure).
std::string CreateKey(uint16_t port, const std::string& admin_key, const std::string& user,
                      const std::string& plan = "unlimited");
// PATCH /v1/admin/users/{user} {"limits": limits_json}; true on 200.
bool SetLimits(uint16_t port, const std::string& admin_key, const std::string& user,
               const std::string& limits_json);

// Polls GET /v1/requests/{id} until the request is terminal; returns its document ({} on
// timeout).
boost::json::object WaitTerminal(uint16_t port, const std::string& key, const std::string& id,
                                 std::chrono::seconds timeout = std::chrono::seconds(180));

bool IsTerminalStatus(std::string_view status);

}  // namespace inferline::e2e
