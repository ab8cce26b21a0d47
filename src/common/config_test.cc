#include "common/config.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

namespace inferline::config {
namespace {

struct Opts {
  int64_t port;
  double ratio;
  std::string host;
  std::string mode;
  std::string secret;
  bool verbose;
  std::vector<std::string> origins;
};

void Declare(Config& c, Opts& o) {
  c.Int("http.port", &o.port, 8080, 1, 65535, "Port", "--port");
  c.Double("engine.ratio", &o.ratio, 0.5, 0, 1, "Ratio");
  c.String("http.host", &o.host, "0.0.0.0", "Host");
  c.Choice("log.format", &o.mode, "auto", {"auto", "text", "json"}, "Format");
  c.Secret("store.password", &o.secret, "Password");
  c.Bool("log.verbose", &o.verbose, false, "Verbose");
  c.List("http.cors_origins", &o.origins, {}, "Origins");
}

Status Parse(Config& c, std::vector<std::string> args,
             const std::map<std::string, std::string>& env = {}) {
  CLI::App app;
  c.Bind(app);
  std::vector<const char*> argv = {"test"};
  for (auto& a : args) argv.push_back(a.c_str());
  app.parse(static_cast<int>(argv.size()), const_cast<char**>(argv.data()));
  return c.Resolve(&env);
}

TEST(ConfigTest, DefaultsAndPrecedence) {
  Config c;
  Opts o;
  Declare(c, o);
  ASSERT_TRUE(c.ApplyYaml("http:\n  port: 9000\n  host: example\n", "f.yaml").ok());
  EXPECT_EQ(o.port, 9000);
  std::map<std::string, std::string> env = {{"INFERLINE_HTTP_PORT", "9001"},
                                            {"INFERLINE_STORE_PASSWORD", "hunter2"}};
  ASSERT_TRUE(Parse(c, {"--port", "9002", "--log-verbose"}, env).ok());
  EXPECT_EQ(o.port, 9002);  // flag beats env beats file
  EXPECT_EQ(o.host, "example");
  EXPECT_TRUE(o.verbose);
  EXPECT_EQ(o.secret, "hunter2");
  std::string printed = c.Print();
  EXPECT_EQ(printed.find("hunter2"), std::string::npos);
  EXPECT_NE(printed.find("password: \"********\""), std::string::npos);
  EXPECT_NE(printed.find("port: 9002  # flag"), std::string::npos);
}

TEST(ConfigTest, EnvBeatsFile) {
  Config c;
  Opts o;
  Declare(c, o);
  ASSERT_TRUE(c.ApplyYaml("http: {port: 9000}\n", "f.yaml").ok());
  ASSERT_TRUE(Parse(c, {}, {{"INFERLINE_HTTP_PORT", "9001"}}).ok());
  EXPECT_EQ(o.port, 9001);
}

TEST(ConfigTest, UnknownKeyNamesKeyAndLine) {
  Config c;
  Opts o;
  Declare(c, o);
  Status s = c.ApplyYaml("http:\n  port: 80\n  prot: 81\n", "f.yaml");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("f.yaml:3"), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("http.prot"), std::string::npos);
}

TEST(ConfigTest, BadTypeAndRange) {
  Config c;
  Opts o;
  Declare(c, o);
  Status s = c.ApplyYaml("http:\n  port: eighty\n", "f.yaml");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("'http.port' expects an integer"), std::string::npos) << s.message();
  s = c.ApplyYaml("http:\n  port: 70000\n", "f.yaml");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("between 1 and 65535"), std::string::npos);
  s = c.ApplyYaml("log:\n  format: xml\n", "f.yaml");
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("log.format"), std::string::npos);
  Config c2;
  Opts o2;
  Declare(c2, o2);
  s = Parse(c2, {"--engine-ratio", "2"});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("engine.ratio"), std::string::npos);
  Config c3;
  Opts o3;
  Declare(c3, o3);
  s = Parse(c3, {}, {{"INFERLINE_LOG_VERBOSE", "maybe"}});
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("INFERLINE_LOG_VERBOSE"), std::string::npos);
}

TEST(ConfigTest, ListsAndUnknownEnvWarns) {
  Config c;
  Opts o;
  Declare(c, o);
  ASSERT_TRUE(c.ApplyYaml("http:\n  cors_origins: [a, b]\n", "f.yaml").ok());
  EXPECT_EQ(o.origins, (std::vector<std::string>{"a", "b"}));
  ASSERT_TRUE(Parse(c, {"--http-cors-origins", "x, y"}, {{"INFERLINE_NOPE", "1"}}).ok());
  EXPECT_EQ(o.origins, (std::vector<std::string>{"x", "y"}));
  ASSERT_EQ(c.warnings().size(), 1u);
}

TEST(ConfigTest, YamlOptionAppliesEachSourceAndReportsLines) {
  Config c;
  Opts o;
  Declare(c, o);
  std::map<std::string, int64_t> limits;
  auto apply = [&](const YAML::Node& node, const std::string& where) -> Status {
    if (!node.IsMap()) return InvalidArgument(where + ": 'plans' must be a mapping", "plans");
    limits.clear();
    for (const auto& kv : node) {
      if (!kv.second.IsMap() || !kv.second["tokens_per_day"]) {
        return InvalidArgument(fmt::format("{}: line {}: plan '{}' needs tokens_per_day", where,
                                           kv.first.Mark().line + 1, kv.first.as<std::string>()),
                               "plans");
      }
      limits[kv.first.as<std::string>()] = kv.second["tokens_per_day"].as<int64_t>();
    }
    return Status::Ok();
  };
  ASSERT_TRUE(c.Yaml("plans", "{default: {tokens_per_day: 100000}}", "Plans", apply).ok());
  EXPECT_EQ(limits.at("default"), 100000);
  ASSERT_TRUE(c.ApplyYaml("plans:\n  pro:\n    tokens_per_day: 5\n", "f.yaml").ok());
  EXPECT_EQ(limits.at("pro"), 5);
  EXPECT_EQ(limits.count("default"), 0u);
  Status bad = c.ApplyYaml("plans:\n  pro:\n    tokens_per_day: 5\n  free: {}\n", "f.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.message().find("line 4"), std::string::npos) << bad.message();
  ASSERT_TRUE(Parse(c, {}, {{"INFERLINE_PLANS", "{x: {tokens_per_day: 7}}"}}).ok());
  EXPECT_EQ(limits.at("x"), 7);
  EXPECT_NE(c.Print().find("plans: {x: {tokens_per_day: 7}}"), std::string::npos) << c.Print();
}

}  // namespace
}  // namespace inferline::config
