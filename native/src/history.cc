#include "history.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <numeric>

#include <nlohmann/json.hpp>

#include "error.h"
#include "privacy.h"
#include "sha256.h"
#include "unicode.h"

namespace kbd {

namespace {

const char* kFormat = "kbd-lm-history";
constexpr int kVersion = 1;
const std::u32string kStart;             // the start of a message or sentence
constexpr double kRescaleAt = 1048576.0;  // 2^20: stored counts are rescaled past this factor
constexpr double kMaxCount = 9007199254740992.0;  // 2^53
constexpr size_t kTopUnigrams = 16;
// mix.py DEFAULT_WEIGHTS (chosen on validation users) and its 8 candidates per order
constexpr double kMu[3] = {0.05, 0.2, 0.5};
constexpr double kBeta = 32.0;
constexpr size_t kCandidates = 8;

size_t entry_bytes(const Words32& ctx, const std::u32string& word) {
  std::u32string all;
  for (const auto& w : ctx) all += w;
  all += word;
  return 12 + 4 * (ctx.size() + 1) + encode_utf8(all).size();
}

std::u32string default_case(const std::u32string& w) {  // "i" and "i'm" -> "I", "I'm"
  if (w == U"i" || w.rfind(U"i'", 0) == 0) return U"I" + w.substr(1);
  return w;
}

}  // namespace

std::string python_float_repr(double x) {
  // the shortest round-tripping digits, laid out as Python's float_repr_style "short"
  char buf[40];
  int precision = 0;
  for (; precision < 17; precision++) {
    std::snprintf(buf, sizeof buf, "%.*e", precision, x);
    if (std::strtod(buf, nullptr) == x) break;
  }
  std::string s(buf);
  bool negative = s[0] == '-';
  if (negative) s = s.substr(1);
  size_t e = s.find('e');
  int exp = std::atoi(s.c_str() + e + 1);
  std::string digits = s.substr(0, 1) + (e > 2 ? s.substr(2, e - 2) : "");
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  std::string out;
  if (exp < -4 || exp >= 16) {
    out = digits.substr(0, 1) + (digits.size() > 1 ? "." + digits.substr(1) : "");
    char ebuf[16];
    std::snprintf(ebuf, sizeof ebuf, "e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
    out += ebuf;
  } else if (exp < 0) {
    out = "0." + std::string(-exp - 1, '0') + digits;
  } else if (static_cast<size_t>(exp) + 1 >= digits.size()) {
    out = digits + std::string(exp + 1 - digits.size(), '0') + ".0";
  } else {
    out = digits.substr(0, exp + 1) + "." + digits.substr(exp + 1);
  }
  return negative ? "-" + out : out;
}

double python_round4(double x) {
  // round(x, 4): the exact binary value rounded to 4 decimals, ties to even (glibc's printf
  // rounds the exact value), read back as the nearest double
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.4f", x);
  return std::strtod(buf, nullptr);
}

History::History(std::shared_ptr<const TextRules> rules, HistoryConfig config)
    : rules_(std::move(rules)), config_(config) {
  next_.insert({}, {});  // the unigram context comes first
  total_[{}] = 0.0;
}

double History::scale() const { return std::exp2(clock_ / config_.half_life); }

void History::tick() {
  clock_++;
  double s = scale();
  if (s > kRescaleAt) {
    for (auto& [ctx, children] : next_) {
      for (auto& [w, c] : children) c /= s;
      total_[ctx] /= s;
    }
    clock_ = 0;
  }
}

void History::add(const Words32& ctx, const std::u32string& word, double amount) {
  auto* children = next_.find(ctx);
  if (!children) {
    children = &next_.insert(ctx, {});
    total_[ctx] = 0.0;
  }
  double* count = children->find(word);
  if (!count) {
    count = &children->insert(word, 0.0);
    entries_++;
    bytes_ += entry_bytes(ctx, word);
    if (ctx.empty()) sorted_.insert(std::lower_bound(sorted_.begin(), sorted_.end(), word), word);
  }
  *count += amount;
  total_[ctx] += amount;
  if (ctx.empty() && top_valid_) {  // keep the running list of the most frequent words
    auto& uni = *next_.find({});
    bool in = std::find(top_.begin(), top_.end(), word) != top_.end();
    if (in || top_.size() < kTopUnigrams || *count > *uni.find(top_.back())) {
      if (!in) top_.push_back(word);
      std::stable_sort(top_.begin(), top_.end(), [&](const auto& a, const auto& b) {
        return *uni.find(a) > *uni.find(b);
      });
      if (top_.size() > kTopUnigrams) top_.resize(kTopUnigrams);
    }
  }
}

void History::remove(const Words32& ctx, const std::u32string& word) {
  auto* children = next_.find(ctx);
  double count = *children->find(word);
  children->erase(word);
  entries_--;
  bytes_ -= entry_bytes(ctx, word);
  if (!ctx.empty()) {
    total_[ctx] -= count;
    if (children->empty()) next_.erase(ctx), total_.erase(ctx);
  } else {
    total_[ctx] = std::max(total_[ctx] - count, 0.0);
    auto it = std::lower_bound(sorted_.begin(), sorted_.end(), word);
    if (it != sorted_.end() && *it == word) sorted_.erase(it);
    display_.erase(word);
    top_valid_ = false;
  }
}

void History::remember_case(const std::u32string& key, const std::u32string& typed,
                            bool initial) {
  // the latest casing typed inside a sentence; at a sentence start only a casing that is more
  // than a capital first letter ("iPhone", "NASA")
  if (initial && typed == upper(key.substr(0, 1)) + key.substr(std::min<size_t>(1, key.size())))
    return;
  if (typed == key)
    display_.erase(key);
  else
    display_[key] = typed;
}

size_t History::learn(const std::u32string& text, const std::string& field) {
  std::vector<Segment> segments = learnable_segments(text, field, *rules_);
  if (segments.empty()) return 0;
  tick();
  size_t n = 0;
  for (const Segment& seg : segments) {
    Words32 seq;
    if (seg.sentence_start) seq.push_back(kStart);
    for (size_t i = 0; i < seg.words.size(); i++) {
      const std::u32string& typed = seg.words[i];
      std::u32string key = lower(typed);
      // too long, or no longer a word once lowercased ("İstanbul"): a break in the run
      if (typed.size() > config_.max_word_chars || !rules_->is_word(key)) {
        seq.clear();
        continue;
      }
      remember_case(key, typed, seg.sentence_start && i == 0);
      seq.push_back(key);
      size_t longest = std::min<size_t>(config_.max_order, seq.size());
      for (size_t size = 1; size <= longest; size++)
        add(Words32(seq.end() - size, seq.end() - 1), key, scale());
      n++;
    }
  }
  enforce_bounds();
  return n;
}

bool History::forget(const std::u32string& word) {
  std::u32string key = lower(word);
  size_t a = 0, b = key.size();
  while (a < b && rules_->is_space(key[a])) a++;
  while (b > a && rules_->is_space(key[b - 1])) b--;
  key = key.substr(a, b - a);
  if (key.empty()) return false;  // "" is the sentence start, never a kept word
  bool found = false;
  std::vector<Words32> contexts;
  for (const auto& [ctx, children] : next_) contexts.push_back(ctx);
  for (const auto& ctx : contexts) {
    auto* children = next_.find(ctx);
    if (!children) continue;
    if (std::find(ctx.begin(), ctx.end(), key) != ctx.end()) {
      std::vector<std::u32string> words;
      for (const auto& [w, c] : *children) words.push_back(w);
      for (const auto& w : words) remove(ctx, w);
      found = true;
    } else if (children->find(key)) {
      remove(ctx, key);
      found = true;
    }
  }
  display_.erase(key);
  return found;
}

void History::enforce_bounds() {
  const auto& cfg = config_;
  if (entries_ <= cfg.max_entries && size_bytes() <= cfg.max_bytes) return;
  size_t keep_entries = static_cast<size_t>(cfg.max_entries * 0.9);
  size_t keep_bytes = static_cast<size_t>(cfg.max_bytes * 0.9);
  double share = 1.0 - static_cast<double>(keep_bytes) / std::max<size_t>(size_bytes(), 1);
  long excess = std::max<long>(static_cast<long>(entries_) - static_cast<long>(keep_entries),
                               static_cast<long>(std::ceil(entries_ * share)));
  // smallest counts first; among equals the longest sequences, then by context and word
  struct Ranked {
    double count;
    Words32 ctx;
    std::u32string word;
  };
  std::vector<Ranked> all;
  for (const auto& [ctx, children] : next_)
    for (const auto& [w, c] : children) all.push_back({c, ctx, w});
  auto less = [](const Ranked& x, const Ranked& y) {
    if (x.count != y.count) return x.count < y.count;
    if (x.ctx.size() != y.ctx.size()) return x.ctx.size() > y.ctx.size();
    if (x.ctx != y.ctx) return x.ctx < y.ctx;
    return x.word < y.word;
  };
  size_t take = std::min(all.size(), static_cast<size_t>(std::max<long>(excess, 0)) + 16);
  std::partial_sort(all.begin(), all.begin() + take, all.end(), less);
  for (size_t i = 0; i < take; i++) {
    if (entries_ <= keep_entries && size_bytes() <= keep_bytes) break;
    const auto* children = next_.find(all[i].ctx);
    if (children && children->find(all[i].word)) remove(all[i].ctx, all[i].word);
  }
  if (entries_ > keep_entries || size_bytes() > keep_bytes) enforce_bounds();
}

std::u32string History::display(const std::u32string& key) const {
  auto it = display_.find(key);
  return it == display_.end() ? key : it->second;
}

std::vector<std::u32string> History::frequent(size_t n) const {
  const auto& uni = *next_.find({});
  if (!top_valid_) {  // heapq.nlargest over the unigrams: equal counts in learned order
    std::vector<std::pair<std::u32string, double>> items(uni.begin(), uni.end());
    std::stable_sort(items.begin(), items.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    top_.clear();
    for (size_t i = 0; i < items.size() && i < kTopUnigrams; i++) top_.push_back(items[i].first);
    top_valid_ = true;
  }
  return std::vector<std::u32string>(top_.begin(), top_.begin() + std::min(n, top_.size()));
}

std::vector<std::u32string> History::starting_with(const std::u32string& prefix,
                                                   size_t n) const {
  const auto& uni = *next_.find({});
  auto lo = std::lower_bound(sorted_.begin(), sorted_.end(), prefix);
  auto hi = std::lower_bound(lo, sorted_.end(), prefix + U'\U0010FFFF');
  std::vector<std::u32string> found(lo, hi);  // in code point order: ties keep it
  std::stable_sort(found.begin(), found.end(),
                   [&](const auto& a, const auto& b) { return *uni.find(a) > *uni.find(b); });
  if (found.size() > n) found.resize(n);
  return found;
}

std::vector<std::u32string> History::best_following(const Words32& ctx, size_t n,
                                                    const std::u32string& prefix) const {
  const auto* children = next_.find(ctx);
  if (!children) return {};
  std::vector<std::pair<std::u32string, double>> items;
  for (const auto& [w, c] : *children)
    if (w.compare(0, prefix.size(), prefix) == 0) items.emplace_back(w, c);
  std::stable_sort(items.begin(), items.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  std::vector<std::u32string> out;
  for (size_t i = 0; i < items.size() && i < n; i++) out.push_back(items[i].first);
  return out;
}

Words32 History::context_key(const std::u32string& context) const {
  // the last two lowercase words of the sentence the context ends in, "" first when fewer
  // (sentences.last_sentence: after the last mark that ends the text or precedes a space)
  std::u32string body = rules_->rstrip(context);
  size_t cut = std::u32string::npos;
  for (char32_t mark : rules_->sentence_end()) {
    size_t at = body.rfind(mark);
    if (at != std::u32string::npos && (cut == std::u32string::npos || at > cut)) cut = at;
  }
  if (cut != std::u32string::npos && (cut + 1 == body.size() || rules_->is_space(body[cut + 1])))
    body = body.substr(cut + 1);
  Words32 found = rules_->words(body);
  if (found.size() < 2) found.insert(found.begin(), kStart);
  return Words32(found.end() - std::min<size_t>(2, found.size()), found.end());
}

std::string History::to_bytes() const {
  // header, entries in the order first kept, checksum line (user_history.py to_bytes)
  const double s = scale();
  std::string lines;
  size_t count_lines = 0;
  for (const auto& [ctx, children] : next_) {
    for (const auto& [w, c] : children) {
      double count = python_round4(c / s);
      if (!(count > 0)) continue;
      std::string words;
      if (ctx.empty()) {
        words = encode_utf8(display(w));
      } else {
        for (const auto& x : ctx) words += encode_utf8(x) + "\", \"";
        words += encode_utf8(w);
      }
      lines += "[" + python_float_repr(count) + ", \"" + words + "\"]\n";
      count_lines++;
    }
  }
  std::string header = std::string("{\"format\": \"") + kFormat + "\", \"version\": " +
                       std::to_string(kVersion) + ", \"order\": " +
                       std::to_string(config_.max_order) + ", \"half_life\": " +
                       python_float_repr(config_.half_life) + ", \"entries\": " +
                       std::to_string(count_lines) + "}\n";
  std::string body = header + lines;
  return body + "{\"sha256\": \"" + sha256_hex(body.data(), body.size()) + "\"}\n";
}

History History::from_bytes(const std::string& data, const std::string& name,
                            std::shared_ptr<const TextRules> rules_ptr, HistoryConfig config) {
  const TextRules& rules = *rules_ptr;
  auto fail = [&](size_t line, const std::string& problem) {
    std::string where = line ? name + ": line " + std::to_string(line) : name;
    return Error(KBD_LM_ERR_ARGUMENT,
                 where + ": " + problem + " (not a readable " + kFormat + " file)");
  };
  size_t end = data.find_last_not_of('\n');
  std::string trimmed = end == std::string::npos ? "" : data.substr(0, end + 1);
  size_t sep = trimmed.rfind('\n');
  if (sep == std::string::npos) throw fail(0, "no header and entries");
  nlohmann::json trailer = nlohmann::json::parse(trimmed.substr(sep + 1), nullptr, false);
  if (!trailer.is_object() || !trailer.contains("sha256") || !trailer["sha256"].is_string())
    throw fail(0, "last line is not the checksum line: truncated?");
  std::string body = trimmed.substr(0, sep + 1);
  if (trailer["sha256"] != sha256_hex(body.data(), body.size()))
    throw fail(0, "checksum does not match: the file was altered or damaged");
  std::u32string text;
  if (!decode_utf8(body, &text)) throw fail(0, "not UTF-8");
  // str.splitlines() of the body: its lines are those of "\n" (no other line boundaries
  // occur in JSON text of words), the last one empty after the final "\n"
  std::vector<std::string> lines;
  for (size_t pos = 0; pos < body.size();) {
    size_t nl = body.find('\n', pos);
    lines.push_back(body.substr(pos, nl - pos));
    pos = nl + 1;
  }
  nlohmann::json header = nlohmann::json::parse(lines[0], nullptr, false);
  if (header.is_discarded()) throw fail(1, "header is not JSON");
  if (!header.is_object() || header.value("format", "") != kFormat)
    throw fail(1, std::string("header does not say format '") + kFormat + "'");
  if (!header.contains("version") || header["version"] != kVersion)
    throw fail(1, "format version " + (header.contains("version") ? header["version"].dump()
                                                                 : std::string("None")) +
                      "; this reader knows " + std::to_string(kVersion));
  if (!header.contains("entries") || !header["entries"].is_number_integer() ||
      header["entries"].get<long long>() != static_cast<long long>(lines.size()) - 1)
    throw fail(1, "header says " + (header.contains("entries") ? header["entries"].dump()
                                                               : std::string("None")) +
                      " entries, found " + std::to_string(lines.size() - 1));
  History h(rules_ptr, config);
  h.top_valid_ = false;
  for (size_t n = 1; n < lines.size(); n++) {
    nlohmann::json item = nlohmann::json::parse(lines[n], nullptr, false);
    if (item.is_discarded()) throw fail(n + 1, "entry is not JSON");
    if (!item.is_array() || item.size() < 2 ||
        item.size() > static_cast<size_t>(config.max_order) + 1)
      throw fail(n + 1, "an entry is [count, word, ...] with 1 to " +
                            std::to_string(config.max_order) + " words");
    if (!item[0].is_number() || !(item[0].get<double>() > 0 && item[0].get<double>() <= kMaxCount))
      throw fail(n + 1, "count " + item[0].dump() + " is not a positive number up to 2^53");
    Words32 words;
    for (size_t i = 1; i < item.size(); i++) {
      if (!item[i].is_string()) throw fail(n + 1, "words must be strings");
      std::u32string w;
      if (!decode_utf8(item[i].get<std::string>(), &w)) throw fail(n + 1, "not UTF-8");
      words.push_back(w);
    }
    bool ok = rules.is_word(words.back());
    for (size_t i = 0; i + 1 < words.size(); i++)
      ok = ok && (words[i].empty() || rules.is_word(words[i]));
    if (!ok) throw fail(n + 1, "an entry holds something that is not a word");
    for (size_t i = 1; i < words.size(); i++)
      if (words[i].empty()) throw fail(n + 1, "the sentence start may only come first");
    if (words.size() > 1)
      for (auto& w : words) w = lower(w);
    Words32 ctx(words.begin(), words.end() - 1);
    std::u32string word = words.back(), key = ctx.empty() ? lower(word) : word;
    if (ctx.empty() && word != key) h.display_[key] = word;
    h.add(ctx, key, item[0].get<double>());
  }
  h.top_valid_ = false;
  h.enforce_bounds();
  return h;
}

Words History::mix(const Words& model, const std::u32string& context,
                   const std::u32string& partial) const {
  if (entries_ == 0) return model;
  const std::u32string prefix = lower(partial);
  Words32 key = context_key(context);
  std::vector<const Words32*> contexts;  // (), the last word, the last two words (or none)
  Words32 c1, c2(key.end() - 1, key.end()), c3 = key;
  contexts = {&c1, &c2, key.size() >= 2 ? &c3 : nullptr};
  OrderedMap<std::u32string, std::pair<std::u32string, double>> in_model;
  for (const auto& [display_form, p] : model) {
    std::u32string k = lower(display_form);
    if (!in_model.find(k)) in_model.insert(k, {display_form, p});
  }
  OrderedMap<std::u32string, bool> found;  // the candidates, each once, in order
  auto take = [&](const std::vector<std::u32string>& words) {
    for (const auto& w : words)
      if (!found.find(w)) found.insert(w, true);
  };
  for (const auto& [k, v] : in_model) take({k});
  take(prefix.empty() ? frequent(kCandidates) : starting_with(prefix, kCandidates));
  for (size_t i = 1; i < 3; i++)
    if (contexts[i]) take(best_following(*contexts[i], kCandidates, prefix));
  if (!prefix.empty()) found.erase(prefix);  // the typed word is no completion
  // lambda_i = mu_i T_i / (T_i + beta); P = (1 - sum lambda) P_model + sum lambda_i P_i
  double lambda[3], share = 1.0;
  for (size_t i = 0; i < 3; i++) {
    auto total = contexts[i] ? total_.find(*contexts[i]) : total_.end();
    double t = total != total_.end() ? total->second / scale() : 0.0;  // the evidence T_i
    lambda[i] = kMu[i] * (t / (t + kBeta));
    share -= lambda[i];
  }
  Words out;
  for (const auto& [w, unused] : found) {
    const auto* m = in_model.find(w);
    double p = share * (m ? m->second : 0.0);
    for (size_t i = 0; i < 3; i++) {
      if (!contexts[i]) continue;
      const auto* children = next_.find(*contexts[i]);
      auto total = total_.find(*contexts[i]);
      if (!children || total == total_.end() || !(total->second > 0)) continue;
      const double* c = children->find(w);
      p += lambda[i] * (c ? *c / total->second : 0.0);
    }
    out.emplace_back(m ? m->first : default_case(display(w)), p);
  }
  std::vector<size_t> order(out.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](size_t a, size_t b) { return out[a].second > out[b].second; });
  Words sorted;
  for (size_t i : order)
    if (out[i].second > 0) sorted.push_back(out[i]);
  return sorted;
}

}  // namespace kbd
