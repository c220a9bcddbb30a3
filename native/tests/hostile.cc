// Hostile and random input through the C interface: NULL arguments, invalid UTF-8, unknown
// hints, random text of every script and length (up to 100,000 code points), and damaged
// bundle folders (each refused with KBD_LM_ERR_BUNDLE naming the file, none crashing). With a
// bundle that mixes in an n-gram (docs/decoding.md section 8): random text through its mix,
// and its n-gram file and manifest entry damaged. Built with AddressSanitizer and
// UndefinedBehaviorSanitizer by `make native-sanitize`.
//
//   kbd_lm_hostile BUNDLE_DIR [RANDOM_TEXTS [NGRAM_BUNDLE_DIR]]
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <unistd.h>

#include <nlohmann/json.hpp>
#include <zlib.h>

#include "kbd_lm.h"
#include "sha256.h"
#include "unicode.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

int failures = 0;

void expect(bool ok, const std::string& what) {
  if (!ok && failures++ < 40) std::printf("FAIL: %s\n", what.c_str());
}

// A suggestion list must hold at most k words of valid UTF-8 with probabilities in (0, 1].
void check_answer(kbd_lm_status st, kbd_lm_suggestions* s, int k, bool valid_utf8,
                  const std::string& what) {
  if (!valid_utf8) {
    expect(st == KBD_LM_ERR_ARGUMENT && !s, what + ": invalid UTF-8 not refused");
    return;
  }
  expect(st == KBD_LM_OK, what + ": " + kbd_lm_last_error());
  if (st != KBD_LM_OK) return;
  expect(s->count <= static_cast<size_t>(k > 0 ? k : 0), what + ": more than k words");
  for (size_t i = 0; i < s->count; i++) {
    std::u32string w;
    expect(kbd::decode_utf8(s->items[i].word, &w) && !w.empty(), what + ": bad word");
    double p = s->items[i].probability;
    expect(std::isfinite(p) && p > 0 && p <= 1.0 + 1e-9, what + ": bad probability");
  }
  kbd_lm_suggestions_free(s);
}

// kbd_lm_suggest, then check_answer on what it gave
void suggest(kbd_lm_predictor* p, const char* text, size_t len, int k,
             const kbd_lm_suggest_options* opts, bool valid_utf8, const std::string& what) {
  kbd_lm_suggestions* s = nullptr;
  kbd_lm_status st = kbd_lm_suggest(p, text, len, k, opts, &s);
  check_answer(st, s, k, valid_utf8, what);
}

// Typo correction's layout and taps: what is refused, and what an answer looks like.
void typing_arguments(kbd_lm_predictor* p) {
  kbd_lm_suggest_options on = {nullptr, nullptr, 1};
  kbd_lm_suggestions* s = nullptr;
  kbd_lm_typing colemak = {"colemak", nullptr, 0};
  kbd_lm_status st = kbd_lm_suggest_typing(p, "see yo", 6, 3, &on, &colemak, &s);
  // (a bundle without typing.json does not correct, so reads no layout)
  expect(st == KBD_LM_ERR_ARGUMENT ? std::strstr(kbd_lm_last_error(), "colemak") != nullptr
                                   : st == KBD_LM_OK,
         std::string("unknown layout: ") + kbd_lm_last_error());
  kbd_lm_suggestions_free(s), s = nullptr;
  const double taps[] = {0.5, 0.5, 1.5, 0.5, 2.5, 0.5};
  kbd_lm_typing three = {nullptr, taps, 3};
  st = kbd_lm_suggest_typing(p, "see yo", 6, 3, &on, &three, &s);
  expect(st == KBD_LM_ERR_ARGUMENT || st == KBD_LM_OK, "3 taps for 2 letters");
  kbd_lm_suggestions_free(s), s = nullptr;
  const double inf[] = {INFINITY, 0.5, 0.5, 0.5};
  kbd_lm_typing infinite = {nullptr, inf, 2};
  expect(kbd_lm_suggest_typing(p, "see yo", 6, 3, &on, &infinite, &s) == KBD_LM_ERR_ARGUMENT,
         "an infinite tap");
  kbd_lm_typing null_taps = {nullptr, nullptr, 2};
  expect(kbd_lm_suggest_typing(p, "see yo", 6, 3, &on, &null_taps, &s) == KBD_LM_ERR_ARGUMENT,
         "NULL taps with a count");
  const double far[] = {-1e300, 1e300, NAN, NAN};  // far off the keys, and no tap
  kbd_lm_typing off = {nullptr, far, 2};
  st = kbd_lm_suggest_typing(p, "see yo", 6, 3, &on, &off, &s);
  check_answer(st, s, 3, true, "taps off the layout");
}

