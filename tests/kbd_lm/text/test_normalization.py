from kbd_lm.text.normalization import normalize, normalize_prefix, words


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


def test_the_partial_word_is_a_prefix_of_a_word():
    from kbd_lm.text.normalization import PARTIAL_WORD_RE, WORD_RE

    def partial(text):
        m = PARTIAL_WORD_RE.search(text)
        return m.group(0) if m else None

    assert partial("see yo") == "yo"
    assert partial("I don'") == "don'"  # the apostrophe of "don't" is being typed
    assert partial("rock'n'r") == "rock'n'r"
    assert partial("see you ") is None and partial("ok.") is None and partial("") is None
    assert partial("wasn''") is None  # no word has two apostrophes in a row
    assert partial("wasn''t") == "t"  # ... so a new word starts after them
    assert partial("snake_c") == "c"
    for text in ("Don't stop, it's 5 o'clock", "rock'n'roll", "a''b c'd"):
        for word in WORD_RE.findall(text):
            for i in range(1, len(word) + 1):  # every prefix of a word is a partial word
                assert partial(word[:i]) == word[:i]


def test_ascii_text_is_normalised_as_other_text():
    # ASCII takes a fast path; every ASCII character must come out as the general rule says.
    from kbd_lm.text.normalization import is_dropped

    for code in range(128):
        ch = chr(code)
        text = f"a{ch}b"
        kept = "" if is_dropped(ch) else ch
        expected = "a b" if kept.isspace() else f"a{kept}b"
        assert normalize(text) == expected, repr(ch)
        # the same character beside a non-ASCII one takes the general path
        assert normalize(text + "é") == expected + "é", repr(ch)
