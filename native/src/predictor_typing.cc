// Predictor::suggest and the typing correction's priors (docs/decoding.md 9 and 11):
// kbd_lm/inference/predictor.py's suggest, _corrected and next_word_logprobs, following
// serve/static/kbd/predictor.js and wordprob.js.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "error.h"
#include "predictor.h"
#include "unicode.h"

namespace kbd {

namespace {

constexpr double kNeg = -std::numeric_limits<double>::infinity();
// With correction on: the completions of the typed letters that corrections compete with
// (kbd_lm/inference/predictor.py's CORRECTION_CANDIDATES).
constexpr size_t kCorrectionCandidates = 8;

// log of the sum of exp over `values` (-inf for none), max-shifted as numpy's
double logsumexp(const std::vector<double>& values) {
  double m = kNeg;
  for (double v : values) m = std::max(m, v);
  if (m == kNeg) return m;
  double s = 0;
  for (double v : values) s += std::exp(v - m);
  return m + std::log(s);
}

}  // namespace

std::vector<Suggested> Predictor::suggest(const std::u32string& text, int k, const char* hint,
                                          const History* history, const TypingOptions& typing) {
  const int hint_ = hint_id(hint);  // (checked even for k = 0)
  const bool correct = typing.correct && typing_ != nullptr;
  if (correct) typing_->layout(typing.layout);  // so is the layout
  if (k <= 0) return {};
  const size_t n = correct ? std::max<size_t>(k, kCorrectionCandidates) : k;
  std::u32string context, partial;
  Words words = ranked_words(text, n, hint_, history, &context, &partial);
  if (correct && lexicon_ && correctable(*rules_, text, partial)) {
    if (!corrections_) corrections_ = std::make_unique<Corrections>(*lexicon_);
    CorrectionRequest req;
    req.exact = &words;
    req.prior = [&](const std::vector<std::u32string>& ws) { return priors(context, ws, hint_); };
    req.k = static_cast<size_t>(k);
    req.layout = &typing_->layout(typing.layout);
    req.taps = typing.taps;
    if (blocklist_.enabled)
      req.blocked = [&](const std::u32string& w) { return blocklist_.blocks(w, context, *rules_); };
    // a word the history learned is never autocorrected (the user undid its correction)
    req.learned = history && history->knows(lower(partial));
    return corrections_->suggest(partial, req, *typing_);
  }
  const bool at_start = rules_->at_sentence_start(context);
  std::vector<Suggested> out;
  for (auto& [word, prob] : words) {
    if (out.size() == static_cast<size_t>(k)) break;
    std::u32string shown = word;
    if (!partial.empty())
      shown = partial + word.substr(std::min(partial.size(), word.size()));  // as typed
    else if (at_start && !word.empty())
      shown = upper(word.substr(0, 1)) + word.substr(1);
    out.push_back({shown, prob, partial.empty() ? KBD_LM_KIND_NEXT : KBD_LM_KIND_COMPLETION});
  }
  return out;
}

std::vector<double> Predictor::priors(const std::u32string& context,
                                      const std::vector<std::u32string>& words, int hint) {
  if (priors_.first != std::make_pair(hint, context)) priors_ = {{hint, context}, {}};
  std::map<std::u32string, double>& known = priors_.second;
  std::vector<std::u32string> missing;  // the model runs on them together
  for (const auto& w : words)
    if (!known.count(w) && std::find(missing.begin(), missing.end(), w) == missing.end())
      missing.push_back(w);
  if (!missing.empty()) {
    std::vector<double> values = word_logprobs(context, missing, hint);
    for (size_t i = 0; i < missing.size(); i++) known[missing[i]] = values[i];
  }
  std::vector<double> out;
  for (const auto& w : words) out.push_back(known.at(w));
  return out;
}

void Predictor::clear_cache() {
  cache_.clear(), cached_.clear(), ids_cache_.clear();
  search_->clear_rows();
  priors_ = {};
  if (corrections_) corrections_->clear_memo();
}

std::vector<double> Predictor::word_logprobs(const std::u32string& text,
                                             const std::vector<std::u32string>& words,
                                             int hint) {
  const bool ends = text.empty() || rules_->is_space(text.back());
  const std::u32string context = rules_->split(ends ? text : text + U" ", bundle_.decoding).first;
  const Context& ctx = context_state(ids(context, hint));
  std::vector<std::vector<int32_t>> seqs;  // every word's forms' pieces
  std::vector<size_t> owner;               // whose they are
  for (size_t i = 0; i < words.size(); i++) {
    const std::u32string& w = words[i];
    std::vector<std::u32string> forms = {w, lower(w)};
    forms.push_back(w.empty() ? w : upper(w.substr(0, 1)) + lower(w.substr(1)));
    size_t taken = 0;
    for (size_t f = 0; f < forms.size(); f++) {
      if (std::find(forms.begin(), forms.begin() + f, forms[f]) != forms.begin() + f) continue;
      std::vector<int32_t> pieces = tok_->encode(forms[f]);
      if (pieces.size() > static_cast<size_t>(bundle_.decoding.max_word_pieces))
        pieces.resize(bundle_.decoding.max_word_pieces);
      if (pieces.empty() || taken == static_cast<size_t>(bundle_.decoding.beam_width)) continue;
      seqs.push_back(std::move(pieces)), owner.push_back(i), taken++;
    }
  }
  // the shortest first, a beam's rows per model run (as Python batches them)
  std::vector<size_t> order(seqs.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t x, size_t y) { return seqs[x].size() < seqs[y].size(); });
  std::vector<double> done(seqs.size(), kNeg);
  const size_t beam = std::max(1, bundle_.decoding.beam_width);
  for (size_t at = 0; at < order.size(); at += beam) {
    std::vector<std::vector<int32_t>> rows;
    for (size_t j = at; j < std::min(order.size(), at + beam); j++) rows.push_back(seqs[order[j]]);
    std::vector<double> got = run_pieces(ctx, rows);
    for (size_t j = 0; j < rows.size(); j++) done[order[at + j]] = got[j];
  }
  std::vector<std::vector<double>> rows_of(words.size());
  for (size_t r = 0; r < owner.size(); r++) rows_of[owner[r]].push_back(done[r]);
  std::vector<double> out;
  for (const auto& values : rows_of) out.push_back(logsumexp(values));
  if (ngram_) ngram_->interpolate(text, words, &out, *rules_);  // the n-gram's share
  return out;
}

