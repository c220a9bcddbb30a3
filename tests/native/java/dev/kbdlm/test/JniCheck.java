package dev.kbdlm.test;

import dev.kbdlm.Conformance;
import dev.kbdlm.KbdHistory;
import dev.kbdlm.KbdLmException;
import dev.kbdlm.KbdPredictor;
import dev.kbdlm.Suggestion;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * The JNI binding as an app uses it, run by tests/native/test_jni.py:
 *
 * <pre>
 * java -Djava.library.path=native/build -cp CLASSES dev.kbdlm.test.JniCheck \
 *     BUNDLE TEXTS.json OUT.json
 * </pre>
 *
 * Opens BUNDLE, checks errors, kinds, the history (learn, suggest, forget, save, load) and
 * every case of BUNDLE's conformance.jsonl (context ids equal; suggestions judged by
 * Conformance.compare with the header's LiteRT tolerance), typo cases with correction on
 * their layout and taps (kinds and autocorrection exact); writes the input ids and
 * suggestions of every text in TEXTS.json (a JSON list) to OUT.json for the test to compare
 * with Python's. Prints one line per check; exit status 1 when one failed.
 */
public final class JniCheck {
  private static int failed = 0;

  private static void check(boolean ok, String what) {
    System.out.println((ok ? "ok   " : "FAIL ") + what);
    if (!ok) failed++;
  }

  private static List<String> words(Suggestion[] s) {
    List<String> out = new ArrayList<>();
    for (Suggestion x : s) out.add(x.word);
    return out;
  }

  private static int errorCode(Runnable call) {
    try {
      call.run();
      return 0;
    } catch (KbdLmException e) {
      System.out.println("     " + e);
      return e.code;
    }
  }

  public static void main(String[] args) throws IOException {
    String bundle = args[0];
    System.out.println("libkbd_lm " + KbdPredictor.version() + ", Java "
        + System.getProperty("java.version") + " (" + System.getProperty("java.vm.name") + ")");
    int code = errorCode(() -> KbdPredictor.open(bundle + "/no-such-folder").close());
    check(code == KbdLmException.BUNDLE, "a missing bundle is KBD_LM_ERR_BUNDLE");
    KbdPredictor closed;
    try (KbdPredictor p = KbdPredictor.open(bundle)) {
      basics(p);
      history(p);
      conformance(p, Path.of(bundle, "conformance.jsonl"));
      texts(p, Path.of(args[1]), Path.of(args[2]));
      closed = p;
    }
    boolean refused = false;
    try {
      closed.suggest("see you ", 3, null);
    } catch (IllegalStateException e) {
      refused = true;
    }
    check(refused, "a closed predictor refuses calls");
    System.out.println(failed == 0 ? "all checks passed" : failed + " checks failed");
    System.exit(failed == 0 ? 0 : 1);
  }

  private static void basics(KbdPredictor p) {
    Suggestion[] next = p.suggest("see you ", 3, null);
    System.out.println("     see you -> " + Arrays.toString(next));
    check(next.length == 3 && next[0].kind == Suggestion.Kind.NEXT, "next words, kind NEXT");
    Suggestion[] done = p.suggest("see yo", 3, null);
    System.out.println("     see yo -> " + Arrays.toString(done));
    check(done.length > 0 && done[0].kind == Suggestion.Kind.COMPLETION
        && done[0].word.startsWith("yo"), "completions of the typed letters, kind COMPLETION");
    check(p.suggest("see you ", 0, null).length == 0, "k = 0 gives no words");
    check(errorCode(() -> p.suggest("see you ", 3, "no-such-hint")) == KbdLmException.ARGUMENT,
        "an unknown hint is KBD_LM_ERR_ARGUMENT");
    Suggestion[] a = {new Suggestion("you", 0.5, Suggestion.Kind.NEXT)};
    Suggestion[] b = {new Suggestion("yes", 0.2, Suggestion.Kind.NEXT)};
    String why = Conformance.compare(a, b, 0.06, 1e-5);
    check(Conformance.compare(a, a, 0.06, 1e-5) == null && why != null
        && why.startsWith("rank 1: you 0.500000 expected"), "Conformance.compare judges: " + why);
  }

