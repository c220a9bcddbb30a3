// The native side of `make bench PROFILE=native` (kbd_lm.export.bench.native): times
// kbd_lm_suggest on the keystrokes the Python predictor is timed on, in a process of its own
// that the bench pins to the same core. Linked to the static core (the same objects as
// libkbd_lm.so) so that it can read how long LiteRT ran (kbd::model_run_nanoseconds).
//
//   kbd_lm_replay_bench replay BUNDLE_DIR SPEC.json OUT.json
//     SPEC: {"k": 3, "warm": [texts], "texts": [texts], "step_calls": 1000,
//            "step_warmup": 200, "seed": 0}
//     OUT:  {"open_first_us", "samples_us": [per text], "model_us": [per text: in LiteRT],
//            "steps_us": {"1": [...], "8": [...]}, "memory_kb": {...}, "cpu_share": the
//            process's CPU time over the wall time of the timed keystrokes}
//   kbd_lm_replay_bench cold BUNDLE_DIR TEXT
//     prints {"open_first_us": ..., "vmhwm_kb": ...}: open the bundle, suggest once
//
// Exit status 0, or 1 with the library's message on stderr.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
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
  std::vector<double> samples, model;
  samples.reserve(texts.size());
  model.reserve(texts.size());
  const std::clock_t cpu0 = std::clock();  // this process's CPU time: its share of the core
  const auto wall0 = Clock::now();
  for (const auto& text : texts) {
    const uint64_t ran = kbd::model_run_nanoseconds();
    auto a = Clock::now();
    kbd_lm_status status = kbd_lm_suggest(p, text.data(), text.size(), k, nullptr, &s);
    auto b = Clock::now();
    if (status != KBD_LM_OK) die("kbd_lm_suggest");
    samples.push_back(micros(a, b));
    model.push_back((kbd::model_run_nanoseconds() - ran) / 1e3);
    kbd_lm_suggestions_free(s);
  }
  out["cpu_share"] = (static_cast<double>(std::clock() - cpu0) / CLOCKS_PER_SEC) /
                     std::max(micros(wall0, Clock::now()) / 1e6, 1e-9);
  out["memory_kb"]["end"] = memory_kb();
  kbd_lm_free(p);
  out["samples_us"] = samples;
  out["model_us"] = model;
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
      auto [p, open_first] = open_and_suggest(argv[2], argv[3], 3);
      json out = {{"open_first_us", open_first}, {"vmhwm_kb", memory_kb().value("VmHWM", 0L)}};
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
