#include "predictor.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "error.h"
#include "files.h"
#include "unicode.h"

namespace kbd {

namespace {

constexpr int32_t kBosId = 2;
constexpr size_t kIdsCacheSize = 4;  // contexts whose ids are kept (predictor.py's)


}  // namespace

Predictor::Predictor(const std::string& bundle_dir) : bundle_(Bundle::load(bundle_dir)) {
  const std::string tok_path = bundle_.path_of("tokenizer_json");
  nlohmann::json tok = read_json(tok_path);
  if (!tok.contains("text")) throw bundle_error(tok_path + ": no 'text' tables (re-export it)");
  rules_ = std::make_shared<const TextRules>(tok["text"], tok_path);
  if (rules_->unicode_version() != unicode_version())
    throw bundle_error(tok_path + ": text.unicode_version " + rules_->unicode_version() +
                       ": this library's tables are Unicode " + unicode_version());
  tok_ = std::make_unique<Unigram>(tok, tok_path);
  if (static_cast<int>(tok_->size()) != bundle_.vocab_size)
    throw bundle_error(tok_path + ": " + std::to_string(tok_->size()) +
                       " pieces, the manifest's model.vocab_size is " +
                       std::to_string(bundle_.vocab_size));
  model_ = std::make_unique<Model>(bundle_);
  pieces_ = piece_tables(*tok_, *rules_);
  search_ = std::make_unique<WordSearch>(pieces_, *model_, bundle_.decoding, *rules_);
  std::string lexicon = bundle_.path_of("lexicon");
  if (!lexicon.empty()) lexicon_ = std::make_unique<Lexicon>(Lexicon::load(lexicon));
  std::string blocklist = bundle_.path_of("blocklist");
  if (!blocklist.empty()) blocklist_ = Blocklist::load(blocklist, *rules_);
  std::string typing = bundle_.path_of("typing");
  if (!typing.empty()) typing_ = std::make_unique<TypingSpec>(TypingSpec::load(typing));
  ngram_ = NgramMix::load(bundle_);  // (nullptr without one)
}

int Predictor::hint_id(const char* hint) const {
  if (!hint) return -1;
  const auto& names = bundle_.decoding.field_hints;
  if (std::find(names.begin(), names.end(), hint) == names.end()) {
    std::string known;
    for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
    throw Error(KBD_LM_ERR_ARGUMENT,
                std::string("unknown hint '") + hint + "': use one of " + known + " or none");
  }
  auto it = tok_->hints().find(hint);  // a known hint the bundle lacks reads as none
  return it == tok_->hints().end() ? -1 : it->second;
}

std::vector<int32_t> Predictor::ids(const std::u32string& context, int hint) const {
  for (auto it = ids_cache_.begin(); it != ids_cache_.end(); ++it)
    if (it->first.first == hint && it->first.second == context) {
      ids_cache_.splice(ids_cache_.end(), ids_cache_, it);
      return ids_cache_.back().second;
    }
  std::vector<int32_t> out = {kBosId};
  if (hint >= 0) out.push_back(hint);
  if (!context.empty()) {
    std::vector<int32_t> pieces = tok_->encode(context);
    out.insert(out.end(), pieces.begin(), pieces.end());
  }
  const Decoding& d = bundle_.decoding;
  if (out.size() > d.max_context_tokens)
    out.erase(out.begin(), out.end() - d.short_context_tokens);
  ids_cache_.emplace_back(std::make_pair(hint, context), out);
  if (ids_cache_.size() > kIdsCacheSize) ids_cache_.pop_front();
  return out;
}

const Context& Predictor::context_state(const std::vector<int32_t>& key) {
  // resume from the longest cached prefix; run advance on all ids but the last, step on it
  size_t start = 0;
  const Context* from = nullptr;
  for (size_t n = key.size(); n > 0 && !from; n--) {
    auto it = cached_.find(std::vector<int32_t>(key.begin(), key.begin() + n));
    if (it != cached_.end()) {
      cache_.splice(cache_.end(), cache_, it->second);  // recently used: trimmed last
      from = &it->second->second, start = n;
    }
  }
  if (start == key.size()) return *from;
  const size_t P = model_->embed_dim(), N = model_->units();
  std::vector<float> h = from ? from->h : std::vector<float>(P, 0.0f);
  std::vector<float> c = from ? from->c : std::vector<float>(N, 0.0f);
  std::vector<float> h2, c2;
  for (size_t i = start; i + 1 < key.size(); i++) {
    model_->advance(key[i], h.data(), c.data(), &h2, &c2);
    h.swap(h2), c.swap(c2);
  }
  Context ctx;
  model_->step(1, &key.back(), h.data(), c.data(), &ctx.logp, &ctx.h, &ctx.c);
  ctx.serial = ++serial_;
  cache_.emplace_back(key, std::move(ctx));
  cached_[key] = std::prev(cache_.end());
  if (cache_.size() > bundle_.decoding.context_cache) {
    cached_.erase(cache_.front().first);
    cache_.pop_front();
  }
  return cache_.back().second;
}

Input Predictor::decode_input(const std::u32string& text, const char* hint) const {
  Input in;
  std::tie(in.context, in.partial) = rules_->split(text, bundle_.decoding);
  in.ids = ids(in.context, hint_id(hint));
  return in;
}

Words Predictor::ranked_words(const std::u32string& text, size_t n, int hint,
                              const History* history, std::u32string* context,
                              std::u32string* partial) {
  std::tie(*context, *partial) = rules_->split(text, bundle_.decoding);
  const Context& ctx = context_state(ids(*context, hint));
  const std::u32string& before = *context;
  Blocked blocked;
  if (blocklist_.enabled)
    blocked = [&](const std::u32string& w) { return blocklist_.blocks(w, before, *rules_); };
  if (ngram_) n = std::max(n, NgramMix::kCandidates);  // the n-gram mix's candidates
  Words words = search_->words(ctx, *partial, n, blocked);
  if (lexicon_) words = mix_lexicon(words, *lexicon_, *partial);
  if (ngram_) words = ngram_->mix(words, text, *rules_);
  if (history) words = history->mix(words, *context, *partial);
  if (blocked)  // the word list or history may bring one
    words.erase(std::remove_if(words.begin(), words.end(),
                               [&](const auto& w) { return blocked(w.first); }),
                words.end());
  return words;
}

}  // namespace kbd
