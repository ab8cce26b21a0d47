// Header parsing and validation for .safetensors (see safetensors.h for the rules enforced).
#include <algorithm>
#include <bit>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "engine/io/json_util.h"
#include "engine/io/safetensors.h"

namespace inferline::engine {
namespace {

static_assert(std::endian::native == std::endian::little,
              "safetensors data is little-endian and is read in place");

// Headers above this are refused before parsing: real ones are a few MB at most.
constexpr uint64_t kMaxHeaderBytes = uint64_t{100} << 20;
constexpr int64_t kMaxRank = 16;

struct DTypeInfo {
  std::string_view name;
  size_t itemsize;
  bool supported;
  DType dtype;
};

constexpr DTypeInfo kDTypes[] = {
    {"F32", 4, true, DType::kF32},    {"F16", 2, true, DType::kF16},
    {"BF16", 2, true, DType::kBF16},  {"F64", 8, false, DType::kF32},
    {"I64", 8, false, DType::kF32},   {"U64", 8, false, DType::kF32},
    {"I32", 4, false, DType::kF32},   {"U32", 4, false, DType::kF32},
    {"I16", 2, false, DType::kF32},   {"U16", 2, false, DType::kF32},
    {"I8", 1, false, DType::kF32},    {"U8", 1, false, DType::kF32},
    {"BOOL", 1, false, DType::kF32},  {"F8_E4M3", 1, false, DType::kF32},
    {"F8_E5M2", 1, false, DType::kF32},
};

const DTypeInfo* FindDType(std::string_view name) {
  for (const auto& d : kDTypes) {
    if (d.name == name) return &d;
  }
  return nullptr;
}

// Boost.JSON keeps the last of duplicate keys silently, so top-level keys are scanned here.
// `text` is already known to be valid JSON whose top level is an object.
Status CheckDuplicateKeys(std::string_view text, std::string_view what) {
  std::set<std::string, std::less<>> seen;
  size_t i = 0;
  int depth = 0;
  bool expect_key = false;
  while (i < text.size()) {
    const char c = text[i];
    if (c == '"') {
      size_t j = i + 1;
      while (j < text.size() && text[j] != '"') j += (text[j] == '\\') ? 2 : 1;
      if (depth == 1 && expect_key) {
        auto key = json::Parse(text.substr(i, j + 1 - i), what);
        if (key.ok() && key->is_string()) {
          std::string k(key->get_string());
          if (!seen.insert(k).second) {
            return DataLoss(fmt::format("{}: tensor '{}' is listed twice in the header", what, k));
          }
        }
        expect_key = false;
      }
      i = j + 1;
      continue;
    }
    if (c == '{' || c == '[') {
      ++depth;
      expect_key = (c == '{' && depth == 1);
    } else if (c == '}' || c == ']') {
      --depth;
    } else if (c == ',' && depth == 1) {
      expect_key = true;
    }
    ++i;
  }
  return Status::Ok();
}

// Multiplies the dims of `shape` into `*numel`; false on overflow of int64.
bool CheckedNumel(std::span<const int64_t> shape, int64_t* numel) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d != 0 && n > INT64_MAX / d) return false;
    n *= d;
  }
  *numel = n;
  return true;
}

Result<WeightFile::Entry> ParseEntry(const std::string& name, const boost::json::value& v,
                                     std::span<const std::byte> data, std::string_view what) {
  auto fail = [&](std::string_view why) {
    return DataLoss(fmt::format("{}: tensor '{}': {}", what, name, why));
  };
  const auto* obj = v.if_object();
  if (obj == nullptr) return fail("entry is not a JSON object");
  const auto* dtype_v = obj->if_contains("dtype");
  if (dtype_v == nullptr || !dtype_v->is_string()) return fail("'dtype' missing or not a string");
  const std::string dtype_name(dtype_v->get_string());
  const DTypeInfo* info = FindDType(dtype_name);
  if (info == nullptr) return fail(fmt::format("unknown dtype '{}'", dtype_name));

  const auto* shape_v = obj->if_contains("shape");
  if (shape_v == nullptr || !shape_v->is_array()) return fail("'shape' missing or not an array");
  std::vector<int64_t> shape;
  if (static_cast<int64_t>(shape_v->get_array().size()) > kMaxRank) {
    return fail(fmt::format("rank {} is more than {}", shape_v->get_array().size(), kMaxRank));
  }
  for (const auto& d : shape_v->get_array()) {
    auto dim = json::AsInt(d);
    if (!dim || *dim < 0) return fail("'shape' must hold non-negative integers");
    shape.push_back(*dim);
  }

  const auto* off_v = obj->if_contains("data_offsets");
  if (off_v == nullptr || !off_v->is_array() || off_v->get_array().size() != 2) {
    return fail("'data_offsets' must be an array of two integers");
  }
  auto begin = json::AsInt(off_v->get_array()[0]);
  auto end = json::AsInt(off_v->get_array()[1]);
  if (!begin || !end || *begin < 0 || *end < 0) {
    return fail("'data_offsets' must be non-negative integers");
  }
  if (*begin > *end) return fail(fmt::format("data_offsets begin {} > end {}", *begin, *end));
  if (static_cast<uint64_t>(*end) > data.size()) {
    return fail(fmt::format("data_offsets end {} is past the {} bytes of data", *end,
                            data.size()));
  }
  int64_t numel = 0;
  if (!CheckedNumel(shape, &numel) ||
      numel > INT64_MAX / static_cast<int64_t>(info->itemsize)) {
    return fail(fmt::format("shape {} is too large", ShapeToString(shape)));
  }
  const int64_t expected = numel * static_cast<int64_t>(info->itemsize);
  if (expected != *end - *begin) {
    return fail(fmt::format("shape {} of {} needs {} bytes but data_offsets span {}",
                            ShapeToString(shape), dtype_name, expected, *end - *begin));
  }
  WeightFile::Entry e;
  e.file = std::string(what);
  e.view.name = name;
  e.view.dtype = info->dtype;
  e.view.shape = std::move(shape);
  e.view.data = data.data() + *begin;
  e.view.nbytes = static_cast<size_t>(expected);
  if (!info->supported) e.unsupported_dtype = dtype_name;
  return e;
}

