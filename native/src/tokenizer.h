// sentencepiece's unigram encoder over the bundle's tokenizer.json (docs/decoding.md
// section 3), as the browser's tokenizer.js: a Viterbi over the pieces' float32 scores, the
// first best path winning, unknown characters falling back to their UTF-8 byte pieces.
//
//   Unigram tok(tokenizer_json, "tokenizer.json");
//   tok.encode(U"see you")   // {389, 277}: no BOS/EOS
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace kbd {

// sentencepiece's piece types (ModelProto.SentencePiece.Type)
enum PieceType : uint8_t {
  kNormal = 1,
  kUnknown = 2,
  kControl = 3,
  kUserDefined = 4,
  kUnused = 5,
  kByte = 6,
};

class Unigram {
 public:
  Unigram(const nlohmann::json& doc, const std::string& source);

  std::vector<int32_t> encode(const std::u32string& text) const;  // normalised text
  size_t size() const { return pieces_.size(); }
  const std::u32string& piece(int id) const { return pieces_[id]; }
  PieceType type(int id) const { return types_[id]; }
  const std::map<std::string, int>& hints() const { return hints_; }

 private:
  void insert(const std::u32string& text, int32_t id);

  std::vector<std::u32string> pieces_;
  std::vector<PieceType> types_;
  std::vector<float> scores_;
  // The normal pieces as a trie: (node << 21 | code point) -> child node; node 0 is the root.
  // node_piece_[node]: the piece spelled from the root to it, or -1.
  std::unordered_map<uint64_t, int32_t> children_;
  std::vector<int32_t> node_piece_;
  int32_t byte_ids_[256];
  size_t max_len_ = 1;
  float unk_score_ = 0;
  int unk_id_ = 1;
  std::map<std::string, int> hints_;
};

}  // namespace kbd
