// The batching Engine on a small random GPT-2 that uses the shipped KJV tokenizer, and on the
// shipped model: batching, joining, chunked prefill, back-pressure and cancellation change no
// token, compared with each request run alone and with the single-sequence Generator.
#include "engine/engine.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <thread>

#include "engine/generator.h"
#include "engine/model/test_model.h"

namespace inferline::engine {
namespace {

namespace fs = std::filesystem;

fs::path SourceDir() {
  const char* root = std::getenv("INFERLINE_SOURCE_DIR");
  return root ? fs::path(root) : fs::path(".");
}

// What the callbacks of one request saw.
struct RunLog {
  std::vector<TokenEvent> events;
  std::vector<int64_t> event_steps;  // engine step counter at each event (when recorded)
  std::optional<EngineResult> result;
  int64_t done_step = -1;  // engine step counter when on_done ran
  std::string Streamed() const {
    std::string s;
    for (const TokenEvent& e : events) s += e.text;
    return s;
  }
};

// Collects the callbacks of many requests, keyed by a tag chosen by the test (ids are known only
// after Submit returns, and callbacks may run before that).
class Recorder {
 public:
  EngineCallbacks For(int tag, const Engine* engine = nullptr,
                      std::function<void(const TokenEvent&)> also = {}) {
    EngineCallbacks cb;
    cb.on_token = [this, tag, engine, also](const TokenEvent& e) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        runs_[tag].events.push_back(e);
        if (engine) runs_[tag].event_steps.push_back(engine->Stats().steps);
      }
      if (also) also(e);
    };
    cb.on_done = [this, tag, engine](EngineResult r) {
      std::lock_guard<std::mutex> lock(mu_);
      runs_[tag].result = std::move(r);
      if (engine) runs_[tag].done_step = engine->Stats().steps;
      ++done_;
      cv_.notify_all();
    };
    return cb;
  }
  // Waits for n results. The deadline only turns a hang into a failure; nothing is timed.
  bool WaitFor(int n) {
    std::unique_lock<std::mutex> lock(mu_);
    return cv_.wait_for(lock, std::chrono::seconds(120), [&] { return done_ >= n; });
  }
  RunLog Get(int tag) {
    std::lock_guard<std::mutex> lock(mu_);
    return runs_[tag];
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<int, RunLog> runs_;
  int done_ = 0;
};

class EngineTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto tok = Tokenizer::Load(SourceDir() / "models" / "kjv-small");
    ASSERT_TRUE(tok.ok()) << tok.status().ToString();
    tokenizer_ = std::shared_ptr<const Tokenizer>(std::move(*tok));
    ModelConfig c = testing::TinyConfig("gpt2");
    c.vocab_size = tokenizer_->vocab_size();
    c.max_positions = 256;
    auto m = testing::RandomModel(c, 2024, 2);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    model_ = std::shared_ptr<const Model>(std::move(*m));
  }
  static void TearDownTestSuite() {
    model_.reset();
    tokenizer_.reset();
  }

  std::unique_ptr<Engine> MakeEngine(EngineOptions o = {}) {
    if (o.max_slots == 0) o.max_slots = 16;
    auto e = Engine::Create(model_, tokenizer_, o);
    EXPECT_TRUE(e.ok()) << e.status().ToString();
    return e.ok() ? std::move(*e) : nullptr;
  }
  // Prompt i: a different verse prefix of a different length.
  static std::vector<int32_t> Prompt(int i) {
    static const char* kVerses[] = {
        "In the beginning God created the heaven and the earth.",
        "And the earth was without form, and void; and darkness was upon the face of the deep.",
        "And God said, Let there be light: and there was light.",
        "And God saw the light, that it was good",
    };
    std::vector<int32_t> ids = tokenizer_->Encode(kVerses[i % 4]);
    ids.resize(std::max<size_t>(1, ids.size() - (i / 4) * 2));
    return ids;
  }
  static EngineRequest Greedy(int i, int max_tokens) {
    EngineRequest r;
    r.prompt_ids = Prompt(i);
    r.sampling.temperature = 0;
    r.max_tokens = max_tokens;
    return r;
  }
  // The single-sequence reference.
  static GenerateResult Reference(const EngineRequest& e) {
    Generator g(model_, tokenizer_);
    GenerateRequest r;
    r.prompt_ids = e.prompt_ids;
    r.sampling = e.sampling;
    r.max_tokens = e.max_tokens;
    r.stop = e.stop;
    r.ignore_eos = e.ignore_eos;
    auto out = g.Generate(r);
    EXPECT_TRUE(out.ok()) << out.status().ToString();
    return out.ok() ? *out : GenerateResult{};
  }
  // One request alone in a fresh engine.
  EngineResult Alone(const EngineRequest& r) {
    Recorder rec;
    auto engine = MakeEngine();
    EXPECT_TRUE(engine->Submit(r, rec.For(0)).ok());
    EXPECT_TRUE(rec.WaitFor(1));
    return *rec.Get(0).result;
  }
  static void ExpectSameAsReference(const RunLog& run, const EngineRequest& req) {
    ASSERT_TRUE(run.result.has_value());
    const GenerateResult ref = Reference(req);
    EXPECT_EQ(run.result->output_ids, ref.output_ids);
    EXPECT_EQ(run.result->text, ref.text);
    EXPECT_EQ(run.result->finish_reason, ref.finish_reason);
    EXPECT_EQ(run.Streamed(), run.result->text);
    ASSERT_EQ(run.events.size(), run.result->output_ids.size());
    for (size_t i = 0; i < run.events.size(); ++i) {
      EXPECT_EQ(run.events[i].index, static_cast<int>(i));
      EXPECT_EQ(run.events[i].token_id, run.result->output_ids[i]);
    }
  }

  static std::shared_ptr<const Model> model_;
  static std::shared_ptr<const Tokenizer> tokenizer_;
};

