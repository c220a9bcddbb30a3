#include "search.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <numeric>
#include <unordered_map>

#include "error.h"
#include "unicode.h"

namespace kbd {

namespace {

constexpr char32_t kWordStart = 0x2581;  // "▁"
constexpr int32_t kEosId = 3;
constexpr double kNegInf = -std::numeric_limits<double>::infinity();

// exp(x) for the boundary sums, in a loop the compiler vectorises (libm's expf is a call per
// element: a quarter of a keystroke's time; CMakeLists.txt gives this file
// -fno-trapping-math, without which the loop is not vectorised). Cephes' expf: x = k ln2 + r, |r| <= ln2 / 2, a
// degree-6 polynomial for exp(r), 2^k in the exponent bits; relative error under 2e-7.
// Inputs are log-probabilities (<= 0); below -87, exp underflows and counts as 2^-126-ish.
inline float exp_approx(float x) {
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  const float shift = 12582912.0f;  // 1.5 * 2^23: adding it rounds to an integer
  float k = (x * 1.44269504088896341f + shift) - shift;
  float r = x - k * 0.693359375f + k * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  float y = p * r * r + r + 1.0f;
  int32_t bits = (static_cast<int32_t>(k) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, 4);
  return y * scale;
}

// The sum of exp(in[j]) * mask[j] over j < V: exp of the whole row times the boundary mask,
// in 8 float lanes the compiler vectorises, summed in double (the reference sums float32 rows
// too). On x86-64 Linux a second copy is compiled for AVX2 and chosen at load time where the
// CPU has it: one 8-lane register instead of two 4-lane ones, the same operations lane by
// lane (AVX2 without FMA, so no multiply-add is fused), so the same sum to the bit.
#if defined(__x86_64__) && defined(__linux__) && !defined(__ANDROID__)
__attribute__((target_clones("avx2", "default")))
#endif
double boundary_sum(const float* in, const float* mask, size_t V) {
  float lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t j = 0;
  for (; j + 8 <= V; j += 8)
    for (size_t l = 0; l < 8; l++) lane[l] += exp_approx(in[j + l]) * mask[j + l];
  double sum = 0.0;
  for (; j < V; j++) sum += exp_approx(in[j]) * mask[j];
  for (float x : lane) sum += x;
  return sum;
}

// Indices of the n largest of values[0..count), largest first (equal values: lower index
// first).
template <typename T>
std::vector<size_t> top_indices(const T* values, size_t count, size_t n) {
  std::vector<size_t> idx(count);
  std::iota(idx.begin(), idx.end(), 0);
  auto better = [&](size_t a, size_t b) {
    return values[a] > values[b] || (values[a] == values[b] && a < b);
  };
  n = std::min(n, count);
  std::partial_sort(idx.begin(), idx.begin() + n, idx.end(), better);
  idx.resize(n);
  return idx;
}

}  // namespace

PrefixIndex::PrefixIndex(std::vector<std::u32string> keys, const std::vector<int32_t>& ids) {
  std::vector<size_t> order(keys.size());
  std::iota(order.begin(), order.end(), 0);
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return keys[a] != keys[b] ? keys[a] < keys[b] : ids[a] < ids[b];
  });
  keys_.reserve(order.size()), ids_.reserve(order.size());
  for (size_t j : order) keys_.push_back(std::move(keys[j])), ids_.push_back(ids[j]);
}

std::vector<int32_t> PrefixIndex::starting_with(const std::u32string& prefix) const {
  // bisect_left(prefix) .. bisect_left(prefix + U+10FFFF), as pieces.py
  auto lo = std::lower_bound(keys_.begin(), keys_.end(), prefix);
  auto hi = std::lower_bound(lo, keys_.end(), prefix + U'\U0010FFFF');
  return {ids_.begin() + (lo - keys_.begin()), ids_.begin() + (hi - keys_.begin())};
}

std::vector<int32_t> PrefixIndex::exactly(const std::u32string& key) const {
  auto range = std::equal_range(keys_.begin(), keys_.end(), key);
  return {ids_.begin() + (range.first - keys_.begin()),
          ids_.begin() + (range.second - keys_.begin())};
}

