// The generation loop on a small random GPT-2 that uses the shipped KJV tokenizer (so that
// tokens decode to real multi-character pieces), and the shipped model itself.
#include "engine/generator.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <thread>

#include "engine/generate_cli.h"
#include "engine/model/test_model.h"

namespace inferline::engine {
namespace {

namespace fs = std::filesystem;

fs::path SourceDir() {
  const char* root = std::getenv("INFERLINE_SOURCE_DIR");
  return root ? fs::path(root) : fs::path(".");
}

// Streams every piece into one string.
struct Collector {
  std::string text;
  int pieces = 0;
  TextCallback callback() {
    return [this](std::string_view p) {
      text.append(p);
      ++pieces;
    };
  }
};

class GeneratorTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto tok = Tokenizer::Load(SourceDir() / "models" / "kjv-small");
    ASSERT_TRUE(tok.ok()) << tok.status().ToString();
    tokenizer_ = std::move(*tok).release();
    ModelConfig c = testing::TinyConfig("gpt2");
    c.vocab_size = tokenizer_->vocab_size();
    auto m = testing::RandomModel(c, 2024, 2);
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    model_ = std::move(*m).release();
  }
  static void TearDownTestSuite() {
    delete model_;
    delete tokenizer_;
  }
  // Non-owning shared_ptrs to the suite's model and tokenizer.
  Generator MakeGenerator(std::vector<int32_t> eos = {}) {
    return Generator(std::shared_ptr<const Model>(model_, [](const Model*) {}),
                     std::shared_ptr<const Tokenizer>(tokenizer_, [](const Tokenizer*) {}),
                     std::move(eos));
  }
  GenerateRequest Request(int max_tokens, uint64_t seed) {
    GenerateRequest r;
    r.prompt_ids = tokenizer_->Encode("In the beginning");
    r.max_tokens = max_tokens;
    r.sampling.seed = seed;
    return r;
  }
  // Each output token's own text, as the stream decoder produces it.
  std::vector<std::string> Pieces(const std::vector<int32_t>& ids) {
    StreamDecoder d(*tokenizer_);
    std::vector<std::string> out;
    for (int32_t id : ids) out.push_back(d.Push(id));
    out.back() += d.Flush();
    return out;
  }

  static Model* model_;
  static Tokenizer* tokenizer_;
};

Model* GeneratorTest::model_ = nullptr;
Tokenizer* GeneratorTest::tokenizer_ = nullptr;

TEST_F(GeneratorTest, SameSeedSameOutputAndStreamEqualsText) {
  Generator g = MakeGenerator();
  Collector a, b;
  auto r1 = g.Generate(Request(20, 7), a.callback());
  auto r2 = g.Generate(Request(20, 7), b.callback());
  ASSERT_TRUE(r1.ok() && r2.ok()) << r1.status().ToString();
  EXPECT_EQ(r1->output_ids, r2->output_ids);
  EXPECT_EQ(r1->text, r2->text);
  EXPECT_EQ(a.text, r1->text);
  EXPECT_EQ(r1->text, tokenizer_->Decode(r1->output_ids));
  EXPECT_GT(a.pieces, 1);  // streamed, not delivered at the end
  auto r3 = g.Generate(Request(20, 8));
  ASSERT_TRUE(r3.ok());
  EXPECT_NE(r3->output_ids, r1->output_ids);
}

TEST_F(GeneratorTest, MaxTokensEndsWithLength) {
  Generator g = MakeGenerator();
  auto r = g.Generate(Request(5, 1));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->finish_reason, "length");
  EXPECT_EQ(r->output_ids.size(), 5u);
  EXPECT_EQ(r->completion_tokens, 5);
  EXPECT_EQ(r->prompt_tokens, static_cast<int>(Request(5, 1).prompt_ids.size()));
  EXPECT_GE(r->prefill_seconds, 0.0);
  EXPECT_GE(r->decode_seconds, 0.0);
}

