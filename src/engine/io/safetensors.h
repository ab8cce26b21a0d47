// Model weights from Hugging Face .safetensors files, memory-mapped and validated.
//
// Format: an 8-byte little-endian u64 header length N, N bytes of JSON mapping each tensor name
// to {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the first byte after
// the header) plus an optional "__metadata__" object, then the raw little-endian data.
//
// Every header is checked before any tensor is handed out: a bad length, non-JSON, a wrong
// field type, an unknown dtype, a size that does not match the shape, offsets outside the data
// or overlapping another tensor, and duplicate names are all refused with an error that names
// the tensor and the file. Tensors of dtypes the engine cannot compute with (I64, F64, ...) are
// accepted in the file but Get() reports them as Unimplemented.
//
// TensorView::data points into the mapping and is NOT aligned (the header length is arbitrary):
// read it with memcpy or ConvertToF32, never by casting to float*.
//
// Thread-safety: a WeightFile is immutable once opened; all const methods may be called from any
// thread. TensorViews stay valid for the life of the WeightFile.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "engine/io/half.h"
#include "engine/io/mapped_file.h"

namespace inferline::engine {

enum class DType { kF32, kF16, kBF16 };

std::string_view DTypeName(DType dtype);
size_t DTypeSize(DType dtype);

struct TensorView {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  const std::byte* data = nullptr;  // little-endian raw data inside the mapping; unaligned
  size_t nbytes = 0;

  int64_t numel() const;
};

// "[2, 3]"; used in error messages.
std::string ShapeToString(std::span<const int64_t> shape);

class WeightFile {
 public:
  // `dir`/model.safetensors, or `dir`/model.safetensors.index.json and the shards it names.
  [[nodiscard]] static Result<std::unique_ptr<WeightFile>> OpenFolder(
      const std::filesystem::path& dir);
  [[nodiscard]] static Result<std::unique_ptr<WeightFile>> OpenFile(
      const std::filesystem::path& file);
  // Same validation on an in-memory file; the bytes are copied.
  [[nodiscard]] static Result<std::unique_ptr<WeightFile>> FromBuffer(
      std::span<const std::byte> bytes);

  bool Has(std::string_view name) const;
  // NotFound naming the tensor when absent; Unimplemented for an unsupported dtype.
  [[nodiscard]] Result<TensorView> Get(std::string_view name) const;
  // As Get, and InvalidArgument naming the tensor, the expected and the actual shape.
  [[nodiscard]] Result<TensorView> Get(std::string_view name,
                                       std::span<const int64_t> shape) const;
  // Sorted names of every tensor, supported dtype or not.
  std::vector<std::string> Names() const;
  // Free-form "__metadata__" strings of the (first) file.
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  // One tensor as described by a header; public for the parser.
  struct Entry {
    TensorView view;           // valid when unsupported_dtype is empty
    std::string unsupported_dtype;  // e.g. "I64"
    std::string file;          // file name, for errors
  };

 private:
  WeightFile() = default;
  // Parses and validates one file's bytes and adds its tensors; `what` names it in errors.
  [[nodiscard]] Status AddSource(std::unique_ptr<ByteSource> source, std::string what);
  [[nodiscard]] static Result<std::unique_ptr<WeightFile>> OpenSharded(
      const std::filesystem::path& index_path);

  std::vector<std::unique_ptr<ByteSource>> sources_;
  std::map<std::string, Entry, std::less<>> tensors_;
  std::map<std::string, std::string> metadata_;
};

// Parses a safetensors buffer into entries (views point into `bytes`), validating everything
// described in this header's comment. `what` names the file in errors.
[[nodiscard]] Result<std::vector<WeightFile::Entry>> ParseSafetensors(
    std::span<const std::byte> bytes, std::string_view what,
    std::map<std::string, std::string>* metadata);

// F32/F16/BF16 -> f32. `out.size()` must equal t.numel() (checked: a mismatch is a bug).
void ConvertToF32(const TensorView& t, std::span<float> out);

}  // namespace inferline::engine