std::vector<int32_t> PrefixIndex::covering(const std::u32string& rest) const {
  std::vector<int32_t> out = starting_with(rest);
  for (size_t j = 0; j < rest.size(); j++) {
    std::vector<int32_t> part = exactly(rest.substr(0, j));
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

Pieces piece_tables(const Unigram& tok, const TextRules& rules) {
  const size_t n = tok.size();
  Pieces p;
  p.text.resize(n), p.lower.resize(n), p.boundary.assign(n, 0);
  std::vector<std::u32string> start_keys, cont_keys;
  for (size_t i = 0; i < n; i++) {
    PieceType type = tok.type(static_cast<int>(i));
    bool special = type == kControl || type == kUnknown || type == kByte;
    const std::u32string& piece = tok.piece(static_cast<int>(i));
    bool word_start = !piece.empty() && piece[0] == kWordStart;
    if (special) {
      p.boundary[i] = i == kEosId || type == kByte;
      continue;
    }
    p.text[i] = word_start ? piece.substr(1) : piece;
    const std::u32string& body = p.text[i];
    p.lower[i] = lower(body);
    bool wordish = !body.empty() && std::all_of(body.begin(), body.end(), [&](char32_t ch) {
      return rules.is_alnum(ch) || ch == U'\'';
    });
    if (word_start) {
      p.boundary[i] = 1;
      if (body.empty() || (wordish && rules.is_alnum(body[0]))) {
        p.start_ids.push_back(static_cast<int32_t>(i));
        start_keys.push_back(p.lower[i]);
      }
    } else if (wordish) {
      p.cont_ids.push_back(static_cast<int32_t>(i));
      cont_keys.push_back(p.lower[i]);
    } else {
      p.boundary[i] = 1;  // punctuation and symbols end a word
    }
  }
  for (size_t i = 0; i < n; i++)
    if (p.boundary[i]) p.boundary_ids.push_back(static_cast<int32_t>(i));
  p.start = PrefixIndex(std::move(start_keys), p.start_ids);
  p.cont = PrefixIndex(std::move(cont_keys), p.cont_ids);
  return p;
}

// Words found, their casing variants merged, in the order first found.
struct WordSearch::Finals {
  struct Final {
    std::u32string display;  // the likeliest casing so far
    double logp;             // its log-probability
    double prob;             // total probability of every casing
  };
  std::vector<Final> list;
  std::unordered_map<std::u32string, size_t> at;  // lowercase word -> index in list

  void add(const std::u32string& text, double logp) {
    auto [it, fresh] = at.emplace(lower(text), list.size());
    if (fresh) {
      list.push_back({text, logp, std::exp(logp)});
      return;
    }
    Final& f = list[it->second];
    if (logp > f.logp) f.display = text, f.logp = logp;
    f.prob += std::exp(logp);
  }

  // Log-probability a beam must beat: the k-th best word so far, and never less than
  // min_ratio times the best word or the typed letters as a whole word (`typed`).
  double floor(size_t k, double typed, double min_ratio) const {
    std::vector<double> probs;
    for (const auto& f : list) probs.push_back(f.prob);
    std::sort(probs.begin(), probs.end(), std::greater<double>());
    double best = std::max(probs.empty() ? 0.0 : probs[0], std::exp(typed));
    if (best <= 0.0) return kNegInf;
    double relative = std::log(best * min_ratio);
    return probs.size() >= k ? std::max(std::log(probs[k - 1]), relative) : relative;
  }
};

Words WordSearch::words(const Context& ctx, const std::u32string& partial, size_t k,
                        const Blocked& blocked) {
  const std::u32string want = lower(partial);
  std::vector<Beam> beams = first_beams(ctx, want);
  Finals finals;
  double typed = kNegInf;  // log P(the typed letters are the whole word)
  for (int step = 0; step < decoding_.max_word_pieces && !beams.empty(); step++) {
    Rows rows = step_rows(ctx.serial, beams);
    typed = end_words(beams, rows, want, blocked, &finals, typed);
    double floor = finals.floor(k, typed, decoding_.min_ratio);
    std::vector<size_t> live;  // extending only lowers a score: beams at the floor are done
    for (size_t r = 0; r < beams.size(); r++)
      if (beams[r].score > floor) live.push_back(r);
    if (live.empty()) break;
    std::vector<Beam> next;
    for (const Candidate& cand : candidates(beams, rows, live, want, floor)) {
      std::vector<int32_t> path = beams[cand.row].path;
      path.push_back(cand.piece);
      next.push_back({beams[cand.row].text + pieces_.text[cand.piece], cand.score, cand.piece,
                      rows[cand.row]->state, std::move(path)});
    }
    beams = std::move(next);
  }
  std::vector<size_t> order(finals.list.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return finals.list[a].prob > finals.list[b].prob;
  });
  Words out;
  for (size_t i : order) out.emplace_back(finals.list[i].display, finals.list[i].prob);
  return out;
}

std::vector<WordSearch::Beam> WordSearch::first_beams(const Context& ctx,
                                                      const std::u32string& want) const {
  std::vector<int32_t> first = want.empty() ? pieces_.start_ids : pieces_.start.covering(want);
  std::vector<float> scores;
  for (int32_t id : first) scores.push_back(ctx.logp[id]);
  auto state = std::make_shared<const State>(State{ctx.h, ctx.c});
  std::vector<Beam> beams;
  for (size_t j : top_indices(scores.data(), scores.size(), decoding_.beam_width))
    beams.push_back(
        {pieces_.text[first[j]], static_cast<double>(scores[j]), first[j], state, {first[j]}});
  return beams;
}

WordSearch::Rows WordSearch::step_rows(uint64_t serial, const std::vector<Beam>& beams) {
  // Rows already computed for this context come from the row cache; the others go through
  // the model in one batch (the smallest that holds them; unused rows are zeros).
  Rows rows(beams.size());
  std::vector<size_t> missing;
  for (size_t r = 0; r < beams.size(); r++) {
    auto it = row_at_.find({serial, beams[r].path});
    if (it == row_at_.end()) {
      missing.push_back(r);
      continue;
    }
    rows_.splice(rows_.end(), rows_, it->second);  // recently used: trimmed last
    rows[r] = it->second->second;
  }
  if (missing.empty()) return rows;
  int batch = 0;
  for (int b : model_.batches())
    if (b >= static_cast<int>(missing.size())) {
      batch = b;
      break;
    }
  if (!batch) throw Error(KBD_LM_ERR_INTERNAL, "more beams than the largest batch");
  const size_t P = model_.embed_dim(), N = model_.units(), V = model_.vocab();
  std::vector<int32_t> ids(batch, 0);
  std::vector<float> h(batch * P, 0.0f), c(batch * N, 0.0f);
  for (size_t j = 0; j < missing.size(); j++) {
    const Beam& beam = beams[missing[j]];
    ids[j] = beam.piece;
    std::copy(beam.state->h.begin(), beam.state->h.end(), h.begin() + j * P);
    std::copy(beam.state->c.begin(), beam.state->c.end(), c.begin() + j * N);
  }
  std::vector<float> logp, h2, c2;
  model_.step(batch, ids.data(), h.data(), c.data(), &logp, &h2, &c2);
  for (size_t j = 0; j < missing.size(); j++) {
    auto row = std::make_shared<Row>();
    row->logp.assign(logp.begin() + j * V, logp.begin() + (j + 1) * V);
    row->state = std::make_shared<const State>(
        State{{h2.begin() + j * P, h2.begin() + (j + 1) * P},
              {c2.begin() + j * N, c2.begin() + (j + 1) * N}});
    size_t r = missing[j];
    rows[r] = row;
    RowKey key{serial, beams[r].path};
    auto it = row_at_.find(key);  // (two beams of one step never share a path)
    if (it != row_at_.end()) rows_.erase(it->second), row_at_.erase(it);
    rows_.emplace_back(key, row);
    row_at_[key] = std::prev(rows_.end());
  }
  while (rows_.size() > decoding_.row_cache) {
    row_at_.erase(rows_.front().first);
    rows_.pop_front();
  }
  return rows;
}

double WordSearch::end_words(const std::vector<Beam>& beams, const Rows& rows,
                             const std::u32string& want, const Blocked& blocked,
                             Finals* finals, double typed) const {
  const float min_boundary = static_cast<float>(decoding_.min_boundary_prob);
  for (size_t r = 0; r < beams.size(); r++) {
    const Beam& beam = beams[r];
    if (beam.text.size() < std::max<size_t>(want.size(), 1) || !rules_.is_word(beam.text) ||
        (blocked && blocked(beam.text)))
      continue;
    // P(the word ends here) = sum of the boundary pieces' probabilities (float32, as the
    // reference's einsum over float32 rows)
    const Row& row = *rows[r];
    if (!row.end) {
      // exp of the whole row times the boundary mask, in 8 float lanes the compiler
      // vectorises, summed in double (the reference sums float32 rows too)
      const double sum = boundary_sum(row.logp.data(), boundary_mask_.data(), row.logp.size());
      row.end = std::log(std::max(static_cast<float>(sum), min_boundary));
    }
    double e = beam.score + static_cast<double>(*row.end);
    if (beam.text.size() > want.size())
      finals->add(beam.text, e);
    else
      typed = std::max(typed, e);  // the typed letters: no suggestion
  }
  return typed;
}

std::vector<WordSearch::Candidate> WordSearch::candidates(const std::vector<Beam>& beams,
                                                          const Rows& rows,
                                                          const std::vector<size_t>& live,
                                                          const std::u32string& want,
                                                          double floor) const {
  size_t short_count = 0;
  for (size_t r : live) short_count += beams[r].text.size() < want.size();
  std::vector<Candidate> cand = short_count ? spelling(beams, rows, live, want, floor)
                                            : free(beams, rows, live, floor);
  if (short_count == live.size() && cand.size() > decoding_.covering_width)
    cand.resize(decoding_.covering_width);  // still spelling out the typed letters
  return cand;
}

std::vector<WordSearch::Candidate> WordSearch::spelling(const std::vector<Beam>& beams,
                                                        const Rows& rows,
                                                        const std::vector<size_t>& live,
                                                        const std::u32string& want,
                                                        double floor) const {
  // Per live beam, its best pieces among those consistent with the typed letters (any
  // continuation for beams past them); scores in float32, as the reference's numpy rows.
  const size_t width = decoding_.beam_width;
  std::vector<Candidate> cand;
  for (size_t r : live) {
    std::vector<int32_t> next = pieces_.cont_ids;
    if (beams[r].text.size() < want.size()) {
      std::u32string have = lower(beams[r].text);
      next = pieces_.cont.covering(have.size() < want.size() ? want.substr(have.size()) : U"");
    }
    const float base = static_cast<float>(beams[r].score);
    const float* logp = rows[r]->logp.data();
    std::vector<float> sc;
    for (int32_t id : next) sc.push_back(base + logp[id]);
    for (size_t j : top_indices(sc.data(), sc.size(), width))
      cand.push_back({static_cast<double>(sc[j]), r, next[j]});
  }
  std::sort(cand.begin(), cand.end(), std::greater<Candidate>());
  if (cand.size() > width) cand.resize(width);
  cand.erase(std::remove_if(cand.begin(), cand.end(),
                            [&](const Candidate& c) { return !(c.score > floor); }),
             cand.end());
  return cand;
}

std::vector<WordSearch::Candidate> WordSearch::free(const std::vector<Beam>& beams,
                                                    const Rows& rows,
                                                    const std::vector<size_t>& live,
                                                    double floor) const {
  // All beams are past the typed letters: the W best of [live rows x continuations], in
  // float64. The W best overall are among each row's W best.
  const size_t width = decoding_.beam_width;
  const std::vector<int32_t>& cont = pieces_.cont_ids;
  std::vector<Candidate> pool;
  std::vector<double> sc(cont.size());
  for (size_t r : live) {
    const float* logp = rows[r]->logp.data();
    for (size_t j = 0; j < cont.size(); j++)
      sc[j] = beams[r].score + static_cast<double>(logp[cont[j]]);
    for (size_t j : top_indices(sc.data(), sc.size(), width)) pool.push_back({sc[j], r, cont[j]});
  }
  std::stable_sort(pool.begin(), pool.end(),
                   [](const Candidate& a, const Candidate& b) { return a.score > b.score; });
  std::vector<Candidate> out;
  for (size_t j = 0; j < pool.size() && j < width; j++)
    if (pool[j].score > floor) out.push_back(pool[j]);
  return out;
}

}  // namespace kbd