std::shared_ptr<const Model> EngineTest::model_;
std::shared_ptr<const Tokenizer> EngineTest::tokenizer_;

TEST_F(EngineTest, BatchedEqualsUnbatched) {
  Recorder rec;
  auto engine = MakeEngine();
  std::vector<EngineRequest> reqs;
  for (int i = 0; i < 16; ++i) {
    reqs.push_back(Greedy(i, 10 + i % 5));
    ASSERT_TRUE(engine->Submit(reqs.back(), rec.For(i)).ok());
  }
  ASSERT_TRUE(rec.WaitFor(16));
  for (int i = 0; i < 16; ++i) {
    SCOPED_TRACE(i);
    const RunLog run = rec.Get(i);
    ExpectSameAsReference(run, reqs[i]);
    EXPECT_EQ(run.result->output_ids, Alone(reqs[i]).output_ids);
    EXPECT_EQ(run.result->prompt_tokens, static_cast<int>(reqs[i].prompt_ids.size()));
    EXPECT_EQ(run.result->completion_tokens, static_cast<int>(run.result->output_ids.size()));
    EXPECT_GE(run.result->ttft_seconds, run.result->queue_seconds);
    EXPECT_GE(run.result->total_seconds, run.result->ttft_seconds);
  }
  // They really ran together: far fewer steps than sequences x tokens (one at a time would
  // take more than 16 x 10 steps). The bound leaves room for the first requests starting
  // before the last are submitted, as they do on a loaded machine.
  const EngineStats s = engine->Stats();
  EXPECT_LE(s.steps, 64);
  EXPECT_GT(s.batch_sequences_total, 2 * s.steps);
  EXPECT_EQ(s.completed, 16);
  EXPECT_EQ(engine->ActiveSequences(), 0);
  EXPECT_EQ(engine->FreeSlots(), 16);
}

