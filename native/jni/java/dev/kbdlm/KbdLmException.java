package dev.kbdlm;

/**
 * A failed call of the native decoder: the C interface's status code (kbd_lm.h's
 * {@code kbd_lm_status}) and its message, which names the file, field or argument at fault.
 *
 * <pre>{@code
 * try (KbdPredictor p = KbdPredictor.open("/no/such/bundle")) { ... }
 * catch (KbdLmException e) { e.code == KbdLmException.BUNDLE; e.getMessage(); }
 * }</pre>
 */
public final class KbdLmException extends RuntimeException {
  // kbd_lm_status (native/include/kbd_lm.h)
  public static final int ARGUMENT = 1; // a bad argument: invalid text, an unknown hint, ...
  public static final int BUNDLE = 2; // the bundle is missing, damaged or of another version
  public static final int RUNTIME = 3; // LiteRT failed
  public static final int MEMORY = 4; // out of memory
  public static final int NOT_IMPLEMENTED = 5; // not in this version of the native decoder
  public static final int INTERNAL = 6; // a bug in the decoder: please report the message

  private static final long serialVersionUID = 1L;

  private static final String[] NAMES = {
    "KBD_LM_OK", "KBD_LM_ERR_ARGUMENT", "KBD_LM_ERR_BUNDLE", "KBD_LM_ERR_RUNTIME",
    "KBD_LM_ERR_MEMORY", "KBD_LM_ERR_NOT_IMPLEMENTED", "KBD_LM_ERR_INTERNAL"
  };

  /** The status code, one of the constants above. */
  public final int code;

  public KbdLmException(int code, String message) {
    super(message);
    this.code = code;
  }

  /** The status's name in kbd_lm.h, for example "KBD_LM_ERR_BUNDLE". */
  public String statusName() {
    return code >= 0 && code < NAMES.length ? NAMES[code] : "unknown status " + code;
  }

  @Override
  public String toString() {
    return "KbdLmException(" + statusName() + "): " + getMessage();
  }
}
