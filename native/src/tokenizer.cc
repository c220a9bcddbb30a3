#include "tokenizer.h"

#include <nlohmann/json.hpp>

#include "error.h"
#include "unicode.h"

namespace kbd {

using nlohmann::json;

namespace {
constexpr char32_t kWordStart = 0x2581;  // "▁", sentencepiece's escaped space
}

void Unigram::insert(const std::u32string& text, int32_t id) {
  if (node_piece_.empty()) node_piece_.push_back(-1);  // the root
  int32_t node = 0;
  for (char32_t c : text) {
    auto [it, fresh] =
        children_.emplace((uint64_t(node) << 21) | c, static_cast<int32_t>(node_piece_.size()));
    if (fresh) node_piece_.push_back(-1);
    node = it->second;
  }
  node_piece_[node] = id;  // (pieces are distinct in a sentencepiece model)
}

Unigram::Unigram(const json& doc, const std::string& source) {
  if (!doc.is_object() || doc.value("format", "") != "kbd-lm-tokenizer" ||
      doc.value("type", "") != "sentencepiece-unigram")
    throw bundle_error(source + ": not a kbd-lm sentencepiece-unigram tokenizer.json");
  const json& norm = doc.contains("normalizer") ? doc["normalizer"] : json();
  // The settings kbd_lm/text/tokenizer.py trains with; others would need other code here.
  if (!norm.is_object() || norm.value("name", "") != "identity" ||
      !norm.value("add_dummy_prefix", false) || !norm.value("escape_whitespaces", false) ||
      norm.value("remove_extra_whitespaces", true) ||
      norm.value("treat_whitespace_as_suffix", true) || !norm.value("byte_fallback", false) ||
      !norm.contains("unk_score") || !norm["unk_score"].is_number())
    throw bundle_error(source + ": field 'normalizer': unsupported sentencepiece settings " +
                       norm.dump());
  unk_score_ = static_cast<float>(norm["unk_score"].get<double>());
  if (!doc.contains("pieces") || !doc["pieces"].is_array())
    throw bundle_error(source + ": field 'pieces' is missing");
  for (auto& b : byte_ids_) b = -1;
  const size_t count = doc["pieces"].size();
  pieces_.reserve(count), types_.reserve(count), scores_.reserve(count);
  children_.reserve(6 * count);  // trie nodes: about 5 per piece in an 8,000-piece model
  node_piece_.reserve(6 * count);
  for (const auto& p : doc["pieces"]) {
    int32_t id = static_cast<int32_t>(pieces_.size());
    if (!p.is_array() || p.size() != 3 || !p[0].is_string() || !p[1].is_number() ||
        !p[2].is_number_integer())
      throw bundle_error(source + ": pieces[" + std::to_string(id) +
                         "] is not [piece, score, type]");
    std::u32string text;
    const std::string& utf8 = p[0].get_ref<const std::string&>();
    if (!decode_utf8(utf8, &text))
      throw bundle_error(source + ": pieces[" + std::to_string(id) + "] is not UTF-8");
    int type = p[2].get<int>();
    if (type < kNormal || type > kByte || type == kUserDefined)
      throw bundle_error(source + ": pieces[" + std::to_string(id) + "]: unsupported type " +
                         std::to_string(type));
    types_.push_back(static_cast<PieceType>(type));
    scores_.push_back(static_cast<float>(p[1].get<double>()));
    if (type == kNormal) {
      insert(text, id);
      max_len_ = std::max(max_len_, text.size());
    } else if (type == kByte) {
      std::string s = p[0].get<std::string>();  // "<0xAB>"
      if (s.size() != 6 || s.compare(0, 3, "<0x") != 0)
        throw bundle_error(source + ": pieces[" + std::to_string(id) + "]: not a byte piece");
      byte_ids_[std::stoi(s.substr(3, 2), nullptr, 16)] = id;
    } else if (type == kUnknown) {
      unk_id_ = id;
    }
    pieces_.push_back(std::move(text));
  }
  for (int b : byte_ids_)
    if (b < 0) throw bundle_error(source + ": byte fallback without all 256 byte pieces");
  if (doc.contains("hints") && doc["hints"].is_object())
    for (const auto& [name, id] : doc["hints"].items()) {
      if (!id.is_number_integer() || id.get<int>() < 0 ||
          id.get<size_t>() >= pieces_.size() || types_[id.get<int>()] != kControl)
        throw bundle_error(source + ": hints." + name + " is not a control piece");
      hints_[name] = id.get<int>();
    }
}

std::vector<int32_t> Unigram::encode(const std::u32string& text) const {
  if (text.empty()) return {};
  std::u32string s(1, kWordStart);
  for (char32_t c : text) s.push_back(c == U' ' ? kWordStart : c);
  const size_t n = s.size();
  std::vector<float> best(n + 1, 0.0f);  // float32 score of the best path ending here
  std::vector<long> from(n + 1, -1);     // where its last piece starts
  std::vector<int32_t> last(n + 1, 0);   // and which piece that is
  for (size_t i = 0; i < n; i++) {
    const float base = best[i];
    bool single = false;
    int32_t node = 0;  // walk the trie along s[i:]: pieces by ascending length
    for (size_t len = 1; len <= max_len_ && i + len <= n; len++) {
      auto it = children_.find((uint64_t(node) << 21) | s[i + len - 1]);
      if (it == children_.end()) break;
      node = it->second;
      const int32_t id = node_piece_[node];
      if (id < 0) continue;
      const float score = scores_[id] + base;  // rounded to float32
      const size_t end = i + len;
      if (from[end] == -1 || score > best[end]) {
        best[end] = score, from[end] = static_cast<long>(i), last[end] = id;
      }
      if (len == 1) single = true;
    }
    if (!single) {  // the unknown piece covers one character
      const float score = unk_score_ + base;
      if (from[i + 1] == -1 || score > best[i + 1]) {
        best[i + 1] = score, from[i + 1] = static_cast<long>(i), last[i + 1] = unk_id_;
      }
    }
  }
  std::vector<std::pair<size_t, size_t>> spans;  // (start, end) of each piece, backwards
  for (size_t end = n; end > 0; end = static_cast<size_t>(from[end])) spans.push_back({from[end], end});
  std::vector<int32_t> out;
  for (auto it = spans.rbegin(); it != spans.rend(); ++it) {
    int32_t id = last[it->second];
    if (id == unk_id_) {  // byte fallback: the UTF-8 bytes of the unknown character
      for (unsigned char b : encode_utf8(s.substr(it->first, it->second - it->first)))
        out.push_back(byte_ids_[b]);
    } else {
      out.push_back(id);
    }
  }
  return out;
}

}  // namespace kbd
