package dev.kbdlm.test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small JSON reader and writer for the JNI check (the JDK has none): objects are
 * LinkedHashMaps, arrays Lists, numbers Doubles, strings UTF-16 as written (a "\ud83d" escape
 * alone stays a lone surrogate).
 *
 * <pre>{@code Json.parse("{\"k\": [1, \"a\"]}")  // {k=[1.0, a]}}</pre>
 */
final class Json {
  private final String s;
  private int i;

  private Json(String s) {
    this.s = s;
  }

  static Object parse(String text) {
    Json j = new Json(text);
    Object v = j.value();
    j.space();
    if (j.i != text.length()) throw j.error("trailing text");
    return v;
  }

  private RuntimeException error(String what) {
    return new IllegalArgumentException("JSON: " + what + " at " + i);
  }

  private void space() {
    while (i < s.length() && Character.isWhitespace(s.charAt(i))) i++;
  }

  private boolean take(char c) {
    space();
    if (i < s.length() && s.charAt(i) == c) {
      i++;
      return true;
    }
    return false;
  }

  private Object value() {
    space();
    if (i >= s.length()) throw error("end of text");
    char c = s.charAt(i);
    if (c == '{') {
      i++;
      Map<String, Object> m = new LinkedHashMap<>();
      if (take('}')) return m;
      do {
        space();
        String key = string();
        if (!take(':')) throw error("':' expected");
        m.put(key, value());
      } while (take(','));
      if (!take('}')) throw error("'}' expected");
      return m;
    }
    if (c == '[') {
      i++;
      List<Object> a = new ArrayList<>();
      if (take(']')) return a;
      do a.add(value());
      while (take(','));
      if (!take(']')) throw error("']' expected");
      return a;
    }
    if (c == '"') return string();
    for (String word : new String[] {"true", "false", "null"}) {
      if (s.startsWith(word, i)) {
        i += word.length();
        return word.equals("null") ? null : Boolean.valueOf(word.equals("true"));
      }
    }
    int start = i;
    while (i < s.length() && "+-0123456789.eE".indexOf(s.charAt(i)) >= 0) i++;
    if (start == i) throw error("a value expected");
    return Double.valueOf(s.substring(start, i));
  }

  private String string() {
    if (s.charAt(i) != '"') throw error("'\"' expected");
    i++;
    StringBuilder b = new StringBuilder();
    while (true) {
      if (i >= s.length()) throw error("unterminated string");
      char c = s.charAt(i++);
      if (c == '"') return b.toString();
      if (c != '\\') {
        b.append(c);
        continue;
      }
      char e = s.charAt(i++);
      switch (e) {
        case 'n': b.append('\n'); break;
        case 't': b.append('\t'); break;
        case 'r': b.append('\r'); break;
        case 'b': b.append('\b'); break;
        case 'f': b.append('\f'); break;
        case 'u':
          b.append((char) Integer.parseInt(s.substring(i, i + 4), 16));
          i += 4;
          break;
        default: b.append(e); // '"', '\\', '/'
      }
    }
  }

  /** A string as a JSON literal, every character outside printable ASCII escaped. */
  static String quote(String text) {
    StringBuilder b = new StringBuilder("\"");
    for (int k = 0; k < text.length(); k++) {
      char c = text.charAt(k);
      if (c == '"' || c == '\\') b.append('\\').append(c);
      else if (c < 0x20 || c > 0x7e) b.append(String.format("\\u%04x", (int) c));
      else b.append(c);
    }
    return b.append('"').toString();
  }
}
