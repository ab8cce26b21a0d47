#include "engine/io/safetensors.h"

#include <unistd.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace inferline::engine {
namespace {

using ::testing::HasSubstr;

// Builds a safetensors file: a raw header string (so tests can corrupt it) plus data bytes.
std::vector<std::byte> BuildFile(const std::string& header, const std::vector<uint8_t>& data,
                                 uint64_t header_len_override = 0) {
  const uint64_t n = header_len_override ? header_len_override : header.size();
  std::vector<std::byte> out(8);
  for (int i = 0; i < 8; ++i) out[i] = static_cast<std::byte>((n >> (8 * i)) & 0xFF);
  for (char c : header) out.push_back(static_cast<std::byte>(c));
  for (uint8_t b : data) out.push_back(static_cast<std::byte>(b));
  return out;
}

std::vector<uint8_t> F32Bytes(std::initializer_list<float> values) {
  std::vector<uint8_t> out(values.size() * 4);
  std::memcpy(out.data(), values.begin(), out.size());
  return out;
}

class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = std::filesystem::temp_directory_path() /
            fmt::format("inferline_st_{}_{}", getpid(), counter++);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  const std::filesystem::path& path() const { return path_; }
  void Write(const std::string& name, const std::vector<std::byte>& bytes) const {
    std::ofstream(path_ / name, std::ios::binary)
        .write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  }
  void WriteText(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name) << text;
  }

 private:
  std::filesystem::path path_;
};

Status OpenError(const std::string& header, const std::vector<uint8_t>& data) {
  auto wf = WeightFile::FromBuffer(BuildFile(header, data));
  EXPECT_FALSE(wf.ok()) << header;
  return wf.ok() ? Status::Ok() : wf.status();
}

TEST(SafetensorsTest, ReadsF32F16BF16) {
  std::vector<uint8_t> data = F32Bytes({1.0f, -2.5f, 3.0f, 0.5f});
  const uint16_t f16[] = {0x3C00, 0xC100};  // 1, -2.5
  const uint16_t bf16[] = {0x3F80, 0x4040, 0xBF00};  // 1, 3, -0.5
  data.insert(data.end(), reinterpret_cast<const uint8_t*>(f16),
              reinterpret_cast<const uint8_t*>(f16) + 4);
  data.insert(data.end(), reinterpret_cast<const uint8_t*>(bf16),
              reinterpret_cast<const uint8_t*>(bf16) + 6);
  const std::string header =
      R"({"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[2,2],"data_offsets":[0,16]},)"
      R"("b":{"dtype":"F16","shape":[2],"data_offsets":[16,20]},)"
      R"("c":{"dtype":"BF16","shape":[3],"data_offsets":[20,26]},)"
      R"("empty":{"dtype":"F32","shape":[0,4],"data_offsets":[26,26]}})";
  auto wf = WeightFile::FromBuffer(BuildFile(header, data));
  ASSERT_TRUE(wf.ok()) << wf.status().ToString();
  EXPECT_THAT((*wf)->Names(), ::testing::ElementsAre("a", "b", "c", "empty"));
  EXPECT_EQ((*wf)->metadata().at("format"), "pt");
  EXPECT_TRUE((*wf)->Has("a"));
  EXPECT_FALSE((*wf)->Has("__metadata__"));

  const int64_t shape_a[] = {2, 2};
  auto a = (*wf)->Get("a", shape_a);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  EXPECT_EQ(a->numel(), 4);
  std::vector<float> out(4);
  ConvertToF32(*a, out);
  EXPECT_THAT(out, ::testing::ElementsAre(1.0f, -2.5f, 3.0f, 0.5f));

  auto b = (*wf)->Get("b");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->dtype, DType::kF16);
  out.resize(2);
  ConvertToF32(*b, out);
  EXPECT_THAT(out, ::testing::ElementsAre(1.0f, -2.5f));

  auto c = (*wf)->Get("c");
  ASSERT_TRUE(c.ok());
  out.resize(3);
  ConvertToF32(*c, out);
  EXPECT_THAT(out, ::testing::ElementsAre(1.0f, 3.0f, -0.5f));

  auto e = (*wf)->Get("empty");
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->numel(), 0);
  out.clear();
  ConvertToF32(*e, out);
}

