package dev.kbdlm;

import java.util.Objects;

/**
 * One user's personal history (docs/decoding.md section 9.2): what they typed, learned word
 * by word, mixed into suggestions. Its file is the Python history's, byte for byte.
 *
 * <pre>{@code
 * try (KbdHistory h = predictor.newHistory()) {
 *   h.learn("see you at Quattro", "text");  // 4 (words learned)
 *   h.learn("hunter2", "password");         // 0: sensitive fields teach nothing
 *   h.forget("Quattro");                    // true
 *   byte[] file = h.save();
 * }
 * }</pre>
 *
 * <p>Made by {@link KbdPredictor#newHistory} or {@link KbdPredictor#loadHistory}; it may
 * outlive its predictor. Calls on it run one at a time.
 */
public final class KbdHistory implements AutoCloseable {
  private long handle; // kbd_lm_history*, 0 once closed

  KbdHistory(long handle) {
    this.handle = handle;
  }

  /**
   * Learns a committed text; field: "text" (or null), or a sensitive field ("password",
   * "email", "url", "number", "incognito": nothing is learned). Returns the words learned.
   */
  public synchronized int learn(String text, String field) {
    return KbdPredictor.nativeHistoryLearn(live(), Objects.requireNonNull(text, "text"), field);
  }

  /** Removes a word and every sequence holding it; whether it was there. */
  public synchronized boolean forget(String word) {
    return KbdPredictor.nativeHistoryForget(live(), Objects.requireNonNull(word, "word"));
  }

  /** The history file's bytes (write them atomically: Android's AtomicFile). */
  public synchronized byte[] save() {
    return KbdPredictor.nativeHistorySave(live());
  }

  @Override
  public synchronized void close() {
    if (handle != 0) {
      KbdPredictor.nativeHistoryFree(handle);
      handle = 0;
    }
  }

  // (called with this object's monitor held)
  long live() {
    if (handle == 0) {
      throw new IllegalStateException("KbdHistory is closed");
    }
    return handle;
  }
}
