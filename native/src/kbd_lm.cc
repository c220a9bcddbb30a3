// The C interface (include/kbd_lm.h) over kbd::Predictor: argument checks, the predictor's
// lock, and every exception turned into a status and the thread's last error message.
#include "kbd_lm.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <new>
#include <string>

#include "error.h"
#include "predictor.h"
#include "unicode.h"

#ifndef KBD_LM_VERSION
#error "KBD_LM_VERSION is defined by native/CMakeLists.txt (pyproject.toml's version)"
#endif

struct kbd_lm_predictor {
  std::mutex lock;  // calls on one predictor run one at a time
  std::unique_ptr<kbd::Predictor> impl;
};

struct kbd_lm_history {
  std::mutex lock;  // calls on one history (and suggestions mixing it) run one at a time
  std::unique_ptr<kbd::History> impl;
};

namespace {

thread_local std::string last_error;

kbd_lm_status fail(kbd_lm_status status, const std::string& message) {
  last_error = message;
  return status;
}

// Runs `body`, turning what it throws into a status and a message.
template <typename Body>
kbd_lm_status guarded(Body body) {
  try {
    body();
    return KBD_LM_OK;
  } catch (const kbd::Error& e) {
    return fail(e.status(), e.what());
  } catch (const std::bad_alloc&) {
    return fail(KBD_LM_ERR_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    return fail(KBD_LM_ERR_INTERNAL, std::string("internal error: ") + e.what());
  } catch (...) {
    return fail(KBD_LM_ERR_INTERNAL, "internal error: unknown exception");
  }
}

std::u32string text_arg(const char* text, size_t len) {
  std::u32string out;
  if (!text && len) throw kbd::Error(KBD_LM_ERR_ARGUMENT, "text is NULL");
  if (text && !kbd::decode_utf8(std::string_view(text, len), &out))
    throw kbd::Error(KBD_LM_ERR_ARGUMENT, "text is not valid UTF-8");
  return out;
}

std::u32string entry_arg(const char* entry) {
  if (!entry) throw kbd::Error(KBD_LM_ERR_ARGUMENT, "entry is NULL");
  return text_arg(entry, std::strlen(entry));
}

char* copy_string(const std::string& s) {
  char* out = static_cast<char*>(std::malloc(s.size() + 1));
  if (!out) throw std::bad_alloc();
  std::memcpy(out, s.c_str(), s.size() + 1);
  return out;
}

// The typing options of a call: correction from options, layout and taps from typing.
kbd::TypingOptions typing_arg(const kbd_lm_suggest_options* options, const kbd_lm_typing* typing) {
  kbd::TypingOptions out;
  out.correct = options && options->correction;
  if (!typing) return out;
  if (typing->layout) out.layout = typing->layout;
  if (typing->tap_count && !typing->taps)
    throw kbd::Error(KBD_LM_ERR_ARGUMENT, "typing.taps is NULL with a tap_count");
  for (size_t i = 0; i < typing->tap_count; i++) {
    const double x = typing->taps[2 * i], y = typing->taps[2 * i + 1];
    kbd::Tap tap{x, y, !(std::isnan(x) && std::isnan(y))};
    if (tap.has && !(std::isfinite(x) && std::isfinite(y)))
      throw kbd::Error(KBD_LM_ERR_ARGUMENT, "typing.taps[" + std::to_string(i) +
                                                "]: coordinates must be finite (NaN, NaN: none)");
    out.taps.push_back(tap);
  }
  return out;
}

// The C result of suggest's words (freed with kbd_lm_suggestions_free).
kbd_lm_suggestions* suggestions_of(const std::vector<kbd::Suggested>& words) {
  auto* s = static_cast<kbd_lm_suggestions*>(std::calloc(1, sizeof(kbd_lm_suggestions)));
  if (!s) throw std::bad_alloc();
  s->items = static_cast<kbd_lm_suggestion*>(
      std::calloc(words.size() ? words.size() : 1, sizeof(kbd_lm_suggestion)));
  if (!s->items) {
    std::free(s);
    throw std::bad_alloc();
  }
  try {
    for (const auto& w : words) {
      s->items[s->count].word = copy_string(kbd::encode_utf8(w.word));
      s->items[s->count].probability = w.probability;
      s->items[s->count].kind = w.kind;
      s->count++;
    }
  } catch (...) {
    kbd_lm_suggestions_free(s);
    throw;
  }
  s->autocorrect = !words.empty() && words[0].autocorrect;
  return s;
}


}  // namespace

extern "C" {

const char* kbd_lm_version(void) { return KBD_LM_VERSION; }
const char* kbd_lm_unicode_version(void) { return kbd::unicode_version(); }
const char* kbd_lm_last_error(void) { return last_error.c_str(); }

const char* kbd_lm_status_name(kbd_lm_status status) {
  switch (status) {
    case KBD_LM_OK: return "KBD_LM_OK";
    case KBD_LM_ERR_ARGUMENT: return "KBD_LM_ERR_ARGUMENT";
    case KBD_LM_ERR_BUNDLE: return "KBD_LM_ERR_BUNDLE";
    case KBD_LM_ERR_RUNTIME: return "KBD_LM_ERR_RUNTIME";
    case KBD_LM_ERR_MEMORY: return "KBD_LM_ERR_MEMORY";
    case KBD_LM_ERR_NOT_IMPLEMENTED: return "KBD_LM_ERR_NOT_IMPLEMENTED";
    case KBD_LM_ERR_INTERNAL: return "KBD_LM_ERR_INTERNAL";
  }
  return "unknown status";
}

kbd_lm_status kbd_lm_open(const char* bundle_dir, kbd_lm_predictor** out) {
  if (!bundle_dir || !out) return fail(KBD_LM_ERR_ARGUMENT, "bundle_dir and out must not be NULL");
  *out = nullptr;
  return guarded([&] {
    auto p = std::make_unique<kbd_lm_predictor>();
    p->impl = std::make_unique<kbd::Predictor>(bundle_dir);
    *out = p.release();
  });
}

void kbd_lm_free(kbd_lm_predictor* predictor) { delete predictor; }

kbd_lm_status kbd_lm_suggest(kbd_lm_predictor* predictor, const char* text, size_t text_len,
                             int k, const kbd_lm_suggest_options* options,
                             kbd_lm_suggestions** out) {
  return kbd_lm_suggest_typing(predictor, text, text_len, k, options, nullptr, out);
}

kbd_lm_status kbd_lm_suggest_typing(kbd_lm_predictor* predictor, const char* text,
                                    size_t text_len, int k,
                                    const kbd_lm_suggest_options* options,
                                    const kbd_lm_typing* typing, kbd_lm_suggestions** out) {
  if (!predictor || !out) return fail(KBD_LM_ERR_ARGUMENT, "predictor and out must not be NULL");
  *out = nullptr;
  return guarded([&] {
    std::u32string t = text_arg(text, text_len);
    kbd::TypingOptions typed = typing_arg(options, typing);
    std::vector<kbd::Suggested> words;
    {
      kbd_lm_history* history = options ? options->history : nullptr;
      std::lock_guard<std::mutex> hold(predictor->lock);  // (always predictor, then history)
      std::unique_lock<std::mutex> hold_history;
      if (history) hold_history = std::unique_lock<std::mutex>(history->lock);
      words = predictor->impl->suggest(t, k, options ? options->hint : nullptr,
                                       history ? history->impl.get() : nullptr, typed);
    }
    *out = suggestions_of(words);
  });
}

kbd_lm_status kbd_lm_clear_cache(kbd_lm_predictor* predictor) {
  if (!predictor) return fail(KBD_LM_ERR_ARGUMENT, "predictor must not be NULL");
  return guarded([&] {
    std::lock_guard<std::mutex> hold(predictor->lock);
    predictor->impl->clear_cache();
  });
}

void kbd_lm_suggestions_free(kbd_lm_suggestions* suggestions) {
  if (!suggestions) return;
  for (size_t i = 0; i < suggestions->count; i++)
    std::free(const_cast<char*>(suggestions->items[i].word));
  std::free(suggestions->items);
  std::free(suggestions);
}

kbd_lm_status kbd_lm_decode_input(kbd_lm_predictor* predictor, const char* text,
                                  size_t text_len, const char* hint, kbd_lm_input** out) {
  if (!predictor || !out) return fail(KBD_LM_ERR_ARGUMENT, "predictor and out must not be NULL");
  *out = nullptr;
  return guarded([&] {
    std::u32string t = text_arg(text, text_len);
    kbd::Input in;
    {
      std::lock_guard<std::mutex> hold(predictor->lock);
      in = predictor->impl->decode_input(t, hint);
    }
    auto* r = static_cast<kbd_lm_input*>(std::calloc(1, sizeof(kbd_lm_input)));
    if (!r) throw std::bad_alloc();
    try {
      r->context = copy_string(kbd::encode_utf8(in.context));
      r->partial = copy_string(kbd::encode_utf8(in.partial));
      r->ids = static_cast<int32_t*>(std::malloc(sizeof(int32_t) * (in.ids.size() + 1)));
      if (!r->ids) throw std::bad_alloc();
      std::copy(in.ids.begin(), in.ids.end(), r->ids);
      r->count = in.ids.size();
    } catch (...) {
      kbd_lm_input_free(r);
      throw;
    }
    *out = r;
  });
}

void kbd_lm_input_free(kbd_lm_input* input) {
  if (!input) return;
  std::free(input->context);
  std::free(input->partial);
  std::free(input->ids);
  std::free(input);
}

kbd_lm_status kbd_lm_blocklist_add(kbd_lm_predictor* predictor, const char* entry) {
  if (!predictor) return fail(KBD_LM_ERR_ARGUMENT, "predictor must not be NULL");
  return guarded([&] {
    std::u32string e = entry_arg(entry);
    std::lock_guard<std::mutex> hold(predictor->lock);
    predictor->impl->blocklist().add(e, predictor->impl->rules());
  });
}

kbd_lm_status kbd_lm_blocklist_remove(kbd_lm_predictor* predictor, const char* entry) {
  if (!predictor) return fail(KBD_LM_ERR_ARGUMENT, "predictor must not be NULL");
  return guarded([&] {
    std::u32string e = entry_arg(entry);
    std::lock_guard<std::mutex> hold(predictor->lock);
    predictor->impl->blocklist().remove(e, predictor->impl->rules());
  });
}

kbd_lm_status kbd_lm_blocklist_enable(kbd_lm_predictor* predictor, int enabled) {
  if (!predictor) return fail(KBD_LM_ERR_ARGUMENT, "predictor must not be NULL");
  std::lock_guard<std::mutex> hold(predictor->lock);
  predictor->impl->blocklist().enabled = enabled != 0;
  return KBD_LM_OK;
}

kbd_lm_status kbd_lm_history_create(const kbd_lm_predictor* predictor, kbd_lm_history** out) {
  if (!predictor || !out) return fail(KBD_LM_ERR_ARGUMENT, "predictor and out must not be NULL");
  *out = nullptr;
  return guarded([&] {
    auto h = std::make_unique<kbd_lm_history>();
    h->impl = std::make_unique<kbd::History>(predictor->impl->shared_rules());
    *out = h.release();
  });
}

kbd_lm_status kbd_lm_history_learn(kbd_lm_history* history, const char* text, size_t text_len,
                                   const char* field, size_t* learned) {
  if (!history) return fail(KBD_LM_ERR_ARGUMENT, "history must not be NULL");
  if (learned) *learned = 0;
  return guarded([&] {
    std::u32string t = text_arg(text, text_len);
    std::lock_guard<std::mutex> hold(history->lock);
    size_t n = history->impl->learn(t, field ? field : "text");
    if (learned) *learned = n;
  });
}

kbd_lm_status kbd_lm_history_forget(kbd_lm_history* history, const char* word, int* found) {
  if (!history) return fail(KBD_LM_ERR_ARGUMENT, "history must not be NULL");
  if (found) *found = 0;
  return guarded([&] {
    std::u32string w = entry_arg(word);
    std::lock_guard<std::mutex> hold(history->lock);
    bool f = history->impl->forget(w);
    if (found) *found = f;
  });
}

kbd_lm_status kbd_lm_history_save(kbd_lm_history* history, uint8_t** out, size_t* size) {
  if (!history || !out || !size) return fail(KBD_LM_ERR_ARGUMENT, "NULL argument");
  *out = nullptr, *size = 0;
  return guarded([&] {
    std::string bytes;
    {
      std::lock_guard<std::mutex> hold(history->lock);
      bytes = history->impl->to_bytes();
    }
    auto* copy = static_cast<uint8_t*>(std::malloc(bytes.size() ? bytes.size() : 1));
    if (!copy) throw std::bad_alloc();
    std::memcpy(copy, bytes.data(), bytes.size());
    *out = copy, *size = bytes.size();
  });
}

kbd_lm_status kbd_lm_history_load(const kbd_lm_predictor* predictor, const uint8_t* data,
                                  size_t size, kbd_lm_history** out) {
  if (!predictor || !out || (!data && size)) return fail(KBD_LM_ERR_ARGUMENT, "NULL argument");
  *out = nullptr;
  return guarded([&] {
    std::string bytes(reinterpret_cast<const char*>(data), size);
    auto h = std::make_unique<kbd_lm_history>();
    h->impl = std::make_unique<kbd::History>(
        kbd::History::from_bytes(bytes, "history", predictor->impl->shared_rules()));
    *out = h.release();
  });
}

void kbd_lm_history_free(kbd_lm_history* history) { delete history; }
void kbd_lm_bytes_free(uint8_t* bytes) { std::free(bytes); }

}  // extern "C"