TEST_F(GeneratorTest, StopStringSplitAcrossTokensCutsTheOutput) {
  Generator g = MakeGenerator();
  auto full = g.Generate(Request(40, 3));
  ASSERT_TRUE(full.ok());
  const auto pieces = Pieces(full->output_ids);
  // A stop string made of the end of one token's text and the start of the next one's.
  size_t i = 10;
  while (i + 1 < pieces.size() && (pieces[i].size() < 2 || pieces[i + 1].empty())) ++i;
  ASSERT_LT(i + 1, pieces.size());
  const std::string stop = pieces[i].substr(pieces[i].size() - 2) + pieces[i + 1].substr(0, 1);
  const size_t at = full->text.find(stop);
  ASSERT_NE(at, std::string::npos);

  GenerateRequest r = Request(40, 3);
  r.stop = {"never appears \x01", stop};
  Collector c;
  auto cut = g.Generate(r, c.callback());
  ASSERT_TRUE(cut.ok());
  EXPECT_EQ(cut->finish_reason, "stop");
  EXPECT_EQ(cut->text, full->text.substr(0, at));
  EXPECT_EQ(c.text, cut->text);  // nothing of the stop string was streamed
  // Generation ended on the token that completed the stop string.
  size_t len = 0, n = 0;
  while (len < at + stop.size()) len += pieces[n++].size();
  EXPECT_EQ(cut->output_ids.size(), n);
  EXPECT_EQ(cut->completion_tokens, static_cast<int>(n));
  EXPECT_TRUE(std::equal(cut->output_ids.begin(), cut->output_ids.end(), full->output_ids.begin()));
}

TEST_F(GeneratorTest, PossibleStopPrefixIsHeldBackThenReleased) {
  Generator g = MakeGenerator();
  auto full = g.Generate(Request(15, 4));
  ASSERT_TRUE(full.ok());
  const auto pieces = Pieces(full->output_ids);
  // Starts like token 2's text but can never complete.
  ASSERT_FALSE(pieces[2].empty());
  GenerateRequest r = Request(15, 4);
  r.stop = {pieces[2] + "\x01\x02"};
  std::vector<std::string> streamed;
  auto out = g.Generate(r, [&](std::string_view p) { streamed.emplace_back(p); });
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->finish_reason, "length");
  EXPECT_EQ(out->text, full->text);
  std::string joined;
  for (const auto& s : streamed) joined += s;
  EXPECT_EQ(joined, full->text);
}

TEST_F(GeneratorTest, StopStringFilterUnit) {
  StopStringFilter f({"END", "xyz"});
  EXPECT_FALSE(f.Add("abc E"));
  EXPECT_EQ(f.TakeReady(), "abc ");  // "E" could start "END"
  EXPECT_FALSE(f.Add("Nx"));
  EXPECT_EQ(f.TakeReady(), "EN");  // "ENx" cannot become END, but "x" may start xyz
  EXPECT_FALSE(f.Add("q"));
  EXPECT_EQ(f.TakeReady(), "xq");
  EXPECT_FALSE(f.Add("1EN"));
  EXPECT_EQ(f.TakeReady(), "1");
  EXPECT_TRUE(f.Add("D tail"));  // completes END across two pieces
  EXPECT_TRUE(f.stopped());
  EXPECT_EQ(f.text(), "abc ENxq1");
  EXPECT_EQ(f.TakeReady(), "");
  EXPECT_TRUE(f.Add("more"));  // already stopped: ignored
  EXPECT_EQ(f.text(), "abc ENxq1");
  StopStringFilter g({"END"});
  EXPECT_FALSE(g.Add("a EN"));
  EXPECT_TRUE(g.Add("D b"));
  EXPECT_EQ(g.text(), "a ");
  EXPECT_EQ(g.TakeReady(), "a ");
  StopStringFilter h({"END"});
  EXPECT_FALSE(h.Add("xxEN"));
  h.Finish();
  EXPECT_EQ(h.TakeReady(), "xxEN");
}

