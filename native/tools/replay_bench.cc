// The native side of `make bench PROFILE=native` (kbd_lm.export.bench.native): times
// kbd_lm_suggest on the keystrokes the Python predictor is timed on, in a process of its own
// that the bench pins to the same core. Linked to the static core (the same objects as
// libkbd_lm.so) so that it can read how long LiteRT ran (kbd::model_run_nanoseconds).
//
//   kbd_lm_replay_bench replay BUNDLE_DIR SPEC.json OUT.json
//     SPEC: {"k": 3, "warm": [texts], "texts": [texts], "step_calls": 1000,
//            "step_warmup": 200, "seed": 0, "noisy": [texts], "exact": [texts]}
//     OUT:  {"open_first_us", "samples_us": [per text], "model_us": [per text: in LiteRT],
//            "steps_us": {"1": [...], "8": [...]}, "memory_kb": {...}, "cpu_share": the
//            process's CPU time over the wall time of the timed keystrokes,
//            "cpu_us": [per text: the thread's CPU time], "correct_us": {"noisy": [per
//            text], "exact": [...]}, "correct_model_us": {...}, "correct_cpu_us": {...}}
//     noisy and exact (optional): keystrokes timed with correction ("qwerty", no touch
//     points), each list from cleared caches after the warm-up texts with correction, as
//     the bench's Python child times them (kbd_lm.export.bench.child)
//   kbd_lm_replay_bench cold BUNDLE_DIR TEXT
//     prints {"open_first_us": ..., "open_first_cpu_us": ..., "vmhwm_kb": ...}: open the
//     bundle, suggest once (wall time, and the process's CPU time in it)
//
// Exit status 0, or 1 with the library's message on stderr.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <time.h>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "bundle.h"
#include "kbd_lm.h"
#include "model.h"

namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

double micros(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::micro>(b - a).count();
}

// VmRSS and VmHWM of this process in kB (/proc/self/status)
json memory_kb() {
  json out = json::object();
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    for (const char* key : {"VmRSS", "VmHWM", "RssAnon", "RssFile"}) {
      std::string prefix = std::string(key) + ":";
      if (line.rfind(prefix, 0) == 0) out[key] = std::stol(line.substr(prefix.size()));
    }
  }
  return out;
}

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "%s: %s\n", what, kbd_lm_last_error());
  std::exit(1);
}

// Opens the bundle and suggests once for `text`: (predictor, microseconds of both)
std::pair<kbd_lm_predictor*, double> open_and_suggest(const char* dir, const std::string& text,
                                                      int k) {
  auto t0 = Clock::now();
  kbd_lm_predictor* p = nullptr;
  if (kbd_lm_open(dir, &p) != KBD_LM_OK) die("kbd_lm_open");
  kbd_lm_suggestions* s = nullptr;
  if (kbd_lm_suggest(p, text.data(), text.size(), k, nullptr, &s) != KBD_LM_OK)
    die("kbd_lm_suggest");
  auto t1 = Clock::now();
  kbd_lm_suggestions_free(s);
  return {p, micros(t0, t1)};
}

// this thread's CPU time in microseconds: a call's own work, without the time another
// process held the core
double thread_cpu_us() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

// Microseconds per call of kbd_lm_suggest on a list of texts, in order: wall time, the part
// in LiteRT's runs, and the thread's CPU time.
struct Timed {
  std::vector<double> took, ran, cpu;
};

Timed time_texts(kbd_lm_predictor* p, const std::vector<std::string>& texts, int k,
                 const kbd_lm_suggest_options* options) {
  kbd_lm_suggestions* s = nullptr;
  Timed t;
  t.took.reserve(texts.size()), t.ran.reserve(texts.size()), t.cpu.reserve(texts.size());
  for (const auto& text : texts) {
    const uint64_t before = kbd::model_run_nanoseconds();
    const double cpu = thread_cpu_us();
    auto a = Clock::now();
    kbd_lm_status status = kbd_lm_suggest(p, text.data(), text.size(), k, options, &s);
    auto b = Clock::now();
    t.cpu.push_back(thread_cpu_us() - cpu);
    if (status != KBD_LM_OK) die("kbd_lm_suggest");
    t.took.push_back(micros(a, b));
    t.ran.push_back((kbd::model_run_nanoseconds() - before) / 1e3);
    kbd_lm_suggestions_free(s);
  }
  return t;
}

