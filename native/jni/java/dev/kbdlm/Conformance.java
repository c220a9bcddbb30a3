package dev.kbdlm;

/**
 * Whether a port's suggestions are the bundle's conformance answer (docs/decoding.md section
 * 10), judged by the native library's kbd_lm_compare, the rule the Python and C checks use.
 *
 * <pre>{@code
 * String why = Conformance.compare(expected, given, 0.06, 1e-5);  // null: the same answer
 * }</pre>
 */
public final class Conformance {
  private Conformance() {}

  /**
   * null when {@code given} is {@code expected}'s answer within the tolerance (rel, abs: the
   * conformance header's for the runtime), else the reason. Kinds are not compared.
   */
  public static String compare(Suggestion[] expected, Suggestion[] given, double rel, double abs) {
    String[] ew = new String[expected.length];
    double[] ep = new double[expected.length];
    for (int i = 0; i < expected.length; i++) {
      ew[i] = expected[i].word;
      ep[i] = expected[i].probability;
    }
    String[] gw = new String[given.length];
    double[] gp = new double[given.length];
    for (int i = 0; i < given.length; i++) {
      gw[i] = given[i].word;
      gp[i] = given[i].probability;
    }
    return KbdPredictor.nativeCompare(ew, ep, gw, gp, rel, abs);
  }
}
