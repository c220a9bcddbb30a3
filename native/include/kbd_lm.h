/* kbd_lm.h: the C interface of kbd-lm's native decoder (libkbd_lm.so).
 *
 * Next-word, completion and typo correction suggestions from a kbd-lm bundle folder, as
 * docs/decoding.md
 * specifies them and kbd_lm.Predictor answers them. The model runs on LiteRT's C API
 * (libLiteRt.so of ai-edge-litert 2.3).
 *
 *   kbd_lm_predictor* p;
 *   if (kbd_lm_open("dist/bundle", &p) != KBD_LM_OK) puts(kbd_lm_last_error());
 *   kbd_lm_suggestions* s;
 *   if (kbd_lm_suggest(p, "see you ", 8, 3, NULL, &s) == KBD_LM_OK) {
 *     for (size_t i = 0; i < s->count; i++) printf("%s %f\n", s->items[i].word,
 *                                                  s->items[i].probability);
 *     kbd_lm_suggestions_free(s);
 *   }
 *   kbd_lm_free(p);
 *
 * Text is UTF-8 (invalid UTF-8 is refused with KBD_LM_ERR_ARGUMENT); lengths are in bytes.
 *
 * Errors: every function returns a kbd_lm_status; on an error, kbd_lm_last_error() gives a
 * message naming the file, field or argument at fault. No C++ exception crosses this
 * interface.
 *
 * Threads: a predictor may be shared by many threads (one predictor per bundle, as the
 * server shares one). Each call on it takes the predictor's lock, so calls on one predictor
 * run one at a time; different predictors run in parallel. Results (suggestions, inputs)
 * belong to the caller and may be read and freed from any thread. kbd_lm_last_error() is per
 * thread: it describes the last failed call made by the calling thread.
 *
 * A history (kbd_lm_history_*) belongs to one user and has a lock of its own: calls on it,
 * and a kbd_lm_suggest that mixes it, run one at a time.
 *
 * A bundle with an n-gram (manifest "ngram", docs/decoding.md section 8) is mixed in as the
 * Python predictor mixes it (0.10.0; before, kbd_lm_open refused it). No function of 0.10.0
 * returns KBD_LM_ERR_NOT_IMPLEMENTED: the code is kept for what later bundles may add.
 */
#ifndef KBD_LM_H_
#define KBD_LM_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#define KBD_LM_API __declspec(dllexport)
#else
#define KBD_LM_API __attribute__((visibility("default")))
#endif

typedef enum kbd_lm_status {
  KBD_LM_OK = 0,
  KBD_LM_ERR_ARGUMENT = 1,        /* a NULL pointer, invalid UTF-8, an unknown hint, ... */
  KBD_LM_ERR_BUNDLE = 2,          /* the bundle is missing, damaged or of another version */
  KBD_LM_ERR_RUNTIME = 3,         /* LiteRT failed (its status is in the message) */
  KBD_LM_ERR_MEMORY = 4,          /* out of memory */
  KBD_LM_ERR_NOT_IMPLEMENTED = 5, /* not in this version of the decoder (none in 0.10.0) */
  KBD_LM_ERR_INTERNAL = 6         /* a bug: please report the message */
} kbd_lm_status;

typedef struct kbd_lm_predictor kbd_lm_predictor;
typedef struct kbd_lm_history kbd_lm_history;

/* What a suggestion is: the next word (nothing typed of it yet), a completion of the typed
 * letters, or a correction of them (typo correction, docs/decoding.md section 11). */
typedef enum kbd_lm_kind {
  KBD_LM_KIND_NEXT = 0,
  KBD_LM_KIND_COMPLETION = 1,
  KBD_LM_KIND_CORRECTION = 2
} kbd_lm_kind;

typedef struct kbd_lm_suggestion {
  const char* word;   /* UTF-8, NUL-terminated, cased as it is shown */
  double probability; /* P(word, then a word boundary | text), not renormalised */
  kbd_lm_kind kind;
} kbd_lm_suggestion;

