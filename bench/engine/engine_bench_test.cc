// The engine benchmark's plumbing on tiny sizes (its numbers are not checked, only that every
// one of them is produced and sane): the random GPT-2 writer, bandwidth, table and CSV.
#include "bench/engine/engine_bench.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/model/model.h"

namespace inferline::engine::bench {
namespace {

namespace fs = std::filesystem;

fs::path SourceDir() {
  const char* root = std::getenv("INFERLINE_SOURCE_DIR");
  return root ? fs::path(root) : fs::path(".");
}

std::string Slurp(std::FILE* f) {
  std::rewind(f);
  std::string s;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof(buf), f)) > 0) s.append(buf, n);
  return s;
}

TEST(EngineBenchTest, RandomGpt2FolderLoadsAndIsReused) {
  const fs::path dir = fs::temp_directory_path() / "inferline-bench-test-gpt2";
  fs::remove_all(dir);
  const Gpt2Shape shape{.vocab = 300, .layers = 2, .hidden = 32, .heads = 4, .context = 64};
  ASSERT_TRUE(WriteRandomGpt2(dir.string(), shape, 1).ok());
  auto model = Model::Load(dir, {.num_threads = 1});
  ASSERT_TRUE(model.ok()) << model.status().ToString();
  EXPECT_EQ((*model)->config().vocab_size, 300);
  EXPECT_EQ((*model)->config().max_positions, 64);
  const auto written = fs::last_write_time(dir / "model.safetensors");
  ASSERT_TRUE(WriteRandomGpt2(dir.string(), shape, 1).ok());  // same shape and seed: kept
  EXPECT_EQ(fs::last_write_time(dir / "model.safetensors"), written);
  fs::remove_all(dir);
}

TEST(EngineBenchTest, TinyRunPrintsEveryNumber) {
  EngineBenchOptions o;
  o.models = {"kjv-small"};
  o.dtypes = {"int8"};
  o.concurrency = {1, 2};
  o.prompt_tokens = 4;
  o.gen_tokens = 8;
  o.prefill_tokens = 8;
  o.repeats = 1;
  o.decode_repeats = 1;
  o.bandwidth_mib = 8;
  o.kjv_dir = (SourceDir() / "models" / "kjv-small").string();
  o.csv = (fs::temp_directory_path() / "inferline-bench-test.csv").string();
  std::FILE* out = std::tmpfile();
  std::FILE* err = std::tmpfile();
  const Status st = RunEngineBench(o, out, err);
  ASSERT_TRUE(st.ok()) << st.ToString() << Slurp(err);
  const std::string table = Slurp(out);
  EXPECT_NE(table.find("kjv-small  int8"), std::string::npos) << table;
  EXPECT_NE(table.find("bandwidth"), std::string::npos);
  std::ifstream csv(o.csv);
  std::string line;
  int numbers = 0;
  std::getline(csv, line);
  EXPECT_EQ(line, "model,dtype,metric,concurrency,value");
  while (std::getline(csv, line)) {
    const double v = std::stod(line.substr(line.rfind(',') + 1));
    EXPECT_GT(v, 0) << line;
    ++numbers;
  }
  EXPECT_EQ(numbers, 1 + 4 + 2 * 2);  // bandwidth; 4 per row; 2 per concurrency
  std::fclose(out);
  std::fclose(err);
  fs::remove(o.csv);

  o.models = {"gpt5"};
  EXPECT_EQ(RunEngineBench(o, stdout, stderr).param(), "models");
  o.models = {"kjv-small"};
  o.dtypes = {"int4"};
  EXPECT_EQ(RunEngineBench(o, stdout, stderr).param(), "dtype");
}

}  // namespace
}  // namespace inferline::engine::bench
