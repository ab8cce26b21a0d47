// Pulls from a fake Hub that breaks: dropped connections, ignored ranges, corrupt bytes, 503s.
#include <gtest/gtest.h>

#include "hub/digest.h"
#include "hub/part_file.h"
#include "hub/pull.h"
#include "hub/testing/pull_fixture.h"

namespace inferline::hub {
namespace {

namespace fs = std::filesystem;
using testing::FakeFaults;
using testing::PullFixture;
using testing::ReadFile;
using testing::RecordingProgress;

class PullFaultsTest : public PullFixture {
 protected:
  std::string WeightsSha256() const {
    Digest d;
    d.Update(weights_);
    return d.FinishHex();
  }
};

TEST_F(PullFaultsTest, DroppedConnectionResumesWithRange) {
  FakeFaults faults;
  faults.drop_at["model.safetensors"] = 200'000;
  hub_.SetFaults(faults);
  RecordingProgress progress;
  auto r = Pull(Options(), &progress);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto cdn = hub_.RequestsFor("/cdn/");
  ASSERT_EQ(cdn.size(), 2u);
  EXPECT_EQ(cdn[0].range, "");
  EXPECT_EQ(cdn[1].range, "bytes=200000-");
  EXPECT_EQ(ReadFile(dir_ / "model.safetensors"), weights_);
  auto sha = Sha256OfFile(dir_ / "model.safetensors");
  ASSERT_TRUE(sha.ok());
  EXPECT_EQ(*sha, WeightsSha256());
  EXPECT_EQ(r->bytes_downloaded, weights_.size() + config_.size() + tokenizer_.size() +
                                     ReadFile(dir_ / "tokenizer_config.json").size() +
                                     ReadFile(dir_ / "generation_config.json").size());
  ASSERT_EQ(progress.notes.size(), 1u);
  EXPECT_NE(progress.notes[0].find("broke after 200000 bytes"), std::string::npos)
      << progress.notes[0];
  EXPECT_NE(progress.notes[0].find("retrying"), std::string::npos);
  EXPECT_NE(std::find(progress.started.begin(), progress.started.end(),
                      "model.safetensors@200000"),
            progress.started.end());
}

TEST_F(PullFaultsTest, InterruptedPullResumesOnTheNextRun) {
  FakeFaults faults;
  faults.drop_at["model.safetensors"] = 123'457;
  hub_.SetFaults(faults);
  PullOptions once = Options();
  once.hub.retry.attempts = 1;
  auto first = Pull(once, nullptr);
  ASSERT_FALSE(first.ok());
  EXPECT_EQ(first.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(first.status().message().find("run the same command again to resume"),
            std::string::npos)
      << first.status().message();
  EXPECT_EQ(FileSizeOrZero(Part("model.safetensors")), 123'457u);
  EXPECT_FALSE(fs::exists(dir_ / "model.safetensors"));
  EXPECT_TRUE(fs::exists(dir_ / "config.json"));  // finished files stay

  hub_.ClearRequests();
  auto second = Pull(Options(), nullptr);
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  auto cdn = hub_.RequestsFor("/cdn/");
  ASSERT_EQ(cdn.size(), 1u);
  EXPECT_EQ(cdn[0].range, "bytes=123457-");
  EXPECT_EQ(second->bytes_downloaded, weights_.size() - 123'457);
  EXPECT_EQ(*Sha256OfFile(dir_ / "model.safetensors"), WeightsSha256());
  EXPECT_FALSE(fs::exists(Part("model.safetensors")));
}

TEST_F(PullFaultsTest, CorruptedByteIsDetectedAndDeleted) {
  FakeFaults faults;
  faults.corrupt_at["model.safetensors"] = 250'000;
  hub_.SetFaults(faults);
  auto r = Pull(Options(), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("sha256 mismatch for model.safetensors"), std::string::npos)
      << r.status().message();
  EXPECT_NE(r.status().message().find(WeightsSha256()), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ / "model.safetensors"));
  EXPECT_FALSE(fs::exists(Part("model.safetensors")));
  EXPECT_EQ(hub_.RequestsFor("/cdn/").size(), 1u);  // corruption is not retried blindly

  hub_.SetFaults({});
  auto again = Pull(Options(), nullptr);
  ASSERT_TRUE(again.ok()) << again.status().ToString();
  EXPECT_EQ(ReadFile(dir_ / "model.safetensors"), weights_);
}

TEST_F(PullFaultsTest, CorruptedRegularFileFailsItsGitBlobId) {
  FakeFaults faults;
  faults.corrupt_at["tokenizer.json"] = 10;
  hub_.SetFaults(faults);
  auto r = Pull(Options(), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("git blob id mismatch for tokenizer.json"),
            std::string::npos)
      << r.status().message();
  EXPECT_FALSE(fs::exists(dir_ / "tokenizer.json"));
}

TEST_F(PullFaultsTest, ServerIgnoringRangeRestartsCleanly) {
  FakeFaults faults;
  faults.drop_at["model.safetensors"] = 300'000;
  faults.ignore_range = true;
  hub_.SetFaults(faults);
  RecordingProgress progress;
  auto r = Pull(Options(), &progress);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  auto cdn = hub_.RequestsFor("/cdn/");
  ASSERT_EQ(cdn.size(), 2u);
  EXPECT_EQ(cdn[1].range, "bytes=300000-");  // asked, but answered with 200 and everything
  EXPECT_EQ(ReadFile(dir_ / "model.safetensors"), weights_);
  EXPECT_EQ(*Sha256OfFile(dir_ / "model.safetensors"), WeightsSha256());
  bool told = false;
  for (const auto& n : progress.notes) told |= n.find("ignored the range") != std::string::npos;
  EXPECT_TRUE(told);
}

TEST_F(PullFaultsTest, StalePartialLongerThanTheFileIsDiscarded) {
  fs::create_directories(dir_);
  std::ofstream(Part("model.safetensors"), std::ios::binary)
      << std::string(weights_.size() + 10, 'z');
  auto r = Pull(Options(), nullptr);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(ReadFile(dir_ / "model.safetensors"), weights_);
  EXPECT_EQ(hub_.RequestsFor("/cdn/")[0].range, "");
}

TEST_F(PullFaultsTest, ServerErrorsAreRetried) {
  FakeFaults faults;
  faults.unavailable = 2;  // the listing gets two 503s: waits of 100 ms, then 200 ms
  hub_.SetFaults(faults);
  std::vector<std::chrono::milliseconds> waits;
  PullOptions o = Options();
  o.hub.retry.initial_backoff = std::chrono::milliseconds(100);
  o.hub.retry.sleep = [&](std::chrono::milliseconds ms) { waits.push_back(ms); };
  RecordingProgress progress;
  auto r = Pull(o, &progress);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(progress.notes.size(), 2u);
  EXPECT_NE(progress.notes[0].find("answered 503"), std::string::npos) << progress.notes[0];
  EXPECT_NE(progress.notes[0].find("retrying in 0.1 s (attempt 2 of 3)"), std::string::npos)
      << progress.notes[0];
  EXPECT_EQ(waits, (std::vector<std::chrono::milliseconds>{std::chrono::milliseconds(100),
                                                           std::chrono::milliseconds(200)}));
  EXPECT_EQ(ReadFile(dir_ / "model.safetensors"), weights_);
}

TEST_F(PullFaultsTest, PersistentServerErrorsGiveUp) {
  FakeFaults faults;
  faults.unavailable = 1000;
  hub_.SetFaults(faults);
  auto r = Pull(Options(), nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("answered 503"), std::string::npos) << r.status().message();
  EXPECT_EQ(hub_.requests().size(), 3u);  // Options() allows 3 attempts
}

}  // namespace
}  // namespace inferline::hub