TEST(SafetensorsTest, GetReportsMissingAndWrongShape) {
  auto wf = WeightFile::FromBuffer(BuildFile(
      R"({"w":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}})", std::vector<uint8_t>(24)));
  ASSERT_TRUE(wf.ok());
  auto missing = (*wf)->Get("nope");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_THAT(missing.status().message(), HasSubstr("'nope'"));
  const int64_t want[] = {3, 2};
  auto wrong = (*wf)->Get("w", want);
  EXPECT_EQ(wrong.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(wrong.status().message(), HasSubstr("'w' has shape [2, 3], expected [3, 2]"));
}

TEST(SafetensorsTest, UnsupportedDtypeIsListedButNotServed) {
  auto wf = WeightFile::FromBuffer(BuildFile(
      R"({"ids":{"dtype":"I64","shape":[2],"data_offsets":[0,16]}})", std::vector<uint8_t>(16)));
  ASSERT_TRUE(wf.ok()) << wf.status().ToString();
  EXPECT_TRUE((*wf)->Has("ids"));
  auto t = (*wf)->Get("ids");
  EXPECT_EQ(t.status().code(), StatusCode::kUnimplemented);
  EXPECT_THAT(t.status().message(), HasSubstr("'ids' has dtype I64"));
}

struct BadCase {
  const char* label;
  std::string header;
  size_t data_bytes;
  const char* expect;  // substring of the error
};

TEST(SafetensorsTest, MalformedHeadersAreRefusedWithTheTensorNamed) {
  const std::vector<BadCase> cases = {
      {"not json", "{\"a\": ", 0, "not valid JSON"},
      {"not object", "[1,2]", 0, "not a JSON object"},
      {"entry not object", R"({"w": 5})", 0, "'w': entry is not a JSON object"},
      {"unknown dtype", R"({"w":{"dtype":"Q4","shape":[1],"data_offsets":[0,4]}})", 4,
       "'w': unknown dtype 'Q4'"},
      {"missing dtype", R"({"w":{"shape":[1],"data_offsets":[0,4]}})", 4, "'w': 'dtype'"},
      {"shape not array", R"({"w":{"dtype":"F32","shape":4,"data_offsets":[0,4]}})", 4,
       "'w': 'shape'"},
      {"negative dim", R"({"w":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4,
       "'w': 'shape'"},
      {"size mismatch", R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", 8,
       "'w': shape [2] of F32 needs 8 bytes but data_offsets span 4"},
      {"overflowing shape",
       R"({"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})", 4,
       "'w': shape [4294967296, 4294967296] is too large"},
      {"overflow by itemsize",
       R"({"w":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,4]}})", 4,
       "'w': shape"},
      {"end past data", R"({"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 4,
       "'w': data_offsets end 8 is past the 4 bytes"},
      {"begin > end", R"({"w":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}})", 8,
       "'w': data_offsets begin 8 > end 4"},
      {"offsets wrong arity", R"({"w":{"dtype":"F32","shape":[1],"data_offsets":[0]}})", 4,
       "'w': 'data_offsets'"},
      {"offsets not ints", R"({"w":{"dtype":"F32","shape":[1],"data_offsets":["0",4]}})", 4,
       "'w': 'data_offsets'"},
      {"overlap",
       R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
       R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
       12, "tensor 'b' overlaps tensor 'a'"},
      {"duplicate",
       R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
       R"("a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})",
       8, "tensor 'a' is listed twice"},
      {"metadata not object", R"({"__metadata__":3})", 0, "'__metadata__' is not an object"},
  };
  for (const auto& c : cases) {
    Status st = OpenError(c.header, std::vector<uint8_t>(c.data_bytes));
    EXPECT_EQ(st.code(), StatusCode::kDataLoss) << c.label;
    EXPECT_THAT(st.message(), HasSubstr(c.expect)) << c.label << ": " << st.message();
  }
}

