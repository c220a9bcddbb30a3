// The personal history's file through the C interface: after the messages of each sequence of
// history_golden.jsonl in the build folder (written by the Python UserHistory,
// tools/gen_history_golden.py) the native history writes the same bytes; read back, it writes
// them again; damaged files are refused naming the line and the problem; forget removes a word
// and its sequences.
//
//   kbd_lm_history_test BUNDLE_DIR GOLDEN.jsonl
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "kbd_lm.h"
#include "sha256.h"

namespace {

int failures = 0;

void expect(bool ok, const std::string& what) {
  if (!ok && failures++ < 40) std::printf("FAIL: %s\n", what.c_str());
}

std::string save(kbd_lm_history* h) {
  uint8_t* bytes = nullptr;
  size_t size = 0;
  if (kbd_lm_history_save(h, &bytes, &size) != KBD_LM_OK) return "";
  std::string out(reinterpret_cast<char*>(bytes), size);
  kbd_lm_bytes_free(bytes);
  return out;
}

kbd_lm_status load(kbd_lm_predictor* p, const std::string& data, kbd_lm_history** out) {
  return kbd_lm_history_load(p, reinterpret_cast<const uint8_t*>(data.data()), data.size(),
                             out);
}

void damaged(kbd_lm_predictor* p, const std::string& what, const std::string& data,
             const std::string& named) {
  kbd_lm_history* h = nullptr;
  kbd_lm_status st = load(p, data, &h);
  std::string msg = kbd_lm_last_error();
  expect(st == KBD_LM_ERR_ARGUMENT && !h, what + ": not refused");
  expect(msg.find(named) != std::string::npos, what + ": message '" + msg + "' lacks " + named);
  kbd_lm_history_free(h);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s BUNDLE_DIR GOLDEN.jsonl\n", argv[0]);
    return 2;
  }
  kbd_lm_predictor* p = nullptr;
  if (kbd_lm_open(argv[1], &p) != KBD_LM_OK) {
    std::fprintf(stderr, "kbd_lm_open: %s\n", kbd_lm_last_error());
    return 1;
  }
  std::ifstream in(argv[2]);
  std::string line, file;
  int sequences = 0;
  while (std::getline(in, line)) {
    auto g = nlohmann::json::parse(line);
    kbd_lm_history* h = nullptr;
    expect(kbd_lm_history_create(p, &h) == KBD_LM_OK, "create");
    for (const auto& m : g["learn"]) {
      std::string text = m[0], field = m[1];
      expect(kbd_lm_history_learn(h, text.data(), text.size(), field.c_str(), nullptr) ==
                 KBD_LM_OK,
             "learn");
    }
    file = g["file"];
    std::string mine = save(h);
    expect(mine == file, "sequence " + std::to_string(sequences) + ": file differs:\n" + mine);
    kbd_lm_history* again = nullptr;
    expect(load(p, file, &again) == KBD_LM_OK, std::string("load: ") + kbd_lm_last_error());
    if (again) expect(save(again) == file, "read back, written again: differs");
    kbd_lm_history_free(again);
    kbd_lm_history_free(h);
    sequences++;
  }
  // damage the last file of the sequences
  std::string body = file.substr(0, file.rfind("{\"sha256\""));
  damaged(p, "cut", file.substr(0, file.size() / 2), "checksum");
  damaged(p, "altered", "[" + file.substr(1), "checksum");
  damaged(p, "no entries", "", "no header");
  damaged(p, "not UTF-8", "x\n\xff\n", "checksum");
  // files with a valid checksum but a bad header or line
  auto signed_file = [](const std::string& b) {
    return b + "{\"sha256\": \"" + kbd::sha256_hex(b.data(), b.size()) + "\"}\n";
  };
  std::string entries = body.substr(body.find('\n') + 1);
  size_t n = std::count(entries.begin(), entries.end(), '\n');
  std::string head = "{\"format\": \"kbd-lm-history\", \"version\": 1, \"order\": 3, "
                     "\"half_life\": 2000.0, \"entries\": ";
  damaged(p, "version 2",
          signed_file("{\"format\": \"kbd-lm-history\", \"version\": 2, \"entries\": " +
                      std::to_string(n) + "}\n" + entries),
          "line 1: format version 2");
  damaged(p, "entries miscounted", signed_file(head + std::to_string(n + 1) + "}\n" + entries),
          "line 1: header says");
  damaged(p, "not a word", signed_file(head + "1}\n[1.0, \"a b\"]\n"), "line 2: an entry");
  damaged(p, "negative count", signed_file(head + "1}\n[-1.0, \"ab\"]\n"), "line 2: count");
  damaged(p, "start inside", signed_file(head + "1}\n[1.0, \"ab\", \"\", \"cd\"]\n"),
          "line 2: the sentence start");
  damaged(p, "entry not JSON", signed_file(head + "1}\n[1.0, \"ab\"\n"), "line 2: entry");
  // forget: the word and every sequence holding it go
  kbd_lm_history* h = nullptr;
  kbd_lm_history_create(p, &h);
  const char* msg = "see you soon";
  kbd_lm_history_learn(h, msg, std::strlen(msg), nullptr, nullptr);
  int found = 0;
  expect(kbd_lm_history_forget(h, "You", &found) == KBD_LM_OK && found, "forget");
  std::string after = save(h);
  expect(after.find("you") == std::string::npos, "forgotten word still in the file");
  expect(kbd_lm_history_forget(h, "never", &found) == KBD_LM_OK && !found, "forget unknown");
  size_t learned = 7;
  expect(kbd_lm_history_learn(h, "x", 1, "sms", &learned) == KBD_LM_ERR_ARGUMENT &&
             std::strstr(kbd_lm_last_error(), "sms"),
         "unknown field");
  expect(kbd_lm_history_learn(h, "my secret words", 15, "password", &learned) == KBD_LM_OK &&
             learned == 0,
         "password field learns nothing");
  kbd_lm_history_free(h);
  kbd_lm_free(p);
  std::printf("history: %d sequences written byte for byte as Python's, damaged files, forget: "
              "%d failures\n", sequences, failures);
  return failures == 0 && sequences > 0 ? 0 : 1;
}
