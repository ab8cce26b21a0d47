// A FakeHub serving the tiny GPT-2 of tests/golden (config, weights as an LFS file) with a
// tokenizer, plus PullOptions pointed at it and a scratch folder, for the pull tests.
//
// Thread-safety: test thread only.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "hub/progress.h"
#include "hub/pull.h"
#include "hub/testing/fake_hub.h"

namespace inferline::hub::testing {

inline std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::filesystem::path SourceDir() {
  const char* s = std::getenv("INFERLINE_SOURCE_DIR");
  return s != nullptr ? std::filesystem::path(s) : std::filesystem::current_path();
}

// Keeps what the downloader says, for assertions.
class RecordingProgress : public Progress {
 public:
  void FileStarted(std::string_view name, uint64_t, uint64_t already) override {
    started.push_back(std::string(name) + "@" + std::to_string(already));
  }
  void FileAdvanced(uint64_t) override {}
  void FileFinished(std::string_view name, uint64_t, bool skipped) override {
    finished.push_back(std::string(name) + (skipped ? " (skipped)" : ""));
  }
  void Note(std::string_view message) override { notes.emplace_back(message); }

  std::vector<std::string> started, finished, notes;
};

class PullFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    TinyModel model = LoadTinyModel(SourceDir());
    config_ = model.config;
    weights_ = model.weights;
    tokenizer_ = model.tokenizer;
    ASSERT_GT(weights_.size(), 400'000u) << "tests/golden/models/gpt2-tiny is missing";
    ASSERT_FALSE(tokenizer_.empty());
    AddTinyModel(hub_, model);
    static std::atomic<int> counter{0};
    dir_ = std::filesystem::temp_directory_path() /
           ("inferline_pull_" + std::to_string(::getpid()) + "_" + std::to_string(counter++));
    std::filesystem::remove_all(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  PullOptions Options() const {
    PullOptions o;
    o.repo = hub_.repo();
    o.dir = dir_;
    o.hub.endpoint = hub_.endpoint();
    o.hub.retry.attempts = 3;
    o.hub.retry.sleep = [](std::chrono::milliseconds) {};
    o.hub.transport.connect_timeout = std::chrono::seconds(5);
    o.hub.transport.read_timeout = std::chrono::seconds(10);
    return o;
  }

  std::filesystem::path Part(const std::string& name) const {
    return dir_ / (name + ".incomplete");
  }

  FakeHub hub_;
  std::string config_, weights_, tokenizer_;
  std::filesystem::path dir_;
};

}  // namespace inferline::hub::testing
