// A bundle folder as the native decoder reads it (docs/bundle.md): manifest.json of format 3
// or 4, every file it lists checked against its size and sha256, files found by role.
//
//   Bundle b = Bundle::load("dist/bundle");   // throws kbd::Error (KBD_LM_ERR_BUNDLE)
//   b.path_of("model")                        // "dist/bundle/model.tflite"
//   b.decoding.beam_width                     // 8
#pragma once

#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace kbd {

// The manifest's "decoding" (docs/decoding.md section 0; kbd_lm/inference/decoding.py).
struct Decoding {
  int beam_width = 0;
  std::vector<int> batch_sizes;
  size_t max_context_chars = 0;
  size_t context_stride = 0;
  size_t max_context_tokens = 0;
  size_t short_context_tokens = 0;
  int max_word_pieces = 0;
  double min_ratio = 0;
  size_t covering_width = 0;
  double min_boundary_prob = 0;
  size_t context_cache = 0;
  size_t row_cache = 0;
  std::vector<std::string> field_hints;
};

struct FileEntry {
  std::string name;
  std::string role;
  uint64_t bytes = 0;
  std::string sha256;
  bool shipped = false;
};

struct Bundle {
  std::string dir;
  nlohmann::json manifest;
  std::vector<FileEntry> files;
  Decoding decoding;
  int embed_dim = 0, units = 0, vocab_size = 0;  // P, N, V of the model's signatures
  std::map<std::string, int> hints;              // tokenizer.hints: name -> control id

  static Bundle load(const std::string& dir);
  // the path of the file with this role; "" when the manifest lists none
  std::string path_of(const std::string& role) const;
};

// The format versions this decoder reads: 3 up to kbd_lm/inference/bundle.py's FORMAT_VERSION.
// Format 4 adds only the file role "typing" (typing.json, the typing channel of correction,
// read by typing.h).
constexpr int kMinBundleFormatVersion = 3;
constexpr int kBundleFormatVersion = 4;
// The LiteRT version the library is built for (CMake checks the wheel): a bundle whose
// min_runtime_version is newer is refused.
constexpr const char* kRuntimeVersion = "2.3.0";

}  // namespace kbd