typedef struct kbd_lm_suggestions {
  size_t count;
  kbd_lm_suggestion* items; /* best first */
  /* 1: items[0] is an autocorrection, what space commits (only ever the first; only with
   * correction on); 0: none. (Added in 0.10.0 after the other fields: the struct is
   * allocated by the library, so callers built against 0.9.0's header still read it.) */
  int autocorrect;
} kbd_lm_suggestions;

typedef struct kbd_lm_suggest_options {
  /* The kind of text field: "message", "email", "prose" (the bundle's decoding.field_hints)
   * or NULL. A name outside field_hints is KBD_LM_ERR_ARGUMENT; a known one the bundle was
   * not trained with reads as none. */
  const char* hint;
  kbd_lm_history* history;       /* NULL, or the user's history, mixed in (section 9.2) */
  /* not 0: typo correction of the partial word (docs/decoding.md section 11) on the layout
   * and touch points of kbd_lm_suggest_typing (kbd_lm_suggest: "qwerty", no touch points).
   * A bundle without typing.json (or without a word list) does not correct: the answers are
   * those with 0. */
  int correction;
} kbd_lm_suggest_options;

/* The keyboard of a corrected call (kbd_lm_suggest_typing). */
typedef struct kbd_lm_typing {
  /* one of the bundle's typing.json layouts ("qwerty", "azerty", "qwertz", "dvorak" in
   * kbd-lm's bundles), or NULL for "qwerty"; another name is KBD_LM_ERR_ARGUMENT */
  const char* layout;
  /* NULL, or 2 * tap_count doubles: x, y in key units of the touch point of each letter of
   * the partial word (x from the left of the layout, y from its top row down); NaN, NaN for
   * a letter without one. A count that is not the partial word's number of code points, or
   * an infinite coordinate, is KBD_LM_ERR_ARGUMENT. */
  const double* taps;
  size_t tap_count;
} kbd_lm_typing;

/* What the decoder reads of a text (docs/decoding.md sections 2 and 3), for checking a port. */
typedef struct kbd_lm_input {
  char* context;       /* UTF-8: the normalised text before the word being typed */
  char* partial;       /* UTF-8: the word being typed ("" for a next word) */
  int32_t* ids;        /* the model input: bos [hint] pieces (cut to the last 48 past 160) */
  size_t count;        /* number of ids */
} kbd_lm_input;

/* The library's version ("0.9.0") and the Unicode version of its tables ("14.0.0"). */
KBD_LM_API const char* kbd_lm_version(void);
KBD_LM_API const char* kbd_lm_unicode_version(void);
/* The calling thread's message for its last failed call ("" if none). */
KBD_LM_API const char* kbd_lm_last_error(void);
/* A status code's name ("KBD_LM_ERR_BUNDLE"). */
KBD_LM_API const char* kbd_lm_status_name(kbd_lm_status status);

/* Load and verify a bundle folder: manifest.json (format 3 or 4), the size and sha256 of
 * every file it lists, tokenizer.json, typing.json when listed (format 4), the model's
 * signatures. What cannot be read is refused with
 * KBD_LM_ERR_BUNDLE and a message naming the file and field. */
KBD_LM_API kbd_lm_status kbd_lm_open(const char* bundle_dir, kbd_lm_predictor** out);
KBD_LM_API void kbd_lm_free(kbd_lm_predictor* predictor); /* NULL is allowed */

/* Up to k words for the text before the cursor (text_len bytes of UTF-8), best first.
 * options may be NULL. *out is set on success and freed with kbd_lm_suggestions_free. */
KBD_LM_API kbd_lm_status kbd_lm_suggest(kbd_lm_predictor* predictor, const char* text,
                                        size_t text_len, int k,
                                        const kbd_lm_suggest_options* options,
                                        kbd_lm_suggestions** out);
/* kbd_lm_suggest with the keyboard of typo correction (typing may be NULL: "qwerty", no
 * touch points); correction is on when options->correction is not 0. */
KBD_LM_API kbd_lm_status kbd_lm_suggest_typing(kbd_lm_predictor* predictor, const char* text,
                                               size_t text_len, int k,
                                               const kbd_lm_suggest_options* options,
                                               const kbd_lm_typing* typing,
                                               kbd_lm_suggestions** out);