TEST_F(EngineTest, SequencesJoinMidFlight) {
  Recorder rec;
  auto engine = MakeEngine();
  const EngineRequest first = Greedy(0, 30), second = Greedy(5, 12);
  // The second request is submitted from the first one's 6th token: it joins a running batch.
  std::atomic<int> joined_at{-1};
  auto join = [&](const TokenEvent& e) {
    if (e.index == 5) {
      joined_at = static_cast<int>(engine->Stats().steps);
      EXPECT_TRUE(engine->Submit(second, rec.For(1)).ok());
    }
  };
  ASSERT_TRUE(engine->Submit(first, rec.For(0, nullptr, join)).ok());
  ASSERT_TRUE(rec.WaitFor(2));
  ExpectSameAsReference(rec.Get(0), first);
  ExpectSameAsReference(rec.Get(1), second);
  EXPECT_GT(joined_at.load(), 0);
  // 30 tokens of the first request took one step each; the second one rode along.
  EXPECT_LE(engine->Stats().steps, 31);
}

TEST_F(EngineTest, ChunkedPrefillOfALongPromptWhileOthersDecode) {
  EngineOptions o;
  o.prefill_chunk_tokens = 8;
  o.max_batch_tokens = 12;
  Recorder rec;
  auto engine = MakeEngine(o);
  std::vector<EngineRequest> reqs;
  for (int i = 0; i < 3; ++i) {
    reqs.push_back(Greedy(i, 40));
    reqs.back().ignore_eos = true;
  }
  EngineRequest long_prompt = Greedy(3, 10);
  for (int i = 0; long_prompt.prompt_ids.size() < 150; ++i) {
    for (int32_t id : Prompt(i)) long_prompt.prompt_ids.push_back(id);
  }
  long_prompt.prompt_ids.resize(150);
  // The long prompt joins once the others are decoding.
  auto join = [&](const TokenEvent& e) {
    if (e.index == 2) {
      EXPECT_TRUE(engine->Submit(long_prompt, rec.For(3, engine.get())).ok());
    }
  };
  ASSERT_TRUE(engine->Submit(reqs[0], rec.For(0, engine.get(), join)).ok());
  for (int i = 1; i < 3; ++i) ASSERT_TRUE(engine->Submit(reqs[i], rec.For(i)).ok());
  ASSERT_TRUE(rec.WaitFor(4));
  reqs.push_back(long_prompt);
  for (int i = 0; i < 4; ++i) {
    SCOPED_TRACE(i);
    ExpectSameAsReference(rec.Get(i), reqs[i]);
  }
  // No step went over the budget, so the 150-token prompt (at most 12 - 3 tokens a step) was
  // read over at least 17 steps, and the first request got a token at every one of them.
  EXPECT_LE(engine->Stats().batch_tokens_total, 12 * engine->Stats().steps);
  const RunLog first = rec.Get(0), joiner = rec.Get(3);
  const int64_t joined = first.event_steps[2], first_token = joiner.event_steps[0];
  EXPECT_GE(first_token - joined, 150 / 9);
  for (size_t i = 3; i < first.event_steps.size() && first.event_steps[i] <= first_token; ++i) {
    EXPECT_EQ(first.event_steps[i], first.event_steps[i - 1] + 1) << i;
  }
  EXPECT_GT(first.event_steps.size(), 3u + 150 / 9);
}

