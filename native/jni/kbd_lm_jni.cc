// The JNI glue of dev.kbdlm.KbdPredictor, KbdHistory and Conformance (java/dev/kbdlm/) over
// the C interface (include/kbd_lm.h): libkbd_lm_jni.so, which links libkbd_lm.so.
//
// Java strings cross as UTF-16 (GetStringRegion / NewString), converted to and from UTF-8
// here: JNI's own "UTF" functions speak modified UTF-8, which encodes an emoji as two
// surrogates (the library refuses that) and which Android's CheckJNI aborts on when given
// real 4-byte UTF-8. A lone surrogate passes as U+FFFF, as the Python engine passes it (both
// are dropped by normalisation, one code point each).
//
// Errors: a failed C call throws dev.kbdlm.KbdLmException(code, message). No C++ exception
// crosses JNI: every entry point runs inside guarded(), which turns one into a
// KbdLmException (KBD_LM_ERR_MEMORY or KBD_LM_ERR_INTERNAL).
#include <jni.h>

#include <cstdint>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "kbd_lm.h"

namespace {

// Global references taken in JNI_OnLoad (FindClass from a thread the app started would look
// in the system class loader and miss the app's classes).
jclass exception_class, suggestion_class;
jmethodID exception_init, suggestion_init;

// A Java exception is pending: leave the entry point without touching JNI again.
struct JavaThrown {};

void throw_status(JNIEnv* env, int status, const std::string& message);

jstring to_jstring(JNIEnv* env, const char* utf8);

// Throws KbdLmException for a failed status (with the calling thread's last error).
void check(JNIEnv* env, kbd_lm_status status) {
  if (status == KBD_LM_OK) return;
  throw_status(env, status, kbd_lm_last_error());
  throw JavaThrown{};
}

void throw_status(JNIEnv* env, int status, const std::string& message) {
  jstring text = to_jstring(env, message.c_str());
  if (env->ExceptionCheck()) return;  // (out of memory: that exception stays)
  auto e = static_cast<jthrowable>(
      env->NewObject(exception_class, exception_init, static_cast<jint>(status), text));
  if (e) env->Throw(e);
}

// Runs an entry point's body; what it throws becomes a Java exception, `fallback` is returned.
template <typename T, typename Body>
T guarded(JNIEnv* env, T fallback, Body body) {
  try {
    return body();
  } catch (const JavaThrown&) {
  } catch (const std::bad_alloc&) {
    if (!env->ExceptionCheck()) throw_status(env, KBD_LM_ERR_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    if (!env->ExceptionCheck())
      throw_status(env, KBD_LM_ERR_INTERNAL, std::string("JNI glue: ") + e.what());
  } catch (...) {
    if (!env->ExceptionCheck())
      throw_status(env, KBD_LM_ERR_INTERNAL, "JNI glue: unknown exception");
  }
  return fallback;
}

void java_check(JNIEnv* env) {
  if (env->ExceptionCheck()) throw JavaThrown{};
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

// A Java string as UTF-8 (surrogate pairs joined, a lone surrogate as U+FFFF).
std::string utf8(JNIEnv* env, jstring s) {
  jsize n = env->GetStringLength(s);
  std::vector<jchar> units(static_cast<size_t>(n));
  env->GetStringRegion(s, 0, n, units.data());
  java_check(env);
  std::string out;
  out.reserve(units.size());
  for (size_t i = 0; i < units.size(); i++) {
    uint32_t u = units[i];
    if (u >= 0xD800 && u < 0xDC00 && i + 1 < units.size() && units[i + 1] >= 0xDC00 &&
        units[i + 1] < 0xE000) {
      append_utf8(out, 0x10000 + ((u - 0xD800) << 10) + (units[++i] - 0xDC00));
    } else {
      append_utf8(out, u >= 0xD800 && u < 0xE000 ? 0xFFFF : u);
    }
  }
  return out;
}

// A nullable Java string argument (a hint, a layout, a field): `null` is NULL for C; any
// other string, "" included, is its UTF-8 (an empty hint is then refused as the Python
// predictor refuses it).
struct OptionalString {
  std::string text;
  bool given = false;
  OptionalString(JNIEnv* env, jstring s) : given(s != nullptr) {
    if (s) text = utf8(env, s);
  }
  const char* c_str() const { return given ? text.c_str() : nullptr; }
};

// UTF-8 from the library (valid: it writes only what it decoded) as a Java string.
jstring to_jstring(JNIEnv* env, const char* s) {
  std::vector<jchar> units;
  const auto* p = reinterpret_cast<const unsigned char*>(s);
  while (*p) {
    uint32_t cp;
    int more;
    if (*p < 0x80) cp = *p, more = 0;
    else if (*p < 0xE0) cp = *p & 0x1F, more = 1;
    else if (*p < 0xF0) cp = *p & 0x0F, more = 2;
    else cp = *p & 0x07, more = 3;
    p++;
    for (; more > 0 && (*p & 0xC0) == 0x80; more--) cp = (cp << 6) | (*p++ & 0x3F);
    if (more > 0) cp = 0xFFFD;  // (cut short: only a message could be, never a word)
    if (cp >= 0x10000) {
      units.push_back(static_cast<jchar>(0xD800 + ((cp - 0x10000) >> 10)));
      units.push_back(static_cast<jchar>(0xDC00 + ((cp - 0x10000) & 0x3FF)));
    } else {
      units.push_back(static_cast<jchar>(cp));
    }
  }
  return env->NewString(units.data(), static_cast<jsize>(units.size()));
}

template <typename T>
T* from_handle(jlong h) {
  return reinterpret_cast<T*>(static_cast<intptr_t>(h));
}

jlong to_handle(const void* p) { return static_cast<jlong>(reinterpret_cast<intptr_t>(p)); }

// Java's Suggestion[] from the library's list.
jobjectArray suggestions_array(JNIEnv* env, const kbd_lm_suggestions* s) {
  jobjectArray out =
      env->NewObjectArray(static_cast<jsize>(s->count), suggestion_class, nullptr);
  java_check(env);
  for (size_t i = 0; i < s->count; i++) {
    jstring word = to_jstring(env, s->items[i].word);
    java_check(env);
    jobject item = env->NewObject(suggestion_class, suggestion_init, word,
                                  static_cast<jdouble>(s->items[i].probability),
                                  static_cast<jint>(s->items[i].kind),
                                  static_cast<jboolean>(i == 0 && s->autocorrect));
    java_check(env);
    env->SetObjectArrayElement(out, static_cast<jsize>(i), item);
    env->DeleteLocalRef(item);
    env->DeleteLocalRef(word);
  }
  return out;
}

// Owns what the library returns, so that a Java exception midway frees it too.
struct SuggestionsHold {
  kbd_lm_suggestions* s = nullptr;
  ~SuggestionsHold() { kbd_lm_suggestions_free(s); }
};

}  // namespace

extern "C" {

JNIEXPORT jint JNI_OnLoad(JavaVM* vm, void*) {
  JNIEnv* env = nullptr;
  if (vm->GetEnv(reinterpret_cast<void**>(&env), JNI_VERSION_1_6) != JNI_OK) return JNI_ERR;
  auto global = [&](const char* name) {
    jclass local = env->FindClass(name);
    if (!local) return static_cast<jclass>(nullptr);
    auto g = static_cast<jclass>(env->NewGlobalRef(local));
    env->DeleteLocalRef(local);
    return g;
  };
  exception_class = global("dev/kbdlm/KbdLmException");
  suggestion_class = global("dev/kbdlm/Suggestion");
  if (!exception_class || !suggestion_class) return JNI_ERR;
  exception_init = env->GetMethodID(exception_class, "<init>", "(ILjava/lang/String;)V");
  suggestion_init = env->GetMethodID(suggestion_class, "<init>", "(Ljava/lang/String;DIZ)V");
  if (!exception_init || !suggestion_init) return JNI_ERR;
  return JNI_VERSION_1_6;
}

JNIEXPORT jlong JNICALL Java_dev_kbdlm_KbdPredictor_nativeOpen(JNIEnv* env, jclass,
                                                               jstring dir) {
  return guarded(env, jlong{0}, [&] {
    kbd_lm_predictor* p = nullptr;
    check(env, kbd_lm_open(utf8(env, dir).c_str(), &p));
    return to_handle(p);
  });
}

JNIEXPORT jstring JNICALL Java_dev_kbdlm_KbdPredictor_nativeVersion(JNIEnv* env, jclass) {
  return guarded(env, jstring{nullptr}, [&] { return to_jstring(env, kbd_lm_version()); });
}

JNIEXPORT void JNICALL Java_dev_kbdlm_KbdPredictor_nativeFree(JNIEnv*, jclass, jlong p) {
  kbd_lm_free(from_handle<kbd_lm_predictor>(p));
}

JNIEXPORT jobjectArray JNICALL Java_dev_kbdlm_KbdPredictor_nativeSuggest(
    JNIEnv* env, jclass, jlong p, jstring text, jint k, jstring hint, jlong history,
    jboolean correct, jstring layout, jdoubleArray taps) {
  return guarded(env, jobjectArray{nullptr}, [&] {
    std::string t = utf8(env, text);
    OptionalString h(env, hint), l(env, layout);
    std::vector<double> xy;  // x, y per letter
    if (taps) {
      xy.resize(static_cast<size_t>(env->GetArrayLength(taps)));
      env->GetDoubleArrayRegion(taps, 0, static_cast<jsize>(xy.size()), xy.data());
      java_check(env);
      if (xy.size() % 2) {
        throw_status(env, KBD_LM_ERR_ARGUMENT, "taps: an odd number of coordinates (x, y each)");
        throw JavaThrown{};
      }
    }
    kbd_lm_suggest_options options = {h.c_str(), from_handle<kbd_lm_history>(history),
                                      correct ? 1 : 0};
    kbd_lm_typing typing = {l.c_str(), xy.empty() ? nullptr : xy.data(), xy.size() / 2};
    SuggestionsHold hold;
    check(env, kbd_lm_suggest_typing(from_handle<kbd_lm_predictor>(p), t.data(), t.size(), k,
                                     &options, &typing, &hold.s));
    return suggestions_array(env, hold.s);
  });
}

JNIEXPORT jintArray JNICALL Java_dev_kbdlm_KbdPredictor_nativeInputIds(JNIEnv* env, jclass,
                                                                       jlong p, jstring text,
                                                                       jstring hint) {
  return guarded(env, jintArray{nullptr}, [&] {
    std::string t = utf8(env, text);
    OptionalString h(env, hint);
    kbd_lm_input* in = nullptr;
    check(env, kbd_lm_decode_input(from_handle<kbd_lm_predictor>(p), t.data(), t.size(),
                                   h.c_str(), &in));
    jintArray out = env->NewIntArray(static_cast<jsize>(in->count));
    if (out)
      env->SetIntArrayRegion(out, 0, static_cast<jsize>(in->count),
                             reinterpret_cast<const jint*>(in->ids));  // (int32_t is jint)
    kbd_lm_input_free(in);
    java_check(env);
    return out;
  });
}

JNIEXPORT void JNICALL Java_dev_kbdlm_KbdPredictor_nativeBlock(JNIEnv* env, jclass, jlong p,
                                                               jstring entry, jboolean add) {
  guarded(env, 0, [&] {
    std::string e = utf8(env, entry);
    auto* predictor = from_handle<kbd_lm_predictor>(p);
    check(env, add ? kbd_lm_blocklist_add(predictor, e.c_str())
                   : kbd_lm_blocklist_remove(predictor, e.c_str()));
    return 0;
  });
}

JNIEXPORT void JNICALL Java_dev_kbdlm_KbdPredictor_nativeEnableBlocklist(JNIEnv* env, jclass,
                                                                         jlong p,
                                                                         jboolean enabled) {
  guarded(env, 0, [&] {
    check(env, kbd_lm_blocklist_enable(from_handle<kbd_lm_predictor>(p), enabled ? 1 : 0));
    return 0;
  });
}

JNIEXPORT jlong JNICALL Java_dev_kbdlm_KbdPredictor_nativeHistoryCreate(JNIEnv* env, jclass,
                                                                        jlong p) {
  return guarded(env, jlong{0}, [&] {
    kbd_lm_history* h = nullptr;
    check(env, kbd_lm_history_create(from_handle<kbd_lm_predictor>(p), &h));
    return to_handle(h);
  });
}

JNIEXPORT jlong JNICALL Java_dev_kbdlm_KbdPredictor_nativeHistoryLoad(JNIEnv* env, jclass,
                                                                      jlong p, jbyteArray file) {
  return guarded(env, jlong{0}, [&] {
    std::vector<uint8_t> bytes(static_cast<size_t>(env->GetArrayLength(file)));
    env->GetByteArrayRegion(file, 0, static_cast<jsize>(bytes.size()),
                            reinterpret_cast<jbyte*>(bytes.data()));
    java_check(env);
    kbd_lm_history* h = nullptr;
    check(env, kbd_lm_history_load(from_handle<kbd_lm_predictor>(p), bytes.data(),
                                   bytes.size(), &h));
    return to_handle(h);
  });
}

JNIEXPORT jint JNICALL Java_dev_kbdlm_KbdPredictor_nativeHistoryLearn(JNIEnv* env, jclass,
                                                                      jlong h, jstring text,
                                                                      jstring field) {
  return guarded(env, jint{0}, [&] {
    std::string t = utf8(env, text);
    OptionalString f(env, field);
    size_t learned = 0;
    check(env, kbd_lm_history_learn(from_handle<kbd_lm_history>(h), t.data(), t.size(),
                                    f.c_str(), &learned));
    return static_cast<jint>(learned);
  });
}

JNIEXPORT jboolean JNICALL Java_dev_kbdlm_KbdPredictor_nativeHistoryForget(JNIEnv* env, jclass,
                                                                           jlong h,
                                                                           jstring word) {
  return guarded(env, jboolean{JNI_FALSE}, [&] {
    std::string w = utf8(env, word);
    int found = 0;
    check(env, kbd_lm_history_forget(from_handle<kbd_lm_history>(h), w.c_str(), &found));
    return found ? jboolean{JNI_TRUE} : jboolean{JNI_FALSE};
  });
}

JNIEXPORT jbyteArray JNICALL Java_dev_kbdlm_KbdPredictor_nativeHistorySave(JNIEnv* env, jclass,
                                                                           jlong h) {
  return guarded(env, jbyteArray{nullptr}, [&] {
    uint8_t* bytes = nullptr;
    size_t size = 0;
    check(env, kbd_lm_history_save(from_handle<kbd_lm_history>(h), &bytes, &size));
    jbyteArray out = env->NewByteArray(static_cast<jsize>(size));
    if (out)
      env->SetByteArrayRegion(out, 0, static_cast<jsize>(size),
                              reinterpret_cast<const jbyte*>(bytes));
    kbd_lm_bytes_free(bytes);
    java_check(env);
    return out;
  });
}

JNIEXPORT void JNICALL Java_dev_kbdlm_KbdPredictor_nativeHistoryFree(JNIEnv*, jclass, jlong h) {
  kbd_lm_history_free(from_handle<kbd_lm_history>(h));
}

JNIEXPORT jstring JNICALL Java_dev_kbdlm_KbdPredictor_nativeCompare(
    JNIEnv* env, jclass, jobjectArray expected_words, jdoubleArray expected_probs,
    jobjectArray given_words, jdoubleArray given_probs, jdouble rel, jdouble abs) {
  return guarded(env, jstring{nullptr}, [&] {
    // words as UTF-8 (kept alive in `text`), then the C lists pointing into them
    auto read = [&](jobjectArray words, jdoubleArray probs, std::vector<std::string>& text) {
      jsize n = env->GetArrayLength(words);
      if (env->GetArrayLength(probs) != n)
        throw std::invalid_argument("words and probabilities differ in length");
      std::vector<jdouble> p(static_cast<size_t>(n));
      env->GetDoubleArrayRegion(probs, 0, n, p.data());
      java_check(env);
      for (jsize i = 0; i < n; i++) {
        auto w = static_cast<jstring>(env->GetObjectArrayElement(words, i));
        java_check(env);
        text.push_back(w ? utf8(env, w) : std::string());
        env->DeleteLocalRef(w);
      }
      std::vector<kbd_lm_suggestion> out;
      for (jsize i = 0; i < n; i++)
        out.push_back({text[i].c_str(), p[i], KBD_LM_KIND_NEXT});
      return out;
    };
    std::vector<std::string> et, gt;
    std::vector<kbd_lm_suggestion> e = read(expected_words, expected_probs, et);
    std::vector<kbd_lm_suggestion> g = read(given_words, given_probs, gt);
    char why[512];
    if (kbd_lm_compare(e.data(), e.size(), g.data(), g.size(), rel, abs, why, sizeof why))
      return jstring{nullptr};
    return to_jstring(env, why);
  });
}

}  // extern "C"