std::vector<double> Predictor::run_pieces(const Context& ctx,
                                          const std::vector<std::vector<int32_t>>& seqs) {
  int batch = 0;  // the smallest that holds them; unused rows are zeros
  for (int b : model_->batches())
    if (b >= static_cast<int>(seqs.size())) {
      batch = b;
      break;
    }
  if (!batch) throw Error(KBD_LM_ERR_INTERNAL, "more words than the largest batch");
  const size_t P = model_->embed_dim(), N = model_->units(), V = model_->vocab();
  std::vector<float> h(batch * P, 0.0f), c(batch * N, 0.0f), logp, h2, c2;
  std::vector<double> scores, done(seqs.size(), kNeg);
  size_t longest = 0;
  for (size_t r = 0; r < seqs.size(); r++) {
    std::copy(ctx.h.begin(), ctx.h.end(), h.begin() + r * P);  // [B, P]
    std::copy(ctx.c.begin(), ctx.c.end(), c.begin() + r * N);  // [B, N]
    scores.push_back(ctx.logp[seqs[r][0]]);
    longest = std::max(longest, seqs[r].size());
  }
  std::vector<int32_t> ids(batch, 0);
  std::vector<double> ends;
  for (size_t t = 0; t < longest; t++) {
    for (size_t r = 0; r < seqs.size(); r++) ids[r] = seqs[r][std::min(t, seqs[r].size() - 1)];
    model_->step(batch, ids.data(), h.data(), c.data(), &logp, &h2, &c2);  // logp [B, V]
    for (size_t r = 0; r < seqs.size(); r++) {
      const float* row = logp.data() + r * V;
      if (t + 1 < seqs[r].size()) {
        scores[r] += row[seqs[r][t + 1]];
      } else if (t + 1 == seqs[r].size()) {
        ends.clear();
        for (int32_t i : pieces_.boundary_ids) ends.push_back(row[i]);
        done[r] = scores[r] + logsumexp(ends);
      }
    }
    h.swap(h2), c.swap(c2);
  }
  return done;
}

}  // namespace kbd