TEST_F(EngineTest, BackPressureQueuesAndCompletesEveryRequest) {
  EngineOptions o;
  o.max_slots = 2;
  o.num_threads = 1;  // sampling on the scheduler thread (the others use the model's pool)
  Recorder rec;
  auto engine = MakeEngine(o);
  std::promise<void> gate;
  std::shared_future<void> opened = gate.get_future().share();
  std::atomic<int> max_active{0};
  auto hold_first_step = [&, opened](const TokenEvent& e) {
    if (e.index == 0) opened.wait();  // test-only: park the scheduler to observe the queue
    max_active = std::max(max_active.load(), engine->ActiveSequences());
  };
  std::vector<EngineRequest> reqs;
  for (int i = 0; i < 10; ++i) {
    reqs.push_back(Greedy(i, 6));
    reqs.back().sampling.temperature = 0.9f;
    reqs.back().sampling.seed = 100 + i;
  }
  ASSERT_TRUE(engine->Submit(reqs[0], rec.For(0, nullptr, hold_first_step)).ok());
  while (engine->ActiveSequences() == 0) std::this_thread::yield();
  for (int i = 1; i < 10; ++i) ASSERT_TRUE(engine->Submit(reqs[i], rec.For(i)).ok());
  // The scheduler is parked inside the first step: everything else waits in the FIFO.
  EXPECT_EQ(engine->ActiveSequences(), 1);
  EXPECT_EQ(engine->Waiting(), 9);
  EXPECT_EQ(engine->FreeSlots(), 0);
  gate.set_value();
  ASSERT_TRUE(rec.WaitFor(10));
  for (int i = 0; i < 10; ++i) ExpectSameAsReference(rec.Get(i), reqs[i]);
  EXPECT_LE(max_active.load(), 2);
  EXPECT_EQ(engine->Waiting(), 0);
  EXPECT_EQ(engine->FreeSlots(), 2);
  // FIFO: the last request waited longest.
  EXPECT_GT(rec.Get(9).result->queue_seconds, rec.Get(1).result->queue_seconds);
}

TEST_F(EngineTest, CancelFreesTheSlotWithinOneStep) {
  EngineOptions o;
  o.max_slots = 1;
  Recorder rec;
  auto engine = MakeEngine(o);
  EngineRequest a = Greedy(0, 100);
  a.ignore_eos = true;
  const EngineRequest b = Greedy(1, 5);
  std::atomic<uint64_t> a_id{0};
  std::atomic<int64_t> cancel_step{-1};
  auto cancel_at_4 = [&](const TokenEvent& e) {
    if (e.index == 3) {
      // The id is known once Submit returns, which a busy machine may delay past token 3.
      while (a_id.load() == 0) std::this_thread::yield();
      cancel_step = engine->Stats().steps;
      engine->Cancel(a_id);
    }
  };
  // b waits behind a in the FIFO; c waits too and is cancelled before it ever runs.
  auto id = engine->Submit(a, rec.For(0, engine.get(), cancel_at_4));
  ASSERT_TRUE(id.ok());
  a_id = *id;
  ASSERT_TRUE(engine->Submit(b, rec.For(1, engine.get())).ok());
  auto c = engine->Submit(Greedy(2, 5), rec.For(2, engine.get()));
  ASSERT_TRUE(c.ok());
  engine->Cancel(*c);
  ASSERT_TRUE(rec.WaitFor(3));

  const RunLog ra = rec.Get(0);
  EXPECT_EQ(ra.result->finish_reason, "cancelled");
  EXPECT_EQ(ra.result->completion_tokens, 4);
  const GenerateResult full = Reference(a);
  EXPECT_TRUE(std::equal(ra.result->output_ids.begin(), ra.result->output_ids.end(),
                         full.output_ids.begin()));
  // No forward pass ran between the cancel and the slot's release.
  EXPECT_EQ(ra.done_step, cancel_step.load());
  // b got the slot and ran normally.
  ExpectSameAsReference(rec.Get(1), b);
  const RunLog rc = rec.Get(2);
  EXPECT_EQ(rc.result->finish_reason, "cancelled");
  EXPECT_EQ(rc.result->completion_tokens, 0);
  EXPECT_TRUE(rc.events.empty());
}

