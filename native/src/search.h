// The word search of docs/decoding.md sections 5 and 6 (kbd_lm/inference/pieces.py and
// search.py): whole words assembled from the model's pieces by a beam search, completions
// constrained by the typed letters.
//
//   Pieces pieces = piece_tables(tokenizer, rules);
//   WordSearch search(pieces, model, decoding, rules);
//   search.words(context, U"tom", 2, nullptr)   // {{U"tomorrow", 0.41}, {U"Tom", 0.05}}
#pragma once

#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "bundle.h"
#include "model.h"
#include "text.h"
#include "tokenizer.h"

namespace kbd {

// Piece ids by their lowercase text, sorted by (text, id), for prefix and exact look-ups.
class PrefixIndex {
 public:
  PrefixIndex() = default;
  PrefixIndex(std::vector<std::u32string> keys, const std::vector<int32_t>& ids);
  std::vector<int32_t> starting_with(const std::u32string& prefix) const;
  std::vector<int32_t> exactly(const std::u32string& key) const;
  // pieces that spell all of `rest` (and maybe more), then those that spell a first part of
  // it, shortest first ("" = the bare "▁")
  std::vector<int32_t> covering(const std::u32string& rest) const;

 private:
  std::vector<std::u32string> keys_;
  std::vector<int32_t> ids_;
};

struct Pieces {
  std::vector<std::u32string> text;   // surface text without the leading "▁"
  std::vector<std::u32string> lower;  // its lowercase
  std::vector<uint8_t> boundary;      // ends the word before it
  std::vector<int32_t> start_ids;     // word starts (a word, or the bare "▁"), ascending
  std::vector<int32_t> cont_ids;      // word continuations, ascending
  std::vector<int32_t> boundary_ids;  // boundaries, ascending
  PrefixIndex start, cont;
};

Pieces piece_tables(const Unigram& tok, const TextRules& rules);

// The model's output after a context: where a search starts.
struct Context {
  std::vector<float> logp;  // [V]
  std::vector<float> h, c;  // [P], [N]
  uint64_t serial = 0;      // tells contexts apart in the row cache
};

using Blocked = std::function<bool(const std::u32string&)>;
using Words = std::vector<std::pair<std::u32string, double>>;  // (display, probability)

class WordSearch {
 public:
  WordSearch(const Pieces& pieces, Model& model, const Decoding& decoding,
             const TextRules& rules)
      : pieces_(pieces), model_(model), decoding_(decoding), rules_(rules),
        boundary_mask_(pieces.boundary.begin(), pieces.boundary.end()) {}

  // Every word found longer than `partial` that starts with it (any case), best first, case
  // variants merged. blocked(word) true: the word is not a result (nor counts for the k best).
  // Keeps the model's rows of recent searches (decoding.row_cache): the next letter of a word
  // mostly revisits the paths of the last one. The cache changes no result, only the time.
  Words words(const Context& ctx, const std::u32string& partial, size_t k,
              const Blocked& blocked);
  void clear_rows() { rows_.clear(), row_at_.clear(); }

 private:
  struct State {
    std::vector<float> h, c;
  };
  struct Beam {
    std::u32string text;  // the word so far, in the model's casing
    double score;         // log-probability of its pieces
    int32_t piece;        // its last piece: the next model input
    std::shared_ptr<const State> state;  // before `piece` is read
    std::vector<int32_t> path;           // the word's pieces so far, `piece` last
  };
  struct Row {  // the model's output after a beam's path
    std::vector<float> logp;  // [V]
    std::shared_ptr<const State> state;
    // log P(a boundary next), computed when first needed and kept with the row
    mutable std::optional<float> end;
  };
  using Rows = std::vector<std::shared_ptr<const Row>>;  // one per beam
  using RowKey = std::pair<uint64_t, std::vector<int32_t>>;  // (context serial, path)
  struct Candidate {
    double score;
    size_t row;
    int32_t piece;
    bool operator>(const Candidate& o) const {
      if (score != o.score) return score > o.score;
      if (row != o.row) return row > o.row;
      return piece > o.piece;
    }
  };
  struct Finals;

  std::vector<Beam> first_beams(const Context& ctx, const std::u32string& want) const;
  Rows step_rows(uint64_t serial, const std::vector<Beam>& beams);
  double end_words(const std::vector<Beam>& beams, const Rows& rows, const std::u32string& want,
                   const Blocked& blocked, Finals* finals, double typed) const;
  std::vector<Candidate> candidates(const std::vector<Beam>& beams, const Rows& rows,
                                    const std::vector<size_t>& live, const std::u32string& want,
                                    double floor) const;
  std::vector<Candidate> spelling(const std::vector<Beam>& beams, const Rows& rows,
                                  const std::vector<size_t>& live, const std::u32string& want,
                                  double floor) const;
  std::vector<Candidate> free(const std::vector<Beam>& beams, const Rows& rows,
                              const std::vector<size_t>& live, double floor) const;

  const Pieces& pieces_;
  Model& model_;
  const Decoding& decoding_;
  const TextRules& rules_;
  std::vector<float> boundary_mask_;  // [V]: 1 for a boundary piece, else 0
  // the row cache, least recently used first
  std::list<std::pair<RowKey, std::shared_ptr<const Row>>> rows_;
  std::map<RowKey, std::list<std::pair<RowKey, std::shared_ptr<const Row>>>::iterator> row_at_;
};

}  // namespace kbd
