// FakeUpstream: an OpenAI-compatible model server for tests of the upstream back-end, built on
// the project's own HttpServer (127.0.0.1, port 0). It answers POST /v1/completions and
// /v1/chat/completions with scripted replies streamed the way vLLM streams them (one chunk per
// piece, a finishing chunk, a usage chunk, then [DONE]), and lets a test break it: an error
// status with a Retry-After, a stream that ends early or stalls, no answer at all, pieces held
// until the test releases them. It records each request and notices clients that go away.
//
// Thread-safety: the server runs on its own threads; every method may be called from any
// thread (mu_ guards the script and the records).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace inferline::worker::testing {

struct FakeReply {
  int status = 200;
  std::vector<std::string> pieces = {"Hello", ",", " world", "!"};
  std::string finish_reason = "stop";
  bool usage = true;           // send the usage chunk: prompt_tokens, completion = pieces sent
  int64_t prompt_tokens = 7;
  std::string error_message = "upstream trouble";  // the body of a non-200 reply
  std::string retry_after;     // the Retry-After header of a non-200 reply
  int end_after = -1;          // >= 0: end the body after that many pieces, unfinished
  int stall_after = -1;        // >= 0: after that many pieces, stay silent until the client leaves
  bool stall_headers = false;  // answer nothing until the client leaves or the server stops
  bool hold = false;           // wait for Release() before each piece
};

struct SeenRequest {
  std::string path;
  std::string body;
  std::string authorization;
};

class FakeUpstream {
 public:
  FakeUpstream();
  ~FakeUpstream();
  FakeUpstream(const FakeUpstream&) = delete;
  FakeUpstream& operator=(const FakeUpstream&) = delete;

  // "http://127.0.0.1:<port>/v1"
  std::string base_url() const;
  uint16_t port() const;

  // Replies for the next requests, in order; after them every request gets the default.
  void Push(FakeReply reply);
  void SetDefault(FakeReply reply);
  // Lets `n` more held pieces go (shared by every holding stream).
  void Release(int n);

  std::vector<SeenRequest> requests() const;
  int active() const;
  int max_active() const;
  // Streams that ended because the client went away.
  int disconnects() const;

  // Waits (up to `timeout`, generous) until `pred` holds; checked whenever something changes.
  bool WaitUntil(const std::function<bool(const FakeUpstream&)>& pred,
                 std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace inferline::worker::testing