TEST_F(EngineTest, AWaitingRequestStartsWhenTheLastActiveOneFinishes) {
  // One slot: b waits while a runs. When a's last step frees the only slot, nothing else is
  // happening (no new request, no cancel): b must start anyway.
  EngineOptions o;
  o.max_slots = 1;
  Recorder rec;
  auto engine = MakeEngine(o);
  const EngineRequest a = Greedy(0, 3);
  const EngineRequest b = Greedy(1, 3);
  ASSERT_TRUE(engine->Submit(a, rec.For(0)).ok());
  ASSERT_TRUE(engine->Submit(b, rec.For(1)).ok());
  ASSERT_TRUE(rec.WaitFor(2)) << "a request was left waiting with a free slot";
  ExpectSameAsReference(rec.Get(0), a);
  ExpectSameAsReference(rec.Get(1), b);
  EXPECT_EQ(engine->Waiting(), 0);
}

TEST_F(EngineTest, CancelFromAnotherThreadTakesEffectBeforeTheNextStep) {
  Recorder rec;
  auto engine = MakeEngine();
  EngineRequest a = Greedy(0, 200);
  a.ignore_eos = true;
  // The first token's callback holds the scheduler until Cancel is posted: otherwise, on a
  // busy machine, the 200 tokens can all be generated before this thread gets to Cancel.
  std::promise<void> started, posted;
  std::shared_future<void> cancel_posted = posted.get_future().share();
  std::atomic<bool> once{false};
  auto id = engine->Submit(a, rec.For(0, engine.get(), [&, cancel_posted](const TokenEvent&) {
    if (!once.exchange(true)) {
      started.set_value();
      cancel_posted.wait();
    }
  }));
  ASSERT_TRUE(id.ok());
  started.get_future().wait();
  const int64_t before = engine->Stats().steps;
  engine->Cancel(*id);
  posted.set_value();
  ASSERT_TRUE(rec.WaitFor(1));
  const RunLog r = rec.Get(0);
  EXPECT_EQ(r.result->finish_reason, "cancelled");
  // At most the step already under way when Cancel was posted.
  EXPECT_LE(r.done_step, before + 1);
  EXPECT_LT(r.result->completion_tokens, 200);
  EXPECT_EQ(static_cast<int>(r.events.size()), r.result->completion_tokens);
  engine->Cancel(*id);  // finished: a no-op
  engine->Cancel(987654321);
}

TEST_F(EngineTest, SeedsAreDeterministicPerSequence) {
  Recorder rec;
  auto engine = MakeEngine();
  std::vector<EngineRequest> reqs;
  for (int i = 0; i < 6; ++i) {
    EngineRequest r = Greedy(i % 2, 15);  // same prompts, different seeds and settings
    r.sampling.temperature = 0.8f;
    r.sampling.top_k = 40;
    r.sampling.top_p = 0.95f;
    r.sampling.repetition_penalty = 1.1f;
    r.sampling.seed = 7 + i / 2;
    r.ignore_eos = true;
    reqs.push_back(r);
    ASSERT_TRUE(engine->Submit(r, rec.For(i)).ok());
  }
  ASSERT_TRUE(rec.WaitFor(6));
  for (int i = 0; i < 6; ++i) {
    SCOPED_TRACE(i);
    ExpectSameAsReference(rec.Get(i), reqs[i]);
    EXPECT_EQ(rec.Get(i).result->output_ids, Alone(reqs[i]).output_ids);
  }
  EXPECT_NE(rec.Get(0).result->output_ids, rec.Get(2).result->output_ids);  // seed 7 vs 8
}

TEST_F(EngineTest, StopStringsCutTheTextAndHoldBackPrefixes) {
  EngineRequest r = Greedy(2, 40);
  r.ignore_eos = true;
  const GenerateResult full = Reference(r);
  ASSERT_GE(full.text.size(), 20u);
  // A stop string in the middle of the output, and one that only ever matches a prefix.
  const std::string stop = full.text.substr(full.text.size() / 2, 3);
  const size_t at = full.text.find(stop);
  r.stop = {stop, full.text.substr(0, 2) + "\x01"};
  Recorder rec;
  auto engine = MakeEngine();
  ASSERT_TRUE(engine->Submit(r, rec.For(0)).ok());
  ASSERT_TRUE(rec.WaitFor(1));
  const RunLog run = rec.Get(0);
  EXPECT_EQ(run.result->finish_reason, "stop");
  EXPECT_EQ(run.result->text, full.text.substr(0, at));
  EXPECT_EQ(run.Streamed(), run.result->text);
  ExpectSameAsReference(run, r);
}

