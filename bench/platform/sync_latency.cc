// What a synchronous request costs on top of the engine: the same greedy completion run
// (a) directly on an engine::Engine in this process and (b) as POST /v1/completions against a
// running `inferline serve` (auth, admission with exact token counting, quota reservation, the
// SQLite record and queue, worker, collector, events, HTTP), one request at a time, alternating
// between the two so that both see the same machine, and the medians compared. Both engines use the same threads and slots.
//
//   bench_platform_latency --port P --key sk-il-... [--model models/kjv-small] [--runs 200]
//                          [--max-tokens 8] [--threads 1] [--slots 4]
#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "engine/model/model.h"
#include "engine/tokenizer/tokenizer.h"
#include "http/testing/raw_client.h"

namespace {

using namespace inferline;
using Clock = std::chrono::steady_clock;

struct Args {
  int port = 0;
  std::string key;
  std::string model = "models/kjv-small";
  int runs = 200;
  int warmup = 20;
  int max_tokens = 8;
  int threads = 1;
  int slots = 4;
  std::string prompt = "In the beginning God created the heaven and the earth.";
};

double Percentile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[i];
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "bench_platform_latency: %s\n", what.c_str());
  std::exit(1);
}

struct Samples {
  std::vector<double> direct, server;
  int direct_tokens = 0, server_tokens = 0;
};

// Runs the same request alternately on an in-process Engine and through the server, so that
// both see the same machine (load, frequency) over the run.
Samples Measure(const Args& a) {
  auto model = engine::Model::Load(a.model, {.num_threads = a.threads});
  if (!model.ok()) Die(model.status().ToString());
  auto tok = engine::Tokenizer::Load(a.model);
  if (!tok.ok()) Die(tok.status().ToString());
  std::shared_ptr<const engine::Model> m = std::move(*model);
  std::shared_ptr<const engine::Tokenizer> t = std::move(*tok);
  engine::EngineOptions eo;
  eo.max_slots = a.slots;
  auto eng = engine::Engine::Create(m, t, eo);
  if (!eng.ok()) Die(eng.status().ToString());
  const std::vector<int32_t> ids = t->Encode(a.prompt, true);

  http::testing::RawClient client(static_cast<uint16_t>(a.port), std::chrono::seconds(60));
  if (!client.connected()) Die("cannot connect to the server");
  std::string body = boost::json::serialize(boost::json::object{{"model", "kjv-small"},
                                                                {"prompt", a.prompt},
                                                                {"max_tokens", a.max_tokens},
                                                                {"temperature", 0}});
  std::string request = fmt::format(
      "POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {}\r\n"
      "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
      a.key, body.size(), body);

  Samples out;
  for (int i = 0; i < a.warmup + a.runs; ++i) {
    // In process: Submit -> on_done.
    engine::EngineRequest req;
    req.prompt_ids = ids;
    req.max_tokens = a.max_tokens;
    req.sampling.temperature = 0;
    std::promise<engine::EngineResult> done;
    engine::EngineCallbacks cb;
    cb.on_done = [&done](engine::EngineResult r) { done.set_value(std::move(r)); };
    auto start = Clock::now();
    auto id = (*eng)->Submit(std::move(req), std::move(cb));
    if (!id.ok()) Die(id.status().ToString());
    engine::EngineResult r = done.get_future().get();
    double direct = std::chrono::duration<double>(Clock::now() - start).count();
    out.direct_tokens = static_cast<int>(r.output_ids.size());

    // Through the server: request sent -> whole response read (keep-alive connection).
    start = Clock::now();
    if (!client.Send(request)) Die("send failed");
    auto res = client.ReadResponse();
    double server = std::chrono::duration<double>(Clock::now() - start).count();
    if (!res || res->result_int() != 200) {
      Die(res ? fmt::format("HTTP {}: {}", res->result_int(), res->body()) : "no response");
    }
    out.server_tokens = static_cast<int>(boost::json::parse(res->body())
                                             .as_object()["usage"]
                                             .as_object()["completion_tokens"]
                                             .as_int64());
    if (i >= a.warmup) {
      out.direct.push_back(direct);
      out.server.push_back(server);
    }
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string k = argv[i];
    std::string v = argv[i + 1];
    if (k == "--port") a.port = std::stoi(v);
    else if (k == "--key") a.key = v;
    else if (k == "--model") a.model = v;
    else if (k == "--runs") a.runs = std::stoi(v);
    else if (k == "--max-tokens") a.max_tokens = std::stoi(v);
    else if (k == "--threads") a.threads = std::stoi(v);
    else if (k == "--slots") a.slots = std::stoi(v);
    else Die("unknown option " + k);
  }
  if (a.port == 0 || a.key.empty()) Die("--port and --key are required");
  Samples m = Measure(a);
  const auto& direct = m.direct;
  const auto& server = m.server;
  const int direct_tokens = m.direct_tokens;
  if (m.server_tokens != m.direct_tokens) {
    std::fprintf(stderr, "warning: %d tokens through the server, %d direct\n", m.server_tokens,
                 m.direct_tokens);
  }
  double dm = Percentile(direct, 0.5) * 1e3, sm = Percentile(server, 0.5) * 1e3;
  std::printf("runs %d, %d completion tokens, greedy\n", a.runs, direct_tokens);
  std::printf("%-28s %10s %10s\n", "", "median ms", "p90 ms");
  std::printf("%-28s %10.3f %10.3f\n", "engine, in process", dm, Percentile(direct, 0.9) * 1e3);
  std::printf("%-28s %10.3f %10.3f\n", "POST /v1/completions (sync)", sm,
              Percentile(server, 0.9) * 1e3);
  std::printf("added median ms %.3f\n", sm - dm);
  // Each server request ran right after its direct twin: the median of the pairwise
  // differences is less sensitive to the machine drifting during the run.
  std::vector<double> added;
  for (size_t i = 0; i < server.size(); ++i) added.push_back(server[i] - direct[i]);
  std::printf("added, median of pairs ms %.3f\n", Percentile(added, 0.5) * 1e3);
  return 0;
}