Status ReadMetadata(const boost::json::value& v, std::string_view what,
                    std::map<std::string, std::string>* metadata) {
  const auto* obj = v.if_object();
  if (obj == nullptr) return DataLoss(fmt::format("{}: '__metadata__' is not an object", what));
  if (metadata == nullptr) return Status::Ok();
  for (const auto& kv : *obj) {
    if (const auto* s = kv.value().if_string()) {
      (*metadata)[std::string(kv.key())] = std::string(*s);
    }
  }
  return Status::Ok();
}

}  // namespace

Result<std::vector<WeightFile::Entry>> ParseSafetensors(
    std::span<const std::byte> bytes, std::string_view what,
    std::map<std::string, std::string>* metadata) {
  if (bytes.size() < 8) {
    return DataLoss(fmt::format("{}: {} bytes is too small for a safetensors file (needs an "
                                "8-byte header length)",
                                what, bytes.size()));
  }
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | static_cast<uint8_t>(bytes[i]);
  if (n > kMaxHeaderBytes) {
    return DataLoss(fmt::format("{}: header length {} is absurdly large", what, n));
  }
  if (n > bytes.size() - 8) {
    return DataLoss(fmt::format("{}: header length {} runs past the end of the {}-byte file",
                                what, n, bytes.size()));
  }
  const std::string_view header(reinterpret_cast<const char*>(bytes.data() + 8), n);
  const std::span<const std::byte> data = bytes.subspan(8 + n);

  boost::system::error_code ec;
  boost::json::value root = boost::json::parse(header, ec);
  if (ec) return DataLoss(fmt::format("{}: header is not valid JSON: {}", what, ec.message()));
  const auto* obj = root.if_object();
  if (obj == nullptr) return DataLoss(fmt::format("{}: header is not a JSON object", what));
  RETURN_IF_ERROR(CheckDuplicateKeys(header, what));

  std::vector<WeightFile::Entry> entries;
  entries.reserve(obj->size());
  for (const auto& kv : *obj) {
    std::string name(kv.key());
    if (name == "__metadata__") {
      RETURN_IF_ERROR(ReadMetadata(kv.value(), what, metadata));
      continue;
    }
    ASSIGN_OR_RETURN(auto entry, ParseEntry(name, kv.value(), data, what));
    entries.push_back(std::move(entry));
  }

  // Overlap check: sort by begin; each non-empty tensor must start at or after the last end.
  std::vector<const WeightFile::Entry*> order;
  for (const auto& e : entries) {
    if (e.view.nbytes > 0) order.push_back(&e);
  }
  std::sort(order.begin(), order.end(),
            [](const auto* a, const auto* b) { return a->view.data < b->view.data; });
  for (size_t i = 1; i < order.size(); ++i) {
    const auto* prev = order[i - 1];
    if (order[i]->view.data < prev->view.data + prev->view.nbytes) {
      return DataLoss(fmt::format("{}: tensor '{}' overlaps tensor '{}'", what,
                                  order[i]->view.name, prev->view.name));
    }
  }
  return entries;
}

std::string_view DTypeName(DType dtype) {
  switch (dtype) {
    case DType::kF32: return "F32";
    case DType::kF16: return "F16";
    case DType::kBF16: return "BF16";
  }
  return "?";
}

size_t DTypeSize(DType dtype) { return dtype == DType::kF32 ? 4 : 2; }

int64_t TensorView::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string ShapeToString(std::span<const int64_t> shape) {
  return fmt::format("[{}]", fmt::join(shape, ", "));
}

void ConvertToF32(const TensorView& t, std::span<float> out) {
  // A size mismatch is a caller bug, not bad input: fail loudly.
  if (static_cast<int64_t>(out.size()) != t.numel() ||
      out.size() * DTypeSize(t.dtype) != t.nbytes) {
    std::fprintf(stderr, "ConvertToF32(%s): out has %zu floats, tensor has %lld\n",
                 t.name.c_str(), out.size(), static_cast<long long>(t.numel()));
    std::abort();
  }
  if (t.nbytes == 0) return;
  switch (t.dtype) {
    case DType::kF32:
      std::memcpy(out.data(), t.data, t.nbytes);
      break;
    case DType::kF16:
      for (size_t i = 0; i < out.size(); ++i) {
        uint16_t h;
        std::memcpy(&h, t.data + 2 * i, 2);
        out[i] = HalfToFloat(h);
      }
      break;
    case DType::kBF16:
      for (size_t i = 0; i < out.size(); ++i) {
        uint16_t h;
        std::memcpy(&h, t.data + 2 * i, 2);
        out[i] = BF16ToFloat(h);
      }
      break;
  }
}

}  // namespace inferline::engine