TEST_F(EngineTest, InvalidRequestsAndContextOverflowNameTheParameter) {
  EngineOptions o;
  o.max_context = 64;
  Recorder rec;
  auto engine = MakeEngine(o);
  EXPECT_EQ(engine->MaxContext(), 64);
  EngineRequest r = Greedy(0, 1);
  r.max_tokens = 64 - static_cast<int>(r.prompt_ids.size()) + 1;
  auto over = engine->Submit(r, rec.For(0));
  EXPECT_EQ(over.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(over.status().param(), "max_tokens");
  EXPECT_NE(over.status().message().find("maximum context length is 64"), std::string::npos);
  r.max_tokens -= 1;  // exactly fills a slot
  r.ignore_eos = true;
  ASSERT_TRUE(engine->Submit(r, rec.For(1)).ok());
  ASSERT_TRUE(rec.WaitFor(1));
  EXPECT_EQ(rec.Get(1).result->completion_tokens, r.max_tokens);
  EXPECT_EQ(rec.Get(1).result->finish_reason, "length");

  auto param = [&](EngineRequest bad) { return engine->Submit(bad, {}).status().param(); };
  r = Greedy(0, 4);
  r.prompt_ids.clear();
  EXPECT_EQ(param(r), "prompt");
  r = Greedy(0, 4);
  r.prompt_ids.push_back(-1);
  EXPECT_EQ(param(r), "prompt");
  EXPECT_EQ(param(Greedy(0, 0)), "max_tokens");
  r = Greedy(0, 4);
  r.stop = {""};
  EXPECT_EQ(param(r), "stop");
  r = Greedy(0, 4);
  r.sampling.temperature = -1;
  EXPECT_EQ(param(r), "temperature");
  EXPECT_EQ(engine->Stats().completed, 1);  // nothing invalid was queued
}

TEST_F(EngineTest, OptionsAreValidatedAndSlotsComeFromTheBudget) {
  const ModelConfig& c = model_->config();
  const int64_t per_slot = 2LL * c.num_layers * c.num_kv_heads * c.head_dim * 4 * 128;
  EngineOptions o;
  o.max_context = 128;
  o.kv_budget_bytes = per_slot * 5 + per_slot / 2;
  auto five = Engine::Create(model_, tokenizer_, o);
  ASSERT_TRUE(five.ok()) << five.status().ToString();
  EXPECT_EQ((*five)->Slots(), 5);
  EXPECT_EQ((*five)->FreeSlots(), 5);
  o.max_batch_tokens = 3;  // slots beyond the batch budget could never run
  EXPECT_EQ((*Engine::Create(model_, tokenizer_, o))->Slots(), 3);
  o = {};
  o.kv_budget_bytes = 1000;
  EXPECT_EQ(Engine::Create(model_, tokenizer_, o).status().param(), "kv_budget_bytes");
  o = {};
  o.max_context = c.max_positions + 1;
  EXPECT_EQ(Engine::Create(model_, tokenizer_, o).status().param(), "max_context");
  o = {};
  o.prefill_chunk_tokens = 0;
  EXPECT_EQ(Engine::Create(model_, tokenizer_, o).status().param(), "prefill_chunk_tokens");
  o = {};
  o.max_slots = -1;
  EXPECT_EQ(Engine::Create(model_, tokenizer_, o).status().param(), "max_slots");
  EXPECT_FALSE(Engine::Create(nullptr, tokenizer_, {}).ok());
}

TEST_F(EngineTest, ShutdownCancelsEverythingAndRefusesNewWork) {
  EngineOptions o;
  o.max_slots = 1;
  o.num_threads = 2;  // also exercises sampling on a pool of the engine's own
  Recorder rec;
  auto engine = MakeEngine(o);
  std::promise<void> gate;
  std::shared_future<void> opened = gate.get_future().share();
  auto park = [opened](const TokenEvent& e) {
    if (e.index == 0) opened.wait();  // test-only: hold the scheduler inside a step
  };
  for (int i = 0; i < 4; ++i) {
    EngineRequest r = Greedy(i, 100);
    r.ignore_eos = true;
    ASSERT_TRUE(engine->Submit(r, i == 0 ? rec.For(i, nullptr, park) : rec.For(i)).ok());
  }
  while (engine->ActiveSequences() == 0) std::this_thread::yield();  // the first one is running
  std::thread stopper([&] { engine->Shutdown(); });
  // Once Submit is refused the shutdown has begun; only then let the scheduler go on.
  while (engine->Submit(Greedy(0, 2), {}).ok()) std::this_thread::yield();
  EXPECT_EQ(engine->Submit(Greedy(0, 2), {}).status().code(), StatusCode::kUnavailable);
  gate.set_value();
  stopper.join();
  ASSERT_TRUE(rec.WaitFor(4));  // every request ended, exactly once
  EXPECT_EQ(rec.Get(0).result->finish_reason, "cancelled");
  EXPECT_EQ(rec.Get(0).result->completion_tokens, 1);
  for (int i = 1; i < 4; ++i) {
    EXPECT_EQ(rec.Get(i).result->finish_reason, "cancelled");
    EXPECT_EQ(rec.Get(i).result->completion_tokens, 0);
  }
  engine->Shutdown();  // idempotent
  EXPECT_EQ(engine->ActiveSequences(), 0);
  EXPECT_EQ(engine->Waiting(), 0);
}

// The shipped model: 16 concurrent greedy requests give the Generator's text, token for token.
TEST(EngineKjvSmallTest, BatchedGreedyEqualsGenerator) {
  const fs::path dir = SourceDir() / "models" / "kjv-small";
  auto m = Model::Load(dir, LoadOptions{.num_threads = 2});
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  auto t = Tokenizer::Load(dir);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  std::shared_ptr<const Model> model = std::move(*m);
  std::shared_ptr<const Tokenizer> tokenizer = std::move(*t);
  EngineOptions o;
  o.max_slots = 16;
  Recorder rec;  // outlives the engine, whose thread calls into it
  auto engine = Engine::Create(model, tokenizer, o);
  ASSERT_TRUE(engine.ok()) << engine.status().ToString();
  const char* prompts[] = {"And God said", "In the beginning", "The LORD is my shepherd",
                           "Blessed are the", "And it came to pass", "Thou shalt not",
                           "Unto thee, O LORD", "For God so loved", "And Moses spake",
                           "Then Jesus", "The heavens declare", "Praise ye the LORD",
                           "Now the serpent", "And Adam knew", "Hear, O Israel", "Vanity of"};
  std::vector<EngineRequest> reqs;
  for (int i = 0; i < 16; ++i) {
    EngineRequest r;
    r.prompt_ids = tokenizer->Encode(prompts[i]);
    r.sampling.temperature = 0;
    r.max_tokens = 12;
    reqs.push_back(r);
    ASSERT_TRUE((*engine)->Submit(r, rec.For(i)).ok());
  }
  ASSERT_TRUE(rec.WaitFor(16));
  Generator g(model, tokenizer);
  for (int i = 0; i < 16; ++i) {
    GenerateRequest r;
    r.prompt_ids = reqs[i].prompt_ids;
    r.sampling = reqs[i].sampling;
    r.max_tokens = reqs[i].max_tokens;
    auto ref = g.Generate(r);
    ASSERT_TRUE(ref.ok());
    EXPECT_EQ(rec.Get(i).result->output_ids, ref->output_ids) << prompts[i];
    EXPECT_EQ(rec.Get(i).result->text, ref->text) << prompts[i];
  }
}

}  // namespace
}  // namespace inferline::engine
