#include "ngram.h"

#include <zlib.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <numeric>

#include <nlohmann/json.hpp>

#include "error.h"
#include "unicode.h"

namespace kbd {

using nlohmann::json;

namespace {

// kbd_lm/ngram/file.py: MAGIC, FORMAT_VERSION
const char kMagic[8] = {'K', 'B', 'D', 'K', 'N', '3', '\0', '\1'};
constexpr long long kFormatVersion = 1;
constexpr uint32_t kBos = 0, kEos = 1, kUnk = 2;  // kbd_lm/ngram/model.py BOS_ID, EOS_ID, UNK_ID
// kbd_lm/ngram/model.py: MAX_PREFIX_CHARS (only the end of a text matters for a trigram) and
// _DENSE_RANGE (prefix ranges up to this many words are ranked densely)
constexpr size_t kMaxPrefixChars = 200;
constexpr uint32_t kDenseRange = 8192;
// A vocabulary that inflates past this is refused (a real one is a few MB): a damaged
// file must not make the reader allocate without bound.
constexpr size_t kMaxVocabBytes = size_t{1} << 28;
const char* kType = "kneser-ney-trigram";  // manifest ngram.type (export/convert.py)

// One section of the file: its numpy dtype string, entries, and where its bytes start.
struct Section {
  std::string dtype;
  size_t count = 0;
  const unsigned char* data = nullptr;
  size_t item = 0;        // bytes an entry (item_bytes)
  bool floating = false;  // <f2 or <f4 (is_float)
};

size_t item_bytes(const std::string& dtype) {  // 0: a dtype pack() never writes
  if (dtype == "|u1") return 1;
  if (dtype == "<u2" || dtype == "<f2") return 2;
  if (dtype == "<u4" || dtype == "<f4") return 4;
  return 0;
}

bool is_float(const std::string& dtype) { return dtype == "<f2" || dtype == "<f4"; }

// little-endian unsigned integer of `n` bytes at p
uint32_t le(const unsigned char* p, size_t n) {
  uint32_t v = 0;
  for (size_t i = n; i-- > 0;) v = v << 8 | p[i];
  return v;
}

float half_to_float(uint16_t h) {  // IEEE binary16 -> binary32, exactly as numpy's astype
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  if (exp == 0) {  // zero or subnormal: mant * 2^-24 is exact in binary32
    float f = std::ldexp(static_cast<float>(mant), -24);
    return sign ? -f : f;
  }
  const uint32_t bits =  // infinity or NaN, else the exponent rebiased from 15 to 127
      exp == 31 ? sign | 0x7f800000u | mant << 13 : sign | (exp + 112) << 23 | mant << 13;
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

uint32_t id_at(const Section& s, size_t i) {
  const unsigned char* p = s.data + i * s.item;
  return s.item == 1 ? p[0] : s.item == 2 ? le(p, 2) : le(p, 4);
}

float float_at(const Section& s, size_t i) {
  if (s.item == 2) return half_to_float(static_cast<uint16_t>(le(s.data + 2 * i, 2)));
  uint32_t bits = le(s.data + 4 * i, 4);
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// zlib.decompress: a whole zlib stream, bytes after its end ignored
bool inflate_all(const unsigned char* in, size_t size, std::string* out) {
  z_stream z{};
  if (inflateInit(&z) != Z_OK) return false;
  z.next_in = const_cast<unsigned char*>(in);
  z.avail_in = static_cast<uInt>(size);
  char buf[1 << 15];
  int rc = Z_OK;
  while (rc == Z_OK) {
    z.next_out = reinterpret_cast<unsigned char*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    out->append(buf, sizeof buf - z.avail_out);
    if (out->size() > kMaxVocabBytes) rc = Z_MEM_ERROR;
    if (rc == Z_BUF_ERROR && z.avail_in == 0) break;  // the stream was cut
  }
  inflateEnd(&z);
  return rc == Z_STREAM_END;
}

// indices of the m largest of values[lo, hi), ties to the lower index, best first (_top)
std::vector<uint32_t> top(const std::vector<float>& values, uint32_t lo, uint32_t hi, size_t m) {
  std::vector<uint32_t> idx(hi - lo);
  std::iota(idx.begin(), idx.end(), lo);
  auto better = [&](uint32_t a, uint32_t b) {
    return values[a] > values[b] || (values[a] == values[b] && a < b);
  };
  if (idx.size() > m) {
    std::partial_sort(idx.begin(), idx.begin() + m, idx.end(), better);
    idx.resize(m);
  }
  return idx;
}

// a damaged file: the error names it and the field at fault
Error table_error(const std::string& path, const std::string& field, const std::string& what) {
  return bundle_error(path + ": not a readable Kneser-Ney model file: " + field + ": " + what);
}

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);  // (at the end: its size)
  if (!in) throw bundle_error(path + ": cannot be read");
  std::string out(static_cast<size_t>(in.tellg()), '\0');
  in.seekg(0);
  if (!in.read(&out[0], static_cast<std::streamsize>(out.size())))
    throw bundle_error(path + ": cannot be read");
  return out;
}

// numpy's logaddexp: log(exp(x) + exp(y)), exact for equal arguments and infinities
double logaddexp(double x, double y) {
  if (x == y) return x + std::log(2.0);
  const double d = x - y;
  return d > 0 ? x + std::log1p(std::exp(-d)) : y + std::log1p(std::exp(d));
}

}  // namespace

// The checks of KneserNeyTrigram's constructor on the parsed sections, and its tables.
struct Ngram::Reader {
  static void tables(Ngram& g, const std::map<std::string, Section>& sec, const std::string& path);
  // a section's values as floats: its codebook book_<name> applied when it has one (deq)
  static std::vector<float> values(const std::map<std::string, Section>& sec,
                                   const std::string& name, const std::string& path);
};

Ngram Ngram::load(const std::string& path) { return Ngram(read_bytes(path), path); }

Ngram::Ngram(const std::string& blob, const std::string& path) {
  auto fail = [&](const std::string& field, const std::string& what) {
    return table_error(path, field, what);
  };
  const auto* bytes = reinterpret_cast<const unsigned char*>(blob.data());
  if (blob.size() < sizeof kMagic || std::memcmp(blob.data(), kMagic, sizeof kMagic) != 0)
    throw fail("magic", "not a kbd-lm Kneser-Ney model file");
  if (blob.size() < sizeof kMagic + 4) throw fail("header", "the file ends in its length");
  const size_t head_len = le(bytes + sizeof kMagic, 4), start = sizeof kMagic + 4;
  if (head_len > blob.size() - start) throw fail("header", "its length runs past the end");
  json header = json::parse(blob.begin() + start, blob.begin() + start + head_len, nullptr, false);
  if (header.is_discarded() || !header.is_object()) throw fail("header", "not a JSON object");
  if (!header.contains("version") || header["version"] != kFormatVersion) {
    const std::string v = header.contains("version") ? header["version"].dump() : "(none)";
    throw fail("header.version", "unsupported model file version " + v);
  }
  for (const char* key : {"vocab_zlib_bytes", "vocab_size", "bits"})
    if (!header.contains(key) || !header[key].is_number_unsigned())
      throw fail(std::string("header.") + key, "missing or not a count");
  size_t offset = start + head_len;
  const uint64_t n_vocab = header["vocab_zlib_bytes"].get<uint64_t>();
  if (n_vocab > blob.size() - offset) throw fail("header.vocab_zlib_bytes", "past the end");
  std::string text;
  if (!inflate_all(bytes + offset, n_vocab, &text)) throw fail("vocab", "not zlib data");
  offset += n_vocab;
  std::u32string words;
  if (!decode_utf8(text, &words)) throw fail("vocab", "not UTF-8");
  // the sections, in order, without padding
  const json& list = header.contains("sections") ? header["sections"] : json();
  if (!list.is_array()) throw fail("header.sections", "missing or not a list");
  std::map<std::string, Section> sec;
  for (const json& s : list) {
    if (!s.is_array() || s.size() != 3 || !s[0].is_string() || !s[1].is_string() ||
        !s[2].is_number_unsigned())
      throw fail("header.sections", "an entry is not [name, dtype, count]");
    const std::string name = s[0], dtype = s[1];
    const size_t item = item_bytes(dtype);
    if (!item) throw fail("section " + name, "dtype " + dtype + " is not one the file uses");
    const uint64_t count = s[2].get<uint64_t>();
    if (count > (blob.size() - offset) / item) throw fail("section " + name, "past the end");
    sec[name] = {dtype, static_cast<size_t>(count), bytes + offset, item, is_float(dtype)};
    offset += count * item;
  }
  for (const char* name : {"p1", "bo1", "n1", "w2", "p2", "bo2", "n2", "w3", "p3"})
    if (!sec.count(name)) throw fail("header.sections", std::string("no section ") + name);
  if (offset != blob.size())
    throw fail("sections", std::to_string(blob.size() - offset) + " bytes after the last one");
  if (!words.empty()) {
    for (size_t from = 0;;) {
      size_t nl = words.find(U'\n', from);
      vocab_.push_back(words.substr(from, nl == std::u32string::npos ? nl : nl - from));
      if (nl == std::u32string::npos) break;
      from = nl + 1;
    }
  }
  for (size_t i = 1; i < vocab_.size(); i++)  // (the look-ups bisect it, as Python's)
    if (!(vocab_[i - 1] < vocab_[i]))
      throw fail("vocab", "words not in code point order at line " + std::to_string(i + 1));
  const size_t V = size();
  if (header["vocab_size"].get<uint64_t>() != V)
    throw fail("header.vocab_size", "model file vocabulary does not match its header");
  Reader::tables(*this, sec, path);
}

std::vector<float> Ngram::Reader::values(const std::map<std::string, Section>& sec,
                                         const std::string& name, const std::string& path) {
  const Section& s = sec.at(name);
  std::vector<float> out(s.count);
  auto book = sec.find("book_" + name);
  if (book == sec.end()) {
    if (!s.floating)
      throw table_error(path, "section " + name, s.dtype + " codes without a codebook");
    for (size_t i = 0; i < s.count; i++) out[i] = float_at(s, i);
  } else {
    const Section& b = book->second;
    if (!b.floating || s.floating)
      throw table_error(path, "section book_" + name, "not a float codebook of integer codes");
    std::vector<float> entries(b.count);
    for (size_t i = 0; i < b.count; i++) entries[i] = float_at(b, i);
    for (size_t i = 0; i < s.count; i++) {
      const uint32_t code = id_at(s, i);
      if (code >= b.count)
        throw table_error(path, "section " + name,
                          "code " + std::to_string(code) + " past its codebook");
      out[i] = entries[code];
    }
  }
  // NaN and +inf are no log-probabilities (NaN would leave the rankings without an order)
  for (float v : out)
    if (std::isnan(v) || v == INFINITY)
      throw table_error(path, "section " + name, "a value is not a log-probability");
  return out;
}

void Ngram::Reader::tables(Ngram& g, const std::map<std::string, Section>& sec,
                           const std::string& path) {
  const size_t V = g.size();
  auto ids = [&](const char* name) {
    const Section& s = sec.at(name);
    if (s.floating) throw table_error(path, std::string("section ") + name, "not integers");
    std::vector<uint32_t> out(s.count);
    for (size_t i = 0; i < s.count; i++) out[i] = id_at(s, i);
    return out;
  };
  auto count = [&](const char* name) { return sec.at(name).count; };
  const std::vector<uint32_t> n1 = ids("n1"), n2 = ids("n2");
  uint64_t sum1 = 0, sum2 = 0;
  for (uint32_t n : n1) sum1 += n;
  for (uint32_t n : n2) sum2 += n;
  const size_t B = count("w2"), T = count("w3");
  if (count("p1") != V || count("bo1") != V || count("n1") != V || count("p2") != B ||
      count("bo2") != B || count("n2") != B || count("p3") != T || sum1 != B || sum2 != T)
    throw table_error(path, "sections", "model file tables do not match each other");
  g.lp1_ = values(sec, "p1", path);
  g.lbo1_ = values(sec, "bo1", path);
  g.lp2_ = values(sec, "p2", path);
  g.lbo2_ = values(sec, "bo2", path);
  g.lp3_ = values(sec, "p3", path);
  g.w2_ = ids("w2");
  g.w3_ = ids("w3");
  // prefix sums of the follower counts: where each context's rows start
  g.off1_.assign(V + 1, 0);
  for (size_t v = 0; v < V; v++) g.off1_[v + 1] = g.off1_[v] + n1[v];
  g.off2_.assign(B + 1, 0);
  for (size_t b = 0; b < B; b++) g.off2_[b + 1] = g.off2_[b] + n2[b];
  // a context without followers has no backoff weight (np.where(has, bo, 0))
  for (size_t v = 0; v < V; v++)
    if (!n1[v]) g.lbo1_[v] = 0.0f;
  for (size_t b = 0; b < B; b++)
    if (!n2[b]) g.lbo2_[b] = 0.0f;
  // word ids in range and each context's followers strictly ascending: the keys
  // v * V + w and b * V + w of Python's tables strictly increase
  auto ordered = [&](const std::vector<uint32_t>& off, const std::vector<uint32_t>& w) {
    for (size_t c = 0; c + 1 < off.size(); c++)
      for (uint32_t i = off[c]; i < off[c + 1]; i++)
        if (w[i] >= V || (i > off[c] && w[i] <= w[i - 1])) return false;
    return true;
  };
  if (!ordered(g.off1_, g.w2_) || !ordered(g.off2_, g.w3_))
    throw table_error(path, "sections w2, w3",
                      "model file n-gram tables are corrupt (word ids or order)");
  g.uni_order_.resize(V - kSpecial);
  std::iota(g.uni_order_.begin(), g.uni_order_.end(), kSpecial);
  std::stable_sort(g.uni_order_.begin(), g.uni_order_.end(),
                   [&](uint32_t a, uint32_t b) { return g.lp1_[a] > g.lp1_[b]; });
}

// ---------------------------------------------------------------------------- queries

long Ngram::find(const std::u32string& word) const {
  auto it = std::lower_bound(vocab_.begin(), vocab_.end(), word);
  return it != vocab_.end() && *it == word ? kSpecial + (it - vocab_.begin()) : -1;
}

uint32_t Ngram::id(const std::u32string& word) const {
  long i = find(word);
  return i < 0 ? kUnk : static_cast<uint32_t>(i);
}

bool Ngram::knows(const std::u32string& word) const { return find(lower(word)) >= 0; }

void Ngram::context(const std::u32string& text, const TextRules& rules, uint32_t* u, uint32_t* v,
                    std::u32string* partial, bool* has_partial) const {
  const size_t n = text.size();
  std::u32string prefix =
      rules.normalize_prefix(n > kMaxPrefixChars ? text.substr(n - kMaxPrefixChars) : text);
  *has_partial = false;
  if (!prefix.empty() && prefix.back() != U' ') {
    long m = rules.partial_start(prefix);
    if (m >= 0) {
      *partial = prefix.substr(m);
      prefix.resize(m);
      *has_partial = true;
    }
  }
  std::vector<std::u32string> ws = rules.words(prefix);
  const size_t k = ws.size();
  *u = k >= 2 ? id(ws[k - 2]) : kBos;
  *v = k >= 1 ? id(ws[k - 1]) : kBos;
}

long Ngram::bigram(uint32_t v, uint32_t w) const {
  auto first = w2_.begin() + off1_[v], last = w2_.begin() + off1_[v + 1];
  auto it = std::lower_bound(first, last, w);
  return it != last && *it == w ? it - w2_.begin() : -1;
}

double Ngram::score(uint32_t u, uint32_t v, uint32_t w) const {
  // the highest level holding w, plus the backoff weights of the levels above (in float64,
  // added in this order, as _scores does)
  double s = lp1_[w];
  if (off1_[v + 1] > off1_[v]) {
    s += lbo1_[v];
    long j = bigram(v, w);
    if (j >= 0) s = lp2_[j];
  }
  long b = bigram(u, v);
  if (b >= 0 && off2_[b + 1] > off2_[b]) {
    s += lbo2_[b];
    auto first = w3_.begin() + off2_[b], last = w3_.begin() + off2_[b + 1];
    auto it = std::lower_bound(first, last, w);
    if (it != last && *it == w) s = lp3_[it - w3_.begin()];
  }
  return s;
}

std::vector<uint32_t> Ngram::top_unigrams(uint32_t lo, uint32_t hi, size_t m) const {
  if (hi - lo <= kDenseRange) return top(lp1_, lo, hi, m);
  std::vector<uint32_t> out;  // the best first, read off the precomputed order
  for (uint32_t w : uni_order_) {
    if (out.size() == m) break;
    if (w >= lo && w < hi) out.push_back(w);
  }
  return out;
}

std::vector<std::pair<std::u32string, double>> Ngram::suggest(const std::u32string& text,
                                                              size_t k,
                                                              const TextRules& rules) const {
  if (k == 0) return {};
  uint32_t u, v;
  std::u32string partial;
  bool has_partial;
  context(text, rules, &u, &v, &partial, &has_partial);
  uint32_t lo = kSpecial, hi = static_cast<uint32_t>(size());
  if (has_partial) {  // the words starting with the typed letters, longer than them
    const std::u32string low = lower(partial);
    auto from = std::lower_bound(vocab_.begin(), vocab_.end(), low);
    auto to = std::lower_bound(from, vocab_.end(), low + U'􏿿');
    lo = kSpecial + static_cast<uint32_t>(from - vocab_.begin());
    hi = kSpecial + static_cast<uint32_t>(to - vocab_.begin());
    if (lo < hi && vocab_[lo - kSpecial] == low) lo++;
  }
  if (lo >= hi) return {};
  // each level's k best in [lo, hi) suffice: a word's score is that of the highest level
  // holding it, at least its (scaled) score at any lower level
  std::vector<uint32_t> ws = top_unigrams(lo, hi, k);
  auto level = [&](const std::vector<uint32_t>& w, const std::vector<float>& lp, uint32_t s,
                   uint32_t e) {
    uint32_t a = std::lower_bound(w.begin() + s, w.begin() + e, lo) - w.begin();
    uint32_t z = std::lower_bound(w.begin() + a, w.begin() + e, hi) - w.begin();
    for (uint32_t i : top(lp, a, z, k)) ws.push_back(w[i]);
  };
  if (off1_[v + 1] > off1_[v]) level(w2_, lp2_, off1_[v], off1_[v + 1]);
  long b = bigram(u, v);
  if (b >= 0 && off2_[b + 1] > off2_[b]) level(w3_, lp3_, off2_[b], off2_[b + 1]);
  std::sort(ws.begin(), ws.end());
  ws.erase(std::unique(ws.begin(), ws.end()), ws.end());
  std::vector<std::pair<double, uint32_t>> scored;
  for (uint32_t w : ws) scored.emplace_back(score(u, v, w), w);
  // best first, equal scores by id (np.lexsort((ws, -scores)))
  std::sort(scored.begin(), scored.end(), [](const auto& a, const auto& b) {
    return a.first > b.first || (a.first == b.first && a.second < b.second);
  });
  std::vector<std::pair<std::u32string, double>> out;
  for (size_t i = 0; i < scored.size() && i < k; i++)
    out.emplace_back(vocab_[scored[i].second - kSpecial], scored[i].first);
  return out;
}

double Ngram::next_word_logprob(const std::u32string& text, const std::u32string& word,
                                const TextRules& rules) const {
  const size_t n = text.size();
  std::vector<std::u32string> ws =
      rules.words(rules.normalize(n > kMaxPrefixChars ? text.substr(n - kMaxPrefixChars) : text));
  const size_t k = ws.size();
  const uint32_t u = k >= 2 ? id(ws[k - 2]) : kBos, v = k >= 1 ? id(ws[k - 1]) : kBos;
  const std::u32string key = lower(rules.normalize(word));
  return score(u, v, key == U"</s>" ? kEos : id(key));
}

// ---------------------------------------------------------------------------- the mix

std::unique_ptr<NgramMix> NgramMix::load(const Bundle& bundle) {
  const json& m = bundle.manifest;
  if (!m.contains("ngram") || m["ngram"].is_null()) return nullptr;
  const std::string where = bundle.dir + "/manifest.json: ngram";
  const json& spec = m["ngram"];
  if (!spec.is_object()) throw bundle_error(where + ": not an object");
  for (const char* key : {"file", "type"})
    if (!spec.contains(key) || !spec[key].is_string())
      throw bundle_error(where + "." + key + ": missing or not a string");
  if (spec["type"] != kType)
    throw bundle_error(where + ".type: " + spec["type"].dump() + ", the native decoder reads \"" +
                       kType + "\"");
  if (!spec.contains("neural_weight") || !spec["neural_weight"].is_number() ||
      !(spec["neural_weight"].get<double>() >= 0.0 && spec["neural_weight"].get<double>() <= 1.0))
    throw bundle_error(where + ".neural_weight: missing or not a number from 0 to 1");
  const std::string file = spec["file"], listed = bundle.path_of("ngram");
  if (listed != bundle.dir + "/" + file)
    throw bundle_error(where + ".file: \"" + file + "\" is not the file listed with role 'ngram'" +
                       (listed.empty() ? " (none is)" : " (" + listed + ")"));
  return std::unique_ptr<NgramMix>(
      new NgramMix(Ngram::load(listed), spec["neural_weight"].get<double>()));
}

Words NgramMix::mix(const Words& words, const std::u32string& text,
                    const TextRules& rules) const {
  const double w = neural_weight_;
  // lowercase -> (display, P_neural), in first-seen order, later values kept (a dict's)
  std::vector<std::u32string> keys;
  std::map<std::u32string, std::pair<std::u32string, double>> neural;
  for (const auto& [word, p] : words) {
    std::u32string key = lower(word);
    if (!neural.count(key)) keys.push_back(key);
    neural[key] = {word, p};
  }
  std::map<std::u32string, double> grams;
  for (const auto& [word, logp] : model_.suggest(text, kCandidates, rules)) {
    if (!neural.count(word) && !grams.count(word)) keys.push_back(word);
    grams[word] = std::exp(logp);
  }
  Words mixed;
  for (const std::u32string& key : keys) {
    auto n = neural.find(key);
    std::u32string display = key;  // only the (lowercase) n-gram has it: "i" becomes "I"
    double p_neural = 0;
    if (n != neural.end()) {
      display = n->second.first, p_neural = n->second.second;
    } else if (key == U"i" || key.rfind(U"i'", 0) == 0) {
      display = U"I" + key.substr(1);
    }
    auto g = grams.find(key);
    double p_gram = 0;  // words outside its vocabulary get nothing (<unk>'s mass is all's)
    if (g != grams.end()) p_gram = g->second;
    else if (model_.knows(key)) p_gram = std::exp(model_.next_word_logprob(text, key, rules));
    mixed.emplace_back(display, w * p_neural + (1 - w) * p_gram);
  }
  std::stable_sort(mixed.begin(), mixed.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  return mixed;
}

void NgramMix::interpolate(const std::u32string& text, const std::vector<std::u32string>& words,
                           std::vector<double>* logp, const TextRules& rules) const {
  const double w = neural_weight_;
  for (size_t i = 0; i < words.size(); i++)
    (*logp)[i] = logaddexp(std::log(w) + (*logp)[i],
                           std::log1p(-w) + model_.next_word_logprob(text, words[i], rules));
}

}  // namespace kbd