// The model's step signatures alone, random ids, zero state: microseconds per call
// of batch 1 and of the beam's batch (the largest of decoding.batch_sizes).
json time_steps(const char* dir, int calls, int warmup, unsigned seed) {
  kbd::Bundle bundle = kbd::Bundle::load(dir);
  kbd::Model model(bundle);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int32_t> piece(4, model.vocab() - 1);
  json out = json::object();
  for (int batch : {1, model.batches().back()}) {
    std::vector<int32_t> ids(batch);
    std::vector<float> h(static_cast<size_t>(batch) * model.embed_dim()),
        c(static_cast<size_t>(batch) * model.units()), logp, h2, c2;
    std::vector<double> times;
    for (int i = 0; i < warmup + calls; i++) {
      for (auto& id : ids) id = piece(rng);
      auto a = Clock::now();
      model.step(batch, ids.data(), h.data(), c.data(), &logp, &h2, &c2);
      auto b = Clock::now();
      if (i >= warmup) times.push_back(micros(a, b));
      h.swap(h2);
      c.swap(c2);
    }
    out[std::to_string(batch)] = times;
  }
  return out;
}

int replay(const char* dir, const char* spec_path, const char* out_path) {
  std::ifstream in(spec_path);
  json spec = json::parse(in);
  const int k = spec.at("k");
  const auto warm = spec.at("warm").get<std::vector<std::string>>();
  const auto texts = spec.at("texts").get<std::vector<std::string>>();
  json out;
  out["memory_kb"]["before_open"] = memory_kb();
  auto [p, open_first] = open_and_suggest(dir, texts.empty() ? "" : texts.front(), k);
  out["open_first_us"] = open_first;
  out["memory_kb"]["after_open"] = memory_kb();
  kbd_lm_suggestions* s = nullptr;
  for (const auto& text : warm) {
    if (kbd_lm_suggest(p, text.data(), text.size(), k, nullptr, &s) != KBD_LM_OK)
      die("kbd_lm_suggest");
    kbd_lm_suggestions_free(s);
  }
  out["memory_kb"]["after_warmup"] = memory_kb();
  const std::clock_t cpu0 = std::clock();  // this process's CPU time: its share of the core
  const auto wall0 = Clock::now();
  const Timed timed = time_texts(p, texts, k, nullptr);
  out["cpu_share"] = (static_cast<double>(std::clock() - cpu0) / CLOCKS_PER_SEC) /
                     std::max(micros(wall0, Clock::now()) / 1e6, 1e-9);
  const auto noisy = spec.value("noisy", std::vector<std::string>{});
  if (!noisy.empty()) {
    kbd_lm_suggest_options corrected{};
    corrected.correction = 1;
    time_texts(p, warm, k, &corrected);  // (builds the word trie)
    for (const char* key : {"noisy", "exact"}) {
      if (kbd_lm_clear_cache(p) != KBD_LM_OK) die("kbd_lm_clear_cache");
      Timed got = time_texts(p, spec.value(key, std::vector<std::string>{}), k, &corrected);
      out["correct_us"][key] = got.took;
      out["correct_model_us"][key] = got.ran;
      out["correct_cpu_us"][key] = got.cpu;
    }
    if (kbd_lm_clear_cache(p) != KBD_LM_OK) die("kbd_lm_clear_cache");
  }
  out["memory_kb"]["end"] = memory_kb();
  kbd_lm_free(p);
  out["samples_us"] = timed.took;
  out["model_us"] = timed.ran;
  out["cpu_us"] = timed.cpu;
  out["steps_us"] = time_steps(dir, spec.at("step_calls"), spec.at("step_warmup"),
                               spec.value("seed", 0u));
  std::ofstream(out_path) << out.dump() << "\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  try {
    if (mode == "replay" && argc == 5) return replay(argv[2], argv[3], argv[4]);
    if (mode == "cold" && argc == 4) {
      timespec a, b;
      clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &a);
      auto [p, open_first] = open_and_suggest(argv[2], argv[3], 3);
      clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &b);
      const double cpu = (b.tv_sec - a.tv_sec) * 1e6 + (b.tv_nsec - a.tv_nsec) / 1e3;
      json out = {{"open_first_us", open_first},
                  {"open_first_cpu_us", cpu},
                  {"vmhwm_kb", memory_kb().value("VmHWM", 0L)}};
      kbd_lm_free(p);
      std::printf("%s\n", out.dump().c_str());
      return 0;
    }
  } catch (const std::exception& err) {  // the spec file, or the core's kbd::Error
    std::fprintf(stderr, "%s\n", err.what());
    return 1;
  }
  std::fprintf(stderr,
               "usage: %s replay BUNDLE_DIR SPEC.json OUT.json | cold BUNDLE_DIR TEXT\n",
               argv[0]);
  return 2;
}