KBD_LM_API void kbd_lm_suggestions_free(kbd_lm_suggestions* suggestions);

/* Forget every cached context state, model row and correction prior: the next call starts as
 * in a new text field (answers do not change, only their time; for timing from a known
 * state). */
KBD_LM_API kbd_lm_status kbd_lm_clear_cache(kbd_lm_predictor* predictor);

/* The context, partial word and model input ids of a text (hint: as in the options). */
KBD_LM_API kbd_lm_status kbd_lm_decode_input(kbd_lm_predictor* predictor, const char* text,
                                             size_t text_len, const char* hint,
                                             kbd_lm_input** out);
KBD_LM_API void kbd_lm_input_free(kbd_lm_input* input);

/* Whether `given` is the same answer as `expected` (a conformance vector's suggestions, best
 * first) within a tolerance: |p - q| <= abs + rel * max(p, q) for the same words at the same
 * ranks, words in one list only when they tie at the other's cut-off, no two words changing
 * places unless they nearly tie (docs/decoding.md section 10; kbd_lm.inference.tolerance).
 * Returns 1 when it is (why[0] = 0), 0 when not, with the reason in why (NUL-terminated, cut
 * to why_size bytes; why may be NULL). For checking a port; `kind` is not compared. */
KBD_LM_API int kbd_lm_compare(const kbd_lm_suggestion* expected, size_t expected_count,
                              const kbd_lm_suggestion* given, size_t given_count, double rel,
                              double abs, char* why, size_t why_size);

/* The blocklist (docs/decoding.md section 9.1): add or remove a word or phrase (UTF-8,
 * NUL-terminated), switch the filter on (1) or off (0). */
KBD_LM_API kbd_lm_status kbd_lm_blocklist_add(kbd_lm_predictor* predictor, const char* entry);
KBD_LM_API kbd_lm_status kbd_lm_blocklist_remove(kbd_lm_predictor* predictor,
                                                 const char* entry);
KBD_LM_API kbd_lm_status kbd_lm_blocklist_enable(kbd_lm_predictor* predictor, int enabled);

/* The personal history (docs/decoding.md section 9.2; the file format of
 * kbd_lm/history/user_history.py, written and read byte for byte as Python does). A history
 * reads text with the bundle's tables, so it is made from a predictor; it may outlive it. */
KBD_LM_API kbd_lm_status kbd_lm_history_create(const kbd_lm_predictor* predictor,
                                               kbd_lm_history** out);
/* Learn a committed text. field: "text" (or NULL), or a sensitive field ("password", "email",
 * "url", "number", "incognito": nothing is learned); another name is KBD_LM_ERR_ARGUMENT.
 * *learned (may be NULL): the number of words learned. */
KBD_LM_API kbd_lm_status kbd_lm_history_learn(kbd_lm_history* history, const char* text,
                                              size_t text_len, const char* field,
                                              size_t* learned);
/* Remove a word (UTF-8, NUL-terminated) and every sequence holding it; *found may be NULL. */
KBD_LM_API kbd_lm_status kbd_lm_history_forget(kbd_lm_history* history, const char* word,
                                               int* found);
/* The history file's bytes; *out freed with kbd_lm_bytes_free. */
KBD_LM_API kbd_lm_status kbd_lm_history_save(kbd_lm_history* history, uint8_t** out,
                                             size_t* size);
/* Read a history file; a damaged one is KBD_LM_ERR_ARGUMENT with a message naming the line
 * and the problem (the caller then starts an empty history). */
KBD_LM_API kbd_lm_status kbd_lm_history_load(const kbd_lm_predictor* predictor,
                                             const uint8_t* data, size_t size,
                                             kbd_lm_history** out);
KBD_LM_API void kbd_lm_history_free(kbd_lm_history* history);
KBD_LM_API void kbd_lm_bytes_free(uint8_t* bytes);

#ifdef __cplusplus
}
#endif

#endif /* KBD_LM_H_ */