TEST(SafetensorsTest, BadHeaderLengths) {
  auto tiny = WeightFile::FromBuffer(std::vector<std::byte>(5));
  EXPECT_THAT(tiny.status().message(), HasSubstr("too small"));
  auto past_end = WeightFile::FromBuffer(BuildFile("{}", {}, 100));
  EXPECT_THAT(past_end.status().message(), HasSubstr("past the end"));
  auto huge = WeightFile::FromBuffer(BuildFile("{}", {}, uint64_t{1} << 60));
  EXPECT_THAT(huge.status().message(), HasSubstr("absurdly large"));
}

TEST(SafetensorsTest, OpensFileAndFolder) {
  TempDir dir;
  dir.Write("model.safetensors",
            BuildFile(R"({"x":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                      F32Bytes({7.0f})));
  auto wf = WeightFile::OpenFolder(dir.path());
  ASSERT_TRUE(wf.ok()) << wf.status().ToString();
  auto x = (*wf)->Get("x");
  ASSERT_TRUE(x.ok());
  float v;
  ConvertToF32(*x, std::span<float>(&v, 1));
  EXPECT_EQ(v, 7.0f);

  TempDir empty;
  EXPECT_EQ(WeightFile::OpenFolder(empty.path()).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(WeightFile::OpenFile(empty.path() / "missing.safetensors").status().code(),
            StatusCode::kNotFound);
}

TEST(SafetensorsTest, ShardedIndex) {
  TempDir dir;
  dir.Write("s1.safetensors",
            BuildFile(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                      F32Bytes({1.0f})));
  dir.Write("s2.safetensors",
            BuildFile(R"({"b":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                      F32Bytes({2.0f, 3.0f})));
  dir.WriteText("model.safetensors.index.json",
                R"({"metadata":{},"weight_map":{"a":"s1.safetensors","b":"s2.safetensors"}})");
  auto wf = WeightFile::OpenFolder(dir.path());
  ASSERT_TRUE(wf.ok()) << wf.status().ToString();
  EXPECT_THAT((*wf)->Names(), ::testing::ElementsAre("a", "b"));
  auto b = (*wf)->Get("b");
  ASSERT_TRUE(b.ok());
  std::vector<float> out(2);
  ConvertToF32(*b, out);
  EXPECT_THAT(out, ::testing::ElementsAre(2.0f, 3.0f));
}

TEST(SafetensorsTest, ShardedIndexErrors) {
  TempDir dir;
  dir.Write("s1.safetensors",
            BuildFile(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                      F32Bytes({1.0f})));
  auto open_with = [&](const std::string& index) {
    dir.WriteText("model.safetensors.index.json", index);
    return WeightFile::OpenFolder(dir.path()).status();
  };
  Status missing_shard = open_with(R"({"weight_map":{"a":"s1.safetensors","z":"gone.safetensors"}})");
  EXPECT_THAT(missing_shard.message(), HasSubstr("gone.safetensors (holding tensor 'z')"));
  Status missing_tensor = open_with(R"({"weight_map":{"a":"s1.safetensors","q":"s1.safetensors"}})");
  EXPECT_THAT(missing_tensor.message(), HasSubstr("tensor 'q' is not in its shard s1.safetensors"));
  Status escape = open_with(R"({"weight_map":{"a":"../s1.safetensors"}})");
  EXPECT_THAT(escape.message(), HasSubstr("'a' maps to an invalid shard"));
  Status no_map = open_with(R"({"metadata":{}})");
  EXPECT_THAT(no_map.message(), HasSubstr("'weight_map'"));
  Status not_json = open_with("nope");
  EXPECT_THAT(not_json.message(), HasSubstr("not valid JSON"));

  dir.Write("s2.safetensors",
            BuildFile(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})",
                      F32Bytes({1.0f})));
  Status dup = open_with(R"({"weight_map":{"a":"s1.safetensors","b":"s2.safetensors"}})");
  EXPECT_THAT(dup.message(), HasSubstr("tensor 'a' appears in both"));
}

}  // namespace
}  // namespace inferline::engine
