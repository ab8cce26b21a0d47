// The shared fixture of the end-to-end suite: one `inferline serve` process for the whole test
// binary (a temporary data directory, the shipped kjv-small model), its admin key, and keys for
// two ordinary users.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "e2e_client.h"
#include "server_process.h"
#include "store/sqlite/testing/temp_dir.h"

namespace inferline::e2e {

class E2E : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::make_unique<store::testing::TempDir>();
    server_ = std::make_unique<ServerProcess>(dir_->path() / "data",
                                              std::vector<std::string>{"--engine-max-slots", "4"});
    ASSERT_TRUE(server_->ok()) << server_->log();
    admin_ = server_->AdminKey();
    ASSERT_EQ(admin_.rfind("sk-il-", 0), 0u);
    alice_ = CreateKey(port(), admin_, "alice");
    bob_ = CreateKey(port(), admin_, "bob");
    ASSERT_FALSE(alice_.empty());
    ASSERT_FALSE(bob_.empty());
  }
  static void TearDownTestSuite() {
    if (server_) {
      // SIGTERM is a clean shutdown: exit status 0.
      EXPECT_EQ(server_->Terminate(), std::optional<int>(0)) << server_->log();
    }
    server_.reset();
    dir_.reset();
  }
  static uint16_t port() { return server_->port(); }

  static inline std::unique_ptr<store::testing::TempDir> dir_;
  static inline std::unique_ptr<ServerProcess> server_;
  static inline std::string admin_, alice_, bob_;
};

}  // namespace inferline::e2e