  private static void history(KbdPredictor p) {
    // a made-up word the model cannot know, learned from messages
    String word = "Zorblaxia";
    String text = "dinner at " + word.substring(0, 4);
    try (KbdHistory h = p.newHistory()) {
      int learned = 0;
      for (int i = 0; i < 3; i++) learned += h.learn("dinner at " + word + " tonight", "text");
      check(learned == 12, "learned 12 words (" + learned + ")");
      check(h.learn("my secret " + word, "password") == 0, "a password field teaches nothing");
      check(errorCode(() -> h.learn("x", "no-such-field")) == KbdLmException.ARGUMENT,
          "an unknown field is KBD_LM_ERR_ARGUMENT");
      List<String> without = words(p.suggest(text, 3, null));
      List<String> with = words(p.suggest(text, 3, null, h));
      System.out.println("     " + text + " -> " + without + ", with the history " + with);
      check(!without.contains(word) && with.contains(word), "the learned word is suggested");
      byte[] file = h.save();
      try (KbdHistory back = p.loadHistory(file)) {
        check(Arrays.equals(back.save(), file), "a saved history loads back to the same bytes ("
            + file.length + " bytes)");
        check(words(p.suggest(text, 3, null, back)).contains(word), "and suggests the word");
      }
      byte[] damaged = Arrays.copyOf(file, file.length + 9);
      System.arraycopy("\n{broken".getBytes(StandardCharsets.UTF_8), 0, damaged, file.length, 8);
      check(errorCode(() -> p.loadHistory(damaged).close()) == KbdLmException.ARGUMENT,
          "a damaged history file is KBD_LM_ERR_ARGUMENT");
      check(h.forget(word) && !h.forget(word), "forget finds the word once");
      check(!words(p.suggest(text, 3, null, h)).contains(word), "a forgotten word is gone");
    }
  }

  @SuppressWarnings("unchecked")
  private static void conformance(KbdPredictor p, Path file) throws IOException {
    List<String> lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    Map<String, Object> header = (Map<String, Object>) Json.parse(lines.get(0));
    // tolerance_for(header, "litert"): the runtime's entry, else the single tolerance
    Map<String, Object> tols = (Map<String, Object>) header.get("tolerances");
    Map<String, Object> tol = tols != null && tols.containsKey("litert")
        ? (Map<String, Object>) tols.get("litert")
        : (Map<String, Object>) header.get("tolerance");
    double rel = (Double) tol.get("rel"), abs = (Double) tol.get("abs");
    int cases = 0, idsOk = 0, wordsOk = 0, shown = 0, typos = 0;
    for (String line : lines.subList(1, lines.size())) {
      if (line.isEmpty()) continue;
      Map<String, Object> c = (Map<String, Object>) Json.parse(line);
      cases++;
      typos += Boolean.TRUE.equals(c.get("correct")) ? 1 : 0;
      String why = conformanceCase(p, c, rel, abs);
      boolean ids = why == null || !why.startsWith("context ids");
      idsOk += ids ? 1 : 0;
      wordsOk += why == null ? 1 : 0;
      if (why != null && shown++ < 20) System.out.println("     case " + c.get("id") + ": " + why);
    }
    check(cases > 0 && idsOk == cases && wordsOk == cases, String.format(
        "conformance through JNI: %d cases, context ids %d/%d, suggestions %d/%d; tolerance rel"
            + " %s abs %s (litert)", cases, idsOk, cases, wordsOk, cases, rel, abs));
    System.out.println("     " + typos + " of them typo cases (correction on)");
  }

  // A typo case's taps (a list of [x, y] or null) as x, y per letter, NaN for none; null if none.
  @SuppressWarnings("unchecked")
  private static double[] taps(Object taps) {
    if (taps == null) return null;
    List<Object> list = (List<Object>) taps;
    double[] out = new double[2 * list.size()];
    for (int i = 0; i < list.size(); i++) {
      List<Object> xy = (List<Object>) list.get(i);
      out[2 * i] = xy == null ? Double.NaN : (Double) xy.get(0);
      out[2 * i + 1] = xy == null ? Double.NaN : (Double) xy.get(1);
    }
    return out;
  }

