package dev.kbdlm;

import java.util.Objects;

/**
 * Next-word, completion and typo correction suggestions from a kbd-lm bundle folder, through the native
 * decoder (libkbd_lm.so, native/include/kbd_lm.h) and its JNI glue (libkbd_lm_jni.so).
 *
 * <pre>{@code
 * try (KbdPredictor p = KbdPredictor.open(bundleDir);
 *      KbdHistory h = p.newHistory()) {
 *   h.learn("lunch at Quattro?", "text");
 *   for (Suggestion s : p.suggest("see you at Qu", 3, "message", h)) show(s.word);
 *   byte[] file = h.save();  // the app writes it (atomically) and reads it back with loadHistory
 * }
 * }</pre>
 *
 * <p>Errors are {@link KbdLmException}s carrying the C status code and message. One predictor
 * may be shared by threads: calls on it run one at a time (the library's lock; this object's
 * monitor guards the native handle, so {@link #close} never frees it under a running call).
 * Close it when done: it holds the model and its buffers (a few MB).
 *
 * <p>The library is loaded with {@code System.loadLibrary("kbd_lm_jni")} (an Android app
 * ships libkbd_lm_jni.so, libkbd_lm.so and libLiteRt.so in its jniLibs), or from the path in
 * the system property {@code dev.kbdlm.library} when it is set.
 */
public final class KbdPredictor implements AutoCloseable {
  static {
    String path = System.getProperty("dev.kbdlm.library");
    if (path != null && !path.isEmpty()) {
      System.load(path);
    } else {
      System.loadLibrary("kbd_lm_jni");
    }
  }

  private long handle; // kbd_lm_predictor*, 0 once closed

  private KbdPredictor(long handle) {
    this.handle = handle;
  }

  /** Loads and verifies the bundle folder (manifest, checksums, model): KbdLmException BUNDLE. */
  public static KbdPredictor open(String bundleDir) {
    return new KbdPredictor(nativeOpen(Objects.requireNonNull(bundleDir, "bundleDir")));
  }

  /** The library's version, for example "0.9.0". */
  public static String version() {
    return nativeVersion();
  }

  /** Up to k words for the text before the cursor, best first; hint: a field kind or null. */
  public Suggestion[] suggest(String text, int k, String hint) {
    return suggest(text, k, hint, null);
  }

  /** As {@link #suggest(String, int, String)}, mixing in the user's history (may be null). */
  public Suggestion[] suggest(String text, int k, String hint, KbdHistory history) {
    return suggest(text, k, hint, history, false, null, null);
  }

  /**
   * As {@link #suggest(String, int, String, KbdHistory)} with typo correction of the partial
   * word (docs/decoding.md section 11) when {@code correct}: on the keyboard {@code layout}
   * (one of the bundle's typing.json layouts; null: "qwerty"), with the touch points
   * {@code taps} when not null: x, y in key units for each letter of the partial word (NaN,
   * NaN for a letter without one). A bad layout or taps is KbdLmException ARGUMENT. The first
   * suggestion's {@code autocorrect} says whether space commits it.
   */
  public Suggestion[] suggest(String text, int k, String hint, KbdHistory history,
      boolean correct, String layout, double[] taps) {
    Objects.requireNonNull(text, "text");
    synchronized (this) {
      long p = live();
      if (history == null) {
        return nativeSuggest(p, text, k, hint, 0, correct, layout, taps);
      }
      synchronized (history) { // (always the predictor, then the history, as the library)
        return nativeSuggest(p, text, k, hint, history.live(), correct, layout, taps);
      }
    }
  }

  /** The model input ids the decoder reads for a text (bos [hint] pieces), to check a port. */
  public synchronized int[] inputIds(String text, String hint) {
    return nativeInputIds(live(), Objects.requireNonNull(text, "text"), hint);
  }

  /** Adds a word or phrase to the blocklist (docs/decoding.md section 9.1). */
  public synchronized void block(String entry) {
    nativeBlock(live(), Objects.requireNonNull(entry, "entry"), true);
  }

  /** Removes a word or phrase the app added to the blocklist. */
  public synchronized void unblock(String entry) {
    nativeBlock(live(), Objects.requireNonNull(entry, "entry"), false);
  }

  /** Switches the blocklist's filter on or off (on by default). */
  public synchronized void enableBlocklist(boolean enabled) {
    nativeEnableBlocklist(live(), enabled);
  }

  /** A new, empty personal history read with this bundle's text tables. */
  public synchronized KbdHistory newHistory() {
    return new KbdHistory(nativeHistoryCreate(live()));
  }

  /**
   * A history from its file's bytes (those {@link KbdHistory#save} gave, or the Python
   * history's file): a damaged file is KbdLmException ARGUMENT naming the line.
   */
  public synchronized KbdHistory loadHistory(byte[] file) {
    return new KbdHistory(nativeHistoryLoad(live(), Objects.requireNonNull(file, "file")));
  }

  /** Frees the native predictor; calls after it throw IllegalStateException. */
  @Override
  public synchronized void close() {
    if (handle != 0) {
      nativeFree(handle);
      handle = 0;
    }
  }

  private long live() {
    if (handle == 0) {
      throw new IllegalStateException("KbdPredictor is closed");
    }
    return handle;
  }

  private static native long nativeOpen(String bundleDir);

  private static native String nativeVersion();

  private static native void nativeFree(long p);

  private static native Suggestion[] nativeSuggest(long p, String text, int k, String hint,
      long history, boolean correct, String layout, double[] taps);

  private static native int[] nativeInputIds(long p, String text, String hint);

  private static native void nativeBlock(long p, String entry, boolean add);

  private static native void nativeEnableBlocklist(long p, boolean enabled);

  private static native long nativeHistoryCreate(long p);

  private static native long nativeHistoryLoad(long p, byte[] file);

  // KbdHistory's calls (the glue is one library; the history's handle is passed in)
  static native int nativeHistoryLearn(long h, String text, String field);

  static native boolean nativeHistoryForget(long h, String word);

  static native byte[] nativeHistorySave(long h);

  static native void nativeHistoryFree(long h);

  static native String nativeCompare(
      String[] expectedWords,
      double[] expectedProbs,
      String[] givenWords,
      double[] givenProbs,
      double rel,
      double abs);
}
