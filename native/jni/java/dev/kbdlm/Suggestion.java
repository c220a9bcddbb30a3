package dev.kbdlm;

/**
 * One suggested word: as it is shown (cased, the typed letters kept as typed), its
 * probability P(word, then a word boundary | text), what it is, and whether space commits it
 * in place of the typed letters (an autocorrection: only ever the first, with correction on).
 *
 * <pre>{@code new Suggestion("you", 0.42, Suggestion.Kind.COMPLETION)}</pre>
 */
public final class Suggestion {
  /** kbd_lm.h's kbd_lm_kind: the next word, a completion of typed letters, a correction. */
  public enum Kind {
    NEXT,
    COMPLETION,
    CORRECTION
  }

  public final String word;
  public final double probability;
  public final Kind kind;
  public final boolean autocorrect;

  public Suggestion(String word, double probability, Kind kind) {
    this(word, probability, kind, false);
  }

  public Suggestion(String word, double probability, Kind kind, boolean autocorrect) {
    this.word = word;
    this.probability = probability;
    this.kind = kind;
    this.autocorrect = autocorrect;
  }

  // from the JNI glue: kind is kbd_lm_kind's value
  Suggestion(String word, double probability, int kind, boolean autocorrect) {
    this(word, probability, Kind.values()[kind], autocorrect);
  }

  @Override
  public String toString() {
    return String.format("%s%s %.6f %s", autocorrect ? "*" : "", word, probability,
        kind.name().toLowerCase());
  }
}