  // A typo case's kinds and autocorrection, which must be exact: null when they are.
  private static String kindsDiffer(Suggestion[] expected, Suggestion[] given) {
    for (int i = 0; i < Math.min(expected.length, given.length); i++) {
      if (expected[i].word.equals(given[i].word) && expected[i].kind != given[i].kind) {
        return "kind of " + expected[i].word + ": " + given[i].kind;
      }
    }
    boolean want = expected.length > 0 && expected[0].autocorrect;
    boolean got = given.length > 0 && given[0].autocorrect;
    return want == got ? null : "autocorrect " + got + ", expected " + want;
  }

  // null when the case passes, else why not
  @SuppressWarnings("unchecked")
  private static String conformanceCase(KbdPredictor p, Map<String, Object> c, double rel,
      double abs) {
    String text = (String) c.get("text"), hint = (String) c.get("hint");
    int k = ((Double) c.get("k")).intValue();
    List<Object> block = (List<Object>) c.getOrDefault("blocklist_add", List.of());
    for (Object e : block) p.block((String) e);
    KbdHistory h = null;
    try {
      if (c.containsKey("learn")) {
        h = p.newHistory();
        for (Object m : (List<Object>) c.get("learn")) {
          Map<String, Object> msg = (Map<String, Object>) m;
          h.learn((String) msg.get("text"), (String) msg.getOrDefault("field", "text"));
        }
      }
      int[] ids = p.inputIds(text, hint);
      List<Object> want = (List<Object>) c.get("context_ids");
      int[] wantIds = want.stream().mapToInt(x -> ((Double) x).intValue()).toArray();
      boolean correct = Boolean.TRUE.equals(c.get("correct"));
      Suggestion[] given =
          p.suggest(text, k, hint, h, correct, (String) c.get("layout"), taps(c.get("taps")));
      List<Object> exp = (List<Object>) c.get("suggestions");
      Suggestion[] expected = new Suggestion[exp.size()];
      for (int i = 0; i < expected.length; i++) {
        Map<String, Object> w = (Map<String, Object>) exp.get(i);
        String kind = (String) w.getOrDefault("kind", "next");
        expected[i] = new Suggestion((String) w.get("word"), (Double) w.get("probability"),
            Suggestion.Kind.valueOf(kind.toUpperCase()),
            Boolean.TRUE.equals(w.get("autocorrect")));
      }
      if (!Arrays.equals(ids, wantIds)) {
        return "context ids " + Arrays.toString(ids) + " != " + Arrays.toString(wantIds);
      }
      String why = Conformance.compare(expected, given, rel, abs);
      return why != null || !correct ? why : kindsDiffer(expected, given);
    } catch (KbdLmException e) {
      return "context ids and suggestions not read: " + e;
    } finally {
      if (h != null) h.close();
      for (Object e : block) p.unblock((String) e);
    }
  }

  // TEXTS.json -> OUT.json: [{"ids": [...], "suggestions": [[word, probability, kind], ...]}]
  @SuppressWarnings("unchecked")
  private static void texts(KbdPredictor p, Path in, Path out) throws IOException {
    List<Object> texts = (List<Object>) Json.parse(Files.readString(in, StandardCharsets.UTF_8));
    StringBuilder b = new StringBuilder("[");
    for (Object t : texts) {
      String text = (String) t;
      if (b.length() > 1) b.append(",\n");
      b.append("{\"ids\": ").append(Arrays.toString(p.inputIds(text, null)));
      b.append(", \"suggestions\": [");
      Suggestion[] s = p.suggest(text, 3, null);
      for (int i = 0; i < s.length; i++) {
        b.append(i > 0 ? ", " : "").append("[").append(Json.quote(s[i].word)).append(", ")
            .append(s[i].probability).append(", \"").append(s[i].kind.name().toLowerCase())
            .append("\"]");
      }
      b.append("]}");
    }
    Files.writeString(out, b.append("]\n").toString(), StandardCharsets.UTF_8);
    check(true, "wrote the answers for " + texts.size() + " texts");
  }
}
