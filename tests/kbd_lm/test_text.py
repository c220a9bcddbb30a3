from kbd_lm.text import normalize, normalize_prefix, words


def test_normalize_nfc_controls_whitespace():
    assert normalize("Cafe\u0301") == "Café"  # NFC composes the accent
    assert normalize("a\u0007b\x00c") == "abc"  # control characters dropped
    assert normalize("  many   spaces\tand\ttabs\n") == "many spaces and tabs"
    assert normalize("don\u2019t") == "don't"  # typographic apostrophe folded


def test_normalize_keeps_case_punctuation_and_emoji():
    assert normalize("I'm in Paris!") == "I'm in Paris!"
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # joined by ZWJ: kept whole
    assert normalize(f"hi {family}") == f"hi {family}"


def test_normalize_prefix_keeps_trailing_space():
    assert normalize_prefix("see  you ") == "see you "
    assert normalize_prefix("see yo") == "see yo"
    assert normalize_prefix("   ") == ""


def test_words_definition():
    assert words("Don't stop, it's 5 o'clock!") == ["don't", "stop", "it's", "5", "o'clock"]
    assert words("...") == []
    assert words("snake_case") == ["snake", "case"]