void arguments(kbd_lm_predictor* p) {
  kbd_lm_suggestions* s = nullptr;
  expect(kbd_lm_suggest(nullptr, "a", 1, 3, nullptr, &s) == KBD_LM_ERR_ARGUMENT, "NULL predictor");
  expect(kbd_lm_suggest(p, "a", 1, 3, nullptr, nullptr) == KBD_LM_ERR_ARGUMENT, "NULL out");
  expect(kbd_lm_suggest(p, nullptr, 5, 3, nullptr, &s) == KBD_LM_ERR_ARGUMENT, "NULL text");
  suggest(p, nullptr, 0, 3, nullptr, true, "NULL empty text");
  kbd_lm_suggest_options bad_hint = {"sms", nullptr, 0};
  expect(kbd_lm_suggest(p, "a", 1, 3, &bad_hint, &s) == KBD_LM_ERR_ARGUMENT &&
             std::strstr(kbd_lm_last_error(), "sms"),
         "unknown hint");
  kbd_lm_suggest_options correction = {nullptr, nullptr, 1};
  suggest(p, "a", 1, 3, &correction, true, "correction");
  typing_arguments(p);
  for (int k : {0, -7}) suggest(p, "see you ", 8, k, nullptr, true, "k <= 0");
  suggest(p, "see yo", 6, 1000, nullptr, true, "k = 1000");
  const char* invalid[] = {"\xff", "ab\xc3", "\xc0\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                           "caf\xe9 ", "\xe2\x82"};
  for (const char* t : invalid) suggest(p, t, std::strlen(t), 3, nullptr, false, "invalid UTF-8");
  expect(kbd_lm_blocklist_add(p, nullptr) == KBD_LM_ERR_ARGUMENT, "NULL blocklist entry");
  expect(kbd_lm_blocklist_add(p, "\xff") == KBD_LM_ERR_ARGUMENT, "invalid blocklist entry");
  kbd_lm_history* h = nullptr;
  expect(kbd_lm_history_create(nullptr, &h) == KBD_LM_ERR_ARGUMENT && !h, "NULL predictor");
  expect(kbd_lm_clear_cache(nullptr) == KBD_LM_ERR_ARGUMENT, "clear_cache of NULL");
  expect(kbd_lm_clear_cache(p) == KBD_LM_OK, "clear_cache");
  kbd_lm_predictor* none = nullptr;
  expect(kbd_lm_open(nullptr, &none) == KBD_LM_ERR_ARGUMENT, "NULL bundle dir");
}

std::string read_file(const fs::path& path);

// Code points from blocks that exercise every rule: ASCII, spaces and controls, Latin with
// combining marks, Greek (final sigma), Turkish I, Hangul jamo, CJK, emoji with joiners,
// unassigned, private use and the last code point.
char32_t random_cp(std::mt19937& rng) {
  static const std::vector<std::pair<char32_t, char32_t>> blocks = {
      {0x20, 0x7E}, {0x61, 0x7A}, {0x61, 0x7A}, {0x20, 0x20}, {0x00, 0x1F}, {0x7F, 0xFF},
      {0x300, 0x36F}, {0x391, 0x3C9}, {0x130, 0x131}, {0x1100, 0x11FF}, {0xAC00, 0xD7A3},
      {0x4E00, 0x4E40}, {0x1F600, 0x1F64F}, {0x200B, 0x200F}, {0x2018, 0x2029},
      {0xFE0E, 0xFE0F}, {0x0378, 0x0379}, {0xE000, 0xE010}, {0x10FFFF, 0x10FFFF},
      {0x660, 0x669}, {0x1FAE8, 0x1FAE8}};
  const auto& b = blocks[rng() % blocks.size()];
  return b.first + rng() % (b.second - b.first + 1);
}

void random_texts(kbd_lm_predictor* p, int count, size_t max_tokens, size_t short_tokens) {
  std::mt19937 rng(20261207);
  kbd_lm_history* history = nullptr;  // learns the random texts too
  expect(kbd_lm_history_create(p, &history) == KBD_LM_OK, "history");
  for (int i = 0; i < count; i++) {
    std::string text;
    bool valid = true;
    size_t len = rng() % 8 == 0 ? rng() % 2000 : rng() % 80;
    if (i % 200 == 0) len = 100000;  // very long text
    if (rng() % 10 == 0) {  // random bytes: mostly invalid UTF-8
      for (size_t j = 0; j < len; j++) text.push_back(static_cast<char>(rng()));
      std::u32string out;
      valid = kbd::decode_utf8(text, &out);
    } else {
      std::u32string cps;
      for (size_t j = 0; j < len; j++) cps.push_back(random_cp(rng));
      text = kbd::encode_utf8(cps);
    }
    int k = static_cast<int>(rng() % 12) - 1;
    const char* hints[] = {nullptr, "message", "email", "prose"};
    kbd_lm_suggest_options opts = {hints[rng() % 4], rng() % 2 ? history : nullptr,
                                   static_cast<int>(rng() % 2)};
    const char* fields[] = {"text", "text", "password", nullptr};
    kbd_lm_status learned = kbd_lm_history_learn(history, text.data(), text.size(),
                                                 fields[rng() % 4], nullptr);
    expect(valid ? learned == KBD_LM_OK : learned == KBD_LM_ERR_ARGUMENT,
           "learn random text " + std::to_string(i) + ": " + kbd_lm_last_error());
    suggest(p, text.data(), text.size(), k, &opts, valid, "random text " + std::to_string(i));
    kbd_lm_input* in = nullptr;
    kbd_lm_status st = kbd_lm_decode_input(p, text.data(), text.size(), opts.hint, &in);
    expect(valid ? st == KBD_LM_OK : st == KBD_LM_ERR_ARGUMENT, "decode_input " + std::to_string(i));
    // bos [hint] pieces, or their last short_context_tokens past max_context_tokens
    if (in)
      expect(in->count >= 1 && in->count <= max_tokens &&
                 (in->ids[0] == 2 || in->count == short_tokens),
             "input ids");
    kbd_lm_input_free(in);
  }
  // the history learned from random text writes a file that reads back to the same bytes
  uint8_t* bytes = nullptr;
  size_t size = 0;
  expect(kbd_lm_history_save(history, &bytes, &size) == KBD_LM_OK, "save");
  kbd_lm_history* again = nullptr;
  expect(kbd_lm_history_load(p, bytes, size, &again) == KBD_LM_OK,
         std::string("load: ") + kbd_lm_last_error());
  uint8_t* bytes2 = nullptr;
  size_t size2 = 0;
  if (again) kbd_lm_history_save(again, &bytes2, &size2);
  expect(size == size2 && bytes2 && std::memcmp(bytes, bytes2, size) == 0, "reload differs");
  kbd_lm_bytes_free(bytes);
  kbd_lm_bytes_free(bytes2);
  kbd_lm_history_free(again);
  kbd_lm_history_free(history);
}

// ---- damaged bundles: each a copy of the bundle with one thing wrong

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void write_file(const fs::path& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// Rewrites `name` and gives the manifest its new size and checksum, so that only the
// reader of that file can refuse it.
void replace_listed(const fs::path& dir, const std::string& name, const std::string& bytes) {
  write_file(dir / name, bytes);
  json m = json::parse(read_file(dir / "manifest.json"));
  m["files"][name]["bytes"] = bytes.size();
  m["files"][name]["sha256"] = kbd::sha256_hex(bytes.data(), bytes.size());
  write_file(dir / "manifest.json", m.dump(2));
}

void edit_manifest(const fs::path& dir, const std::function<void(json&)>& edit) {
  json m = json::parse(read_file(dir / "manifest.json"));
  edit(m);
  write_file(dir / "manifest.json", m.dump(2));
}

void damaged(const fs::path& bundle, const fs::path& work, const std::string& what,
             kbd_lm_status want, const std::string& named,
             const std::function<void(const fs::path&)>& damage) {
  fs::remove_all(work);
  fs::copy(bundle, work);
  damage(work);
  kbd_lm_predictor* p = nullptr;
  kbd_lm_status st = kbd_lm_open(work.c_str(), &p);
  std::string msg = kbd_lm_last_error();
  expect(st == want && !p, what + ": status " + kbd_lm_status_name(st) + " (" + msg + ")");
  expect(st == KBD_LM_OK || msg.find(named) != std::string::npos,
         what + ": message does not name " + named + ": " + msg);
  kbd_lm_free(p);
}

// A copy of the bundle changed by `change` still opens and suggests.
void opens(const fs::path& bundle, const fs::path& work, const std::string& what,
           const std::function<void(const fs::path&)>& change) {
  fs::remove_all(work);
  fs::copy(bundle, work);
  change(work);
  kbd_lm_predictor* p = nullptr;
  kbd_lm_status st = kbd_lm_open(work.c_str(), &p);
  expect(st == KBD_LM_OK, what + ": status " + kbd_lm_status_name(st) + " (" +
                              kbd_lm_last_error() + ")");
  kbd_lm_suggestions* s = nullptr;
  if (p) expect(kbd_lm_suggest(p, "see yo", 6, 3, nullptr, &s) == KBD_LM_OK && s->count > 0,
                what + ": no suggestions");
  kbd_lm_suggestions_free(s);
  kbd_lm_free(p);
}

// typing.json damaged inside (checksum updated): refused, naming the file and the field.
void damaged_typing(const fs::path& bundle, const fs::path& work) {
  const kbd_lm_status B = KBD_LM_ERR_BUNDLE;
  const json good = json::parse(read_file(bundle / "typing.json"));
  auto with = [&](const std::function<void(json&)>& edit) {
    return [edit, good](const fs::path& d) {
      json t = good;
      edit(t);
      replace_listed(d, "typing.json", t.dump());
    };
  };
  damaged(bundle, work, "typing.json not JSON", B, "typing.json",
          [](const fs::path& d) { replace_listed(d, "typing.json", "{\"layouts\": ["); });
  damaged(bundle, work, "typing.json version", B, "version", with([](json& t) { t["version"] = 9; }));
  damaged(bundle, work, "typing.json spread", B, "channel.touch_spread",
          with([](json& t) { t["channel"]["touch_spread"] = "wide"; }));
  damaged(bundle, work, "typing.json no margin", B, "correction.autocorrect_margin",
          with([](json& t) { t["correction"].erase("autocorrect_margin"); }));
  damaged(bundle, work, "typing.json no layouts", B, "layouts",
          with([](json& t) { t["layouts"] = json::array(); }));
  damaged(bundle, work, "typing.json row keys", B, "rows",
          with([](json& t) { t["layouts"][0]["rows"][0]["keys"] = 5; }));
  damaged(bundle, work, "typing.json layout format", B, "layout",
          with([](json& t) { t["layouts"][0]["format"] = "x"; }));
  damaged(bundle, work, "typing.json key width", B, "key_width",
          with([](json& t) { t["layouts"][0]["key_width"] = 0; }));
}

void damaged_bundles(const fs::path& bundle) {
  fs::path work = fs::temp_directory_path() / ("kbd_lm_hostile_" + std::to_string(getpid()));
  const kbd_lm_status B = KBD_LM_ERR_BUNDLE;
  damaged(bundle, work, "no manifest", B, "manifest.json",
          [](const fs::path& d) { fs::remove(d / "manifest.json"); });
  damaged(bundle, work, "manifest cut", B, "manifest.json", [](const fs::path& d) {
    std::string m = read_file(d / "manifest.json");
    write_file(d / "manifest.json", m.substr(0, m.size() / 2));
  });
  for (int v : {2, 5})
    damaged(bundle, work, "format_version " + std::to_string(v), B, "format_version",
            [v](const fs::path& d) { edit_manifest(d, [v](json& m) { m["format_version"] = v; }); });
  // typing.json (format 4) is checked like every listed file
  const bool typing = fs::exists(bundle / "typing.json");  // (a format-3 bundle has none)
  if (typing) {
    damaged(bundle, work, "typing.json byte flipped", B, "typing.json", [](const fs::path& d) {
      std::string b = read_file(d / "typing.json");
      b[b.size() / 2] ^= 0x40;
      write_file(d / "typing.json", b);
    });
    damaged(bundle, work, "typing.json missing", B, "typing.json",
            [](const fs::path& d) { fs::remove(d / "typing.json"); });
  }
  damaged(bundle, work, "no sha256", B, "files.model.tflite", [](const fs::path& d) {
    edit_manifest(d, [](json& m) { m["files"]["model.tflite"].erase("sha256"); });
  });
  damaged(bundle, work, "bytes a string", B, "bytes", [](const fs::path& d) {
    edit_manifest(d, [](json& m) { m["files"]["lexicon.txt.gz"]["bytes"] = "many"; });
  });
  damaged(bundle, work, "file missing", B, "blocklist.txt",
          [](const fs::path& d) { fs::remove(d / "blocklist.txt"); });
  damaged(bundle, work, "file outside", B, "files.../x", [](const fs::path& d) {
    edit_manifest(d, [](json& m) { m["files"]["../x"] = m["files"]["ops.txt"]; });
  });
  damaged(bundle, work, "model byte flipped", B, "model.tflite", [](const fs::path& d) {
    std::string b = read_file(d / "model.tflite");
    b[b.size() / 2] ^= 0x40;
    write_file(d / "model.tflite", b);
  });
  damaged(bundle, work, "model cut", B, "model.tflite", [](const fs::path& d) {
    write_file(d / "model.tflite", read_file(d / "model.tflite").substr(0, 4096));
  });
  // LiteRT does not verify the flatbuffer: the library checks it (src/tflite_check.cc)
  // cut early, in the middle and 240 bytes before the end, whatever the model's size
  const size_t model_bytes = fs::file_size(bundle / "model.tflite");
  for (size_t cut : {size_t{4096}, model_bytes / 2, model_bytes - 240})
    damaged(bundle, work, "model cut, checksum updated", B, "model.tflite", [cut](const fs::path& d) {
      replace_listed(d, "model.tflite", read_file(d / "model.tflite").substr(0, cut));
    });
  damaged(bundle, work, "tokenizer.json not JSON", B, "tokenizer.json",
          [](const fs::path& d) { replace_listed(d, "tokenizer.json", "{\"pieces\": [1, 2"); });
  damaged(bundle, work, "tokenizer.json piece", B, "tokenizer.json", [](const fs::path& d) {
    json t = json::parse(read_file(d / "tokenizer.json"));
    t["pieces"][500] = {"x", "score", 1};
    replace_listed(d, "tokenizer.json", t.dump());
  });
  damaged(bundle, work, "tokenizer.json unicode", B, "unicode_version", [](const fs::path& d) {
    json t = json::parse(read_file(d / "tokenizer.json"));
    t["text"]["unicode_version"] = "15.0.0";
    replace_listed(d, "tokenizer.json", t.dump());
  });
  damaged(bundle, work, "lexicon not gzip", B, "lexicon.txt.gz",
          [](const fs::path& d) { replace_listed(d, "lexicon.txt.gz", "not gzip at all"); });
  damaged(bundle, work, "blocklist not UTF-8", B, "blocklist.txt",
          [](const fs::path& d) { replace_listed(d, "blocklist.txt", "ok\n\xff\xfe\n"); });
  damaged(bundle, work, "beam wider than batches", B, "beam_width", [](const fs::path& d) {
    edit_manifest(d, [](json& m) { m["decoding"]["beam_width"] = 16; });
  });
  damaged(bundle, work, "n-gram without its file", B, "ngram", [](const fs::path& d) {
    edit_manifest(d, [](json& m) {
      m["ngram"] = {{"file", "ngram.kn3"}, {"type", "kneser-ney-trigram"}, {"neural_weight", 0.5}};
    });
  });
  // a bundle that does not correct: format 3 (no typing.json), format 4 without typing.json
  auto unlist_typing = [](const fs::path& d) {
    fs::remove(d / "typing.json");
    edit_manifest(d, [](json& m) { m["files"].erase("typing.json"); });
  };
  opens(bundle, work, "format 3", [&](const fs::path& d) {
    unlist_typing(d);
    edit_manifest(d, [](json& m) { m["format_version"] = 3; });
  });
  opens(bundle, work, "format 4 without typing.json", [&](const fs::path& d) {
    unlist_typing(d);
    edit_manifest(d, [](json& m) { m["format_version"] = 4; });
  });
  if (typing) damaged_typing(bundle, work);
  // random damage inside tokenizer.json and model.tflite (checksums updated): refused or
  // read, never a crash
  std::mt19937 rng(7);
  for (const char* name : {"tokenizer.json", "model.tflite"}) {
    std::string original = read_file(bundle / name);
    for (int i = 0; i < 20; i++) {
      fs::remove_all(work);
      fs::copy(bundle, work);
      std::string t = original;
      // the model's structure is in its first and last kilobytes; its weights in between
      size_t span = std::string(name) == "model.tflite" ? 2048 : t.size();
      for (int j = 0; j < 4; j++) {
        size_t at = rng() % span;
        if (std::string(name) == "model.tflite" && at >= 1024) at = t.size() - 1 - (at - 1024);
        t[at] = static_cast<char>(rng());
      }
      replace_listed(work, name, t);
      kbd_lm_predictor* p = nullptr;
      kbd_lm_status st = kbd_lm_open(work.c_str(), &p);
      expect(st == KBD_LM_OK || st == KBD_LM_ERR_BUNDLE || st == KBD_LM_ERR_RUNTIME,
             std::string("random damage in ") + name + ": " + kbd_lm_last_error());
      if (p) {  // a damaged file that still loads must still answer
        kbd_lm_suggestions* s = nullptr;
        kbd_lm_status ss = kbd_lm_suggest(p, "see yo", 6, 3, nullptr, &s);
        expect(ss == KBD_LM_OK || ss == KBD_LM_ERR_RUNTIME, "suggest after damage");
        kbd_lm_suggestions_free(s);
      }
      kbd_lm_free(p);
    }
  }
  fs::remove_all(work);
}

// ---- the n-gram (ngram.kn3, kbd_lm/ngram/file.py's layout): damaged inside, checksum updated

// The file's parts: magic, a uint32 header length and JSON header, the zlib vocabulary, then
// the sections the header lists, in order.
struct Kn3 {
  json header;
  std::string vocab;                    // zlib-compressed
  std::vector<std::string> sections;    // the bytes of each, in the header's order
};

size_t item_bytes(const std::string& dtype) { return dtype == "|u1" ? 1 : dtype[2] - '0'; }

Kn3 kn3_parse(const std::string& b) {
  uint32_t n = 0;
  std::memcpy(&n, b.data() + 8, 4);  // (little-endian, as x86-64)
  Kn3 f;
  f.header = json::parse(b.substr(12, n));
  size_t at = 12 + n;
  f.vocab = b.substr(at, f.header["vocab_zlib_bytes"].get<size_t>());
  at += f.vocab.size();
  for (const json& s : f.header["sections"]) {
    size_t bytes = s[2].get<size_t>() * item_bytes(s[1]);
    f.sections.push_back(b.substr(at, bytes));
    at += bytes;
  }
  return f;
}

std::string kn3_pack(const Kn3& f) {
  std::string head = f.header.dump();
  uint32_t n = static_cast<uint32_t>(head.size());
  std::string out("KBDKN3\0\1", 8);
  out.append(reinterpret_cast<const char*>(&n), 4);
  out += head + f.vocab;
  for (const auto& s : f.sections) out += s;
  return out;
}

int section_index(const Kn3& f, const std::string& name) {
  for (size_t i = 0; i < f.header["sections"].size(); i++)
    if (f.header["sections"][i][0] == name) return static_cast<int>(i);
  return -1;
}

// the uint16 or uint32 id at i of an id section
uint32_t id_get(const Kn3& f, int sec, size_t i) {
  uint32_t v = 0;
  size_t n = item_bytes(f.header["sections"][sec][1]);
  std::memcpy(&v, f.sections[sec].data() + i * n, n);
  return v;
}

void id_set(Kn3& f, int sec, size_t i, uint32_t v) {
  size_t n = item_bytes(f.header["sections"][sec][1]);
  std::memcpy(&f.sections[sec][i * n], &v, n);
}

std::string zlib_compress(const std::string& text) {
  uLongf size = compressBound(text.size());
  std::string out(size, '\0');
  compress(reinterpret_cast<Bytef*>(&out[0]), &size, reinterpret_cast<const Bytef*>(text.data()),
           text.size());
  out.resize(size);
  return out;
}

void damaged_ngram_file(const fs::path& bundle, const fs::path& work) {
  const kbd_lm_status B = KBD_LM_ERR_BUNDLE;
  const std::string good = read_file(bundle / "ngram.kn3");
  const std::string why = "ngram.kn3: not a readable Kneser-Ney model file: ";
  auto raw = [&](const std::string& what, const std::string& field,
                 const std::function<std::string(std::string)>& change) {
    damaged(bundle, work, "ngram.kn3 " + what, B, why + field,
            [&](const fs::path& d) { replace_listed(d, "ngram.kn3", change(good)); });
  };
  auto parts = [&](const std::string& what, const std::string& field,
                   const std::function<void(Kn3&)>& change) {
    raw(what, field, [&](std::string b) {
      Kn3 f = kn3_parse(b);
      change(f);
      return kn3_pack(f);
    });
  };
  // the good file repacked (its header's keys now sorted) still opens: the damage is all
  opens(bundle, work, "ngram.kn3 repacked", [&](const fs::path& d) {
    replace_listed(d, "ngram.kn3", kn3_pack(kn3_parse(good)));
  });
  raw("empty", "magic", [](std::string) { return std::string(); });
  raw("bad magic", "magic", [](std::string b) { return b[0] ^= 1, b; });
  raw("cut in its length", "header", [](std::string b) { return b.substr(0, 10); });
  raw("cut in its header", "header", [](std::string b) { return b.substr(0, 40); });
  raw("header length past the end", "header", [](std::string b) {
    return b.replace(8, 4, "\xff\xff\xff\x7f"), b;
  });
  raw("header not JSON", "header", [](std::string b) { return b[12] = '[', b; });
  raw("a byte after the end", "sections", [](std::string b) { return b + '\0'; });
  raw("cut at the end", "section", [](std::string b) { return b.substr(0, b.size() - 3); });
  parts("version 2", "header.version", [](Kn3& f) { f.header["version"] = 2; });
  parts("no vocab_zlib_bytes", "header.vocab_zlib_bytes",
        [](Kn3& f) { f.header.erase("vocab_zlib_bytes"); });
  parts("vocab_zlib_bytes past the end", "header.vocab_zlib_bytes",
        [](Kn3& f) { f.header["vocab_zlib_bytes"] = 1 << 30; });
  parts("vocab not zlib", "vocab", [](Kn3& f) {
    f.vocab = "not zlib at all";
    f.header["vocab_zlib_bytes"] = f.vocab.size();
  });
  parts("vocab not UTF-8", "vocab", [](Kn3& f) {
    f.vocab = zlib_compress("a\nb\xff\nc");
    f.header["vocab_zlib_bytes"] = f.vocab.size();
  });
  parts("vocab out of order", "vocab", [](Kn3& f) {
    std::string text;
    uLongf size = 1 << 24;
    text.resize(size);
    uncompress(reinterpret_cast<Bytef*>(&text[0]), &size,
               reinterpret_cast<const Bytef*>(f.vocab.data()), f.vocab.size());
    text.resize(size);
    text = "zzzz\n" + text.substr(text.find('\n') + 1);  // the first word now sorts last
    f.vocab = zlib_compress(text);
    f.header["vocab_zlib_bytes"] = f.vocab.size();
  });
  parts("vocab_size off", "header.vocab_size",
        [](Kn3& f) { f.header["vocab_size"] = f.header["vocab_size"].get<int>() + 1; });
  parts("no sections", "header.sections", [](Kn3& f) { f.header.erase("sections"); });
  parts("a section not a triple", "header.sections",
        [](Kn3& f) { f.header["sections"][0] = {"p1", "|u1"}; });
  parts("dtype int64", "section p1", [](Kn3& f) { f.header["sections"][0][1] = "<i8"; });
  parts("no p3", "header.sections: no section p3", [](Kn3& f) {
    int i = section_index(f, "p3");
    f.header["sections"].erase(i);
    f.sections.erase(f.sections.begin() + i);
  });
  parts("counts do not add up", "sections", [](Kn3& f) {
    int n1 = section_index(f, "n1");
    id_set(f, n1, 0, id_get(f, n1, 0) + 1);
  });
  parts("word id past the vocabulary", "sections w2, w3", [](Kn3& f) {
    id_set(f, section_index(f, "w2"), 0, f.header["vocab_size"].get<uint32_t>());
  });
  parts("followers out of order", "sections w2, w3", [](Kn3& f) {
    int n1 = section_index(f, "n1"), w2 = section_index(f, "w2");
    size_t at = 0;  // the first context with two followers: its second repeats its first
    for (size_t v = 0; id_get(f, n1, v) < 2; v++) at += id_get(f, n1, v);
    id_set(f, w2, at + 1, id_get(f, w2, at));
  });
  if (section_index(kn3_parse(good), "book_p1") >= 0) {  // 8 bits: codebooks
    parts("codes past a short codebook", "section p1", [](Kn3& f) {
      int book = section_index(f, "book_p1");
      f.header["sections"][book][2] = 1;
      f.sections[book].resize(4);
    });
    parts("NaN in a codebook", "section p2", [](Kn3& f) {
      std::string& book = f.sections[section_index(f, "book_p2")];
      const float nan = NAN;
      for (size_t i = 0; i + 4 <= book.size(); i += 4) std::memcpy(&book[i], &nan, 4);
    });
    parts("codes without a codebook", "section p3", [](Kn3& f) {
      int book = section_index(f, "book_p3");
      f.header["sections"].erase(book);
      f.sections.erase(f.sections.begin() + book);
    });
  }
}

// The manifest's "ngram" entry wrong, and random damage inside the file: refused naming the
// field, or read and answering; never a crash.
void damaged_ngram(const fs::path& bundle) {
  fs::path work = fs::temp_directory_path() / ("kbd_lm_hostile_ngram_" + std::to_string(getpid()));
  const kbd_lm_status B = KBD_LM_ERR_BUNDLE;
  auto entry = [](const std::function<void(json&)>& edit) {
    return [edit](const fs::path& d) { edit_manifest(d, [&](json& m) { edit(m["ngram"]); }); };
  };
  damaged(bundle, work, "ngram not an object", B, "ngram", entry([](json& n) { n = 3; }));
  damaged(bundle, work, "ngram.type", B, "ngram.type",
          entry([](json& n) { n["type"] = "kneser-ney-5gram"; }));
  damaged(bundle, work, "ngram.neural_weight", B, "ngram.neural_weight",
          entry([](json& n) { n["neural_weight"] = 1.5; }));
  damaged(bundle, work, "no ngram.neural_weight", B, "ngram.neural_weight",
          entry([](json& n) { n.erase("neural_weight"); }));
  damaged(bundle, work, "ngram.file not listed", B, "ngram.file",
          entry([](json& n) { n["file"] = "other.kn3"; }));
  damaged(bundle, work, "ngram.kn3 byte flipped", B, "ngram.kn3", [](const fs::path& d) {
    std::string b = read_file(d / "ngram.kn3");
    b[b.size() / 2] ^= 0x40;
    write_file(d / "ngram.kn3", b);
  });
  damaged_ngram_file(bundle, work);
  std::mt19937 rng(11);
  const std::string good = read_file(bundle / "ngram.kn3");
  for (int i = 0; i < 60; i++) {
    fs::remove_all(work);
    fs::copy(bundle, work);
    std::string t = good;
    if (i % 4 == 3) {
      t.resize(rng() % t.size());  // cut anywhere
    } else {
      for (int j = 0; j < 1 + i % 4; j++) t[rng() % t.size()] = static_cast<char>(rng());
    }
    replace_listed(work, "ngram.kn3", t);
    kbd_lm_predictor* p = nullptr;
    kbd_lm_status st = kbd_lm_open(work.c_str(), &p);
    expect(st == KBD_LM_OK || (st == KBD_LM_ERR_BUNDLE &&
                               std::strstr(kbd_lm_last_error(), "ngram.kn3") != nullptr),
           std::string("random damage in ngram.kn3: ") + kbd_lm_last_error());
    if (p) {  // a damaged file that still loads must still answer
      for (const char* text : {"see yo", "see you ", "", "I"}) {
        kbd_lm_suggestions* s = nullptr;
        expect(kbd_lm_suggest(p, text, std::strlen(text), 3, nullptr, &s) == KBD_LM_OK,
               "suggest after n-gram damage");
        kbd_lm_suggestions_free(s);
      }
    }
    kbd_lm_free(p);
  }
  fs::remove_all(work);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s BUNDLE_DIR [RANDOM_TEXTS [NGRAM_BUNDLE_DIR]]\n", argv[0]);
    return 2;
  }
  int count = argc > 2 ? std::atoi(argv[2]) : 2000;
  kbd_lm_predictor* p = nullptr;
  if (kbd_lm_open(argv[1], &p) != KBD_LM_OK) {
    std::fprintf(stderr, "kbd_lm_open: %s\n", kbd_lm_last_error());
    return 1;
  }
  arguments(p);
  json decoding = json::parse(read_file(fs::path(argv[1]) / "manifest.json"))["decoding"];
  random_texts(p, count, decoding["max_context_tokens"], decoding["short_context_tokens"]);
  kbd_lm_free(p);
  damaged_bundles(argv[1]);
  if (argc > 3) {  // a bundle with an n-gram: random text through its mix, and damage
    kbd_lm_predictor* q = nullptr;
    if (kbd_lm_open(argv[3], &q) != KBD_LM_OK) {
      std::fprintf(stderr, "kbd_lm_open %s: %s\n", argv[3], kbd_lm_last_error());
      return 1;
    }
    json d = json::parse(read_file(fs::path(argv[3]) / "manifest.json"))["decoding"];
    random_texts(q, count / 4, d["max_context_tokens"], d["short_context_tokens"]);
    kbd_lm_free(q);
    damaged_ngram(argv[3]);
  }
  std::printf("hostile: arguments, %d random texts, damaged bundles%s: %d failures\n", count,
              argc > 3 ? ", the n-gram" : "", failures);
  return failures == 0 ? 0 : 1;
}