TEST_F(GeneratorTest, EosStopsAndIsCountedButNotDecoded) {
  Generator plain = MakeGenerator();
  auto full = plain.Generate(Request(12, 5));
  ASSERT_TRUE(full.ok());
  const int32_t eos = full->output_ids[4];
  const size_t first =
      std::find(full->output_ids.begin(), full->output_ids.end(), eos) - full->output_ids.begin();
  Generator g = MakeGenerator({eos});
  auto r = g.Generate(Request(12, 5));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->finish_reason, "stop");
  ASSERT_EQ(r->output_ids.size(), first + 1);
  EXPECT_EQ(r->output_ids.back(), eos);
  const std::vector<int32_t> before(r->output_ids.begin(), r->output_ids.end() - 1);
  EXPECT_EQ(r->text, tokenizer_->Decode(before));

  GenerateRequest ignore = Request(12, 5);
  ignore.ignore_eos = true;
  auto all = g.Generate(ignore);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->finish_reason, "length");
  EXPECT_EQ(all->output_ids, full->output_ids);
}

TEST_F(GeneratorTest, ContextOverflowIsAnInvalidMaxTokens) {
  Generator g = MakeGenerator();
  GenerateRequest r = Request(1, 1);
  const int room = model_->config().max_positions - static_cast<int>(r.prompt_ids.size());
  r.max_tokens = room + 1;
  auto over = g.Generate(r);
  EXPECT_EQ(over.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(over.status().param(), "max_tokens");
  EXPECT_NE(over.status().message().find("maximum context length is 64"), std::string::npos)
      << over.status().message();
  r.max_tokens = room;  // exactly fills the context
  r.ignore_eos = true;
  auto fits = g.Generate(r);
  ASSERT_TRUE(fits.ok()) << fits.status().ToString();
  EXPECT_EQ(fits->completion_tokens, room);
}

TEST_F(GeneratorTest, InvalidRequestsNameTheParameter) {
  Generator g = MakeGenerator();
  GenerateRequest r = Request(4, 1);
  r.prompt_ids.clear();
  EXPECT_EQ(g.Generate(r).status().param(), "prompt");
  r = Request(4, 1);
  r.prompt_ids.push_back(model_->config().vocab_size);
  EXPECT_EQ(g.Generate(r).status().param(), "prompt");
  r = Request(0, 1);
  EXPECT_EQ(g.Generate(r).status().param(), "max_tokens");
  r = Request(4, 1);
  r.stop = {""};
  EXPECT_EQ(g.Generate(r).status().param(), "stop");
  r = Request(4, 1);
  r.sampling.top_p = 2;
  EXPECT_EQ(g.Generate(r).status().param(), "top_p");
}

TEST_F(GeneratorTest, CancelStopsTheLoop) {
  Generator g = MakeGenerator();
  std::atomic<bool> cancel{false};
  GenerateRequest r = Request(40, 6);
  r.ignore_eos = true;
  auto out = g.Generate(
      r, [&](std::string_view) { cancel = true; }, &cancel);
  ASSERT_TRUE(out.ok());
  EXPECT_EQ(out->finish_reason, "cancelled");
  EXPECT_LT(out->completion_tokens, 40);
  EXPECT_GE(out->completion_tokens, 1);
  auto before = g.Generate(r, {}, &cancel);  // already cancelled
  ASSERT_TRUE(before.ok());
  EXPECT_EQ(before->finish_reason, "cancelled");
  EXPECT_EQ(before->completion_tokens, 0);
}

TEST_F(GeneratorTest, ScoreMatchesAFullForwardAndIsChunkInvariant) {
  Generator g = MakeGenerator();
  const std::vector<int32_t> ids = tokenizer_->Encode("And God said, Let there be light");
  ASSERT_GE(ids.size(), 5u);
  auto whole = g.Score(ids, 64);
  auto chunked = g.Score(ids, 3);
  ASSERT_TRUE(whole.ok() && chunked.ok());
  ASSERT_EQ(whole->token_logprobs.size(), ids.size() - 1);
  for (size_t i = 0; i < ids.size() - 1; ++i) {
    EXPECT_NEAR(whole->token_logprobs[i], chunked->token_logprobs[i], 1e-4);
  }
  // Manual: log_softmax of an all-positions forward.
  const int vocab = model_->config().vocab_size;
  auto cache = KvCache::Create(model_->config(), 64);
  ASSERT_TRUE(cache.ok());
  std::vector<float> logits(ids.size() * vocab);
  SequenceStep step{cache->get(), 0, ids, LogitsMode::kAll, logits};
  Activations act;
  ASSERT_TRUE(model_->Forward({&step, 1}, act).ok());
  double total = 0;
  for (size_t i = 0; i + 1 < ids.size(); ++i) {
    double sum = 0;
    for (int v = 0; v < vocab; ++v) sum += std::exp(double{logits[i * vocab + v]});
    total += logits[i * vocab + ids[i + 1]] - std::log(sum);
  }
  EXPECT_NEAR(whole->total_logprob, total, 1e-3);
  EXPECT_NEAR(whole->perplexity, std::exp(-total / (ids.size() - 1)), 1e-2);
  EXPECT_FALSE(g.Score(std::span(ids).subspan(0, 1)).ok());
}

// The shipped model: greedy text from "And God said" looks like English and is reproducible.
TEST(KjvSmallTest, GreedyGenerationIsEnglishLikeAndRepeatable) {
  const fs::path dir = SourceDir() / "models" / "kjv-small";
  auto model = Model::Load(dir, LoadOptions{.num_threads = 2});
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  auto tok = Tokenizer::Load(dir);
  ASSERT_TRUE(tok.ok()) << tok.status().ToString();
  std::shared_ptr<const Tokenizer> tokenizer = std::move(*tok);
  Generator g(std::move(*model), tokenizer);
  GenerateRequest r;
  r.prompt_ids = tokenizer->Encode("And God said");
  r.sampling.temperature = 0;
  r.max_tokens = 16;
  auto a = g.Generate(r);
  auto b = g.Generate(r);
  ASSERT_TRUE(a.ok() && b.ok()) << a.status().ToString();
  EXPECT_EQ(a->output_ids, b->output_ids);
  EXPECT_EQ(a->text, b->text);
  const std::string& t = a->text;
  ASSERT_GE(t.size(), 30u) << t;
  for (char c : t) EXPECT_TRUE(std::isprint(static_cast<unsigned char>(c)) || c == '\n') << t;
  EXPECT_GE(std::count(t.begin(), t.end(), ' '), 5) << t;
  bool common_word = false;
  for (const char* w : {" and ", " the ", " of ", " unto ", " said", " LORD", " shall "}) {
    common_word = common_word || t.find(w) != std::string::npos;
  }
  EXPECT_TRUE(common_word) << t;
  // Perplexity of a real verse is finite and far below the vocabulary size.
  auto score = g.ScoreText("In the beginning God created the heaven and the earth.");
  ASSERT_TRUE(score.ok());
  EXPECT_GT(score->perplexity, 1.0);
  EXPECT_LT(score->perplexity, 500.0);
}

TEST(GenerateCliTest, StreamsPromptAndTextAndReportsThroughput) {
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  ASSERT_TRUE(out && err);
  GenerateCliOptions o;
  o.model_dir = (SourceDir() / "models" / "kjv-small").string();
  o.prompt = "And God said";
  o.max_tokens = 8;
  o.temperature = 0.7f;
  o.seed = 5;
  o.threads = 2;
  o.out = out;
  o.err = err;
  Status st = RunGenerateCli(o);
  ASSERT_TRUE(st.ok()) << st.ToString();
  auto slurp = [](std::FILE* f) {
    std::rewind(f);
    std::string s;
    char buf[256];
    size_t n;
    while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) s.append(buf, n);
    std::fclose(f);
    return s;
  };
  const std::string text = slurp(out), stats = slurp(err);
  EXPECT_TRUE(text.starts_with("And God said")) << text;
  EXPECT_GT(text.size(), std::string("And God said").size() + 1);
  EXPECT_NE(stats.find("prompt: 3 tokens"), std::string::npos) << stats;
  EXPECT_NE(stats.find("tokens/s"), std::string::npos) << stats;

  o.model_dir = "/nonexistent";
  EXPECT_FALSE(RunGenerateCli(o).ok());
  o.model_dir = (SourceDir() / "models" / "kjv-small").string();
  o.max_tokens = 1000;  // beyond the 256-token context
  o.out = std::tmpfile();
  Status over = RunGenerateCli(o);
  EXPECT_EQ(slurp(o.out), "");  // an invalid request prints nothing
  EXPECT_EQ(over.param(), "max_tokens");
}

}  // namespace
}  // namespace inferline::engine
