package dev.kbdlm;

/**
 * One suggested word: as it is shown (cased, the typed letters kept as typed), its
 * probability P(word, then a word boundary | text), and what it is.
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

  public Suggestion(String word, double probability, Kind kind) {
    this.word = word;
    this.probability = probability;
    this.kind = kind;
  }

  // from the JNI glue: kind is kbd_lm_kind's value
  Suggestion(String word, double probability, int kind) {
    this(word, probability, Kind.values()[kind]);
  }

  @Override
  public String toString() {
    return String.format("%s %.6f %s", word, probability, kind.name().toLowerCase());
  }
}
