import math

import pytest

from kbd_lm.typing.candidates import MAX_DROP, ColumnMemo, WordTrie
from kbd_lm.typing.channel import ChannelParams, TypedLetters, log_likelihood
from kbd_lm.typing.layouts import LAYOUTS

Q = LAYOUTS["qwerty"]
P = ChannelParams()
WORDS = [
    ("the", 900),
    ("they", 120),
    ("then", 80),
    ("there", 70),
    ("tomorrow", 50),
    ("tonight", 30),
    ("hello", 20),
    ("help", 15),
    ("don't", 60),
    ("I'm", 40),
    ("zebra", 1),
]


@pytest.mark.parametrize("typed", ["teh", "tomorow", "rhe", "hellp", "dont", "im", "th", "xyz"])
def test_the_walk_gives_the_channels_own_likelihoods(typed):
    trie = WordTrie(WORDS)
    found = trie.walk(TypedLetters(typed, layout=Q, params=P))
    floor = log_likelihood(typed, typed, prefix=False, layout=Q, params=P) - MAX_DROP
    for key, f in found.items():
        whole = log_likelihood(typed, f.word, prefix=False, layout=Q, params=P)
        prefix = log_likelihood(typed, f.word, prefix=True, layout=Q, params=P)
        # The walk's columns are the channel's own: a word noted at its own node has its
        # exact whole; one noted below a node only has that node's whole as its prefix (at
        # most its own, and within e^(floor + 4.6) of it in probability: "th" gives
        # *tonight* 1.9e-5 for its exact 1.6e-4, 37 times e^floor, at touch_spread 0.3).
        assert f.whole == -math.inf or f.whole == whole, key
        for got, exact in ((f.whole, whole), (f.prefix, prefix)):
            assert got <= exact + 1e-9, key
            assert math.exp(exact) - math.exp(got) <= 100 * math.exp(floor), key
    # Nothing within the budget as a whole word is missed (the list is small enough to read
    # whole); as a completion, each node offers its most frequent words only.
    for word, _ in WORDS:
        if log_likelihood(typed, word, prefix=False, layout=Q, params=P) > floor + 0.5:
            assert word.lower() in found, (typed, word)


def test_typical_slips_find_their_words():
    trie = WordTrie(WORDS)

    def found(typed):
        return trie.walk(TypedLetters(typed, layout=Q, params=P))

    assert {"the", "then", "they", "there"} <= set(found("teh"))
    assert "tomorrow" in found("tomorow") and "zebra" not in found("tomorow")
    assert "don't" in found("dont") and found("dont")["don't"].word == "don't"
    assert found("im")["i'm"].word == "I'm"  # the list's casing
    # completions: "tomo" reads as the start of "tomorrow", not as a whole word
    tomo = found("tomo")["tomorrow"]
    assert tomo.whole == -math.inf and tomo.prefix > -1


def test_the_node_budget_bounds_the_work():
    # every three-letter lowercase word: a one-letter typed word is near thousands of them
    letters = "abcdefghijklmnopqrstuvwxyz"
    trie = WordTrie((a + b + c, 1) for a in letters for b in letters for c in letters)
    typed = TypedLetters("q", layout=Q, params=P)
    small, large = trie.walk(typed, max_nodes=200), trie.walk(typed, max_nodes=20_000)
    assert 0 < len(small) < len(large)


@pytest.mark.parametrize("typed", ["teh", "tomorow", "rhe", "hellp", "th", "q"])
def test_the_k_best_are_those_of_the_whole_walk(typed):
    # many words, so that the bound leaves most of the trie unread
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = WORDS + [
        (a + b + c, 1 + (ord(a) * 7 + ord(b)) % 50)
        for a in letters
        for b in "aeiouht"
        for c in "ehnrst"
    ]
    trie = WordTrie(words)
    t = TypedLetters(typed, layout=Q, params=P)

    def skip(word):
        return word.startswith(typed) or word == "then"

    def ranked(found):
        score = {key: math.log(f.count) + f.prefix for key, f in found.items()}
        return sorted(score.values(), reverse=True)[:8]

    full = trie.walk(t, skip=skip)
    best = trie.walk(t, k=8, skip=skip, completions=False)
    assert "then" not in best and not any(key.startswith(typed) for key in best)
    assert ranked(best) == pytest.approx(ranked(full))  # the 8 best scores, exactly
    if len(full) > 8:  # more words in reach than asked for: the bound left some unread
        assert len(best) < len(full)


def test_the_walk_takes_the_typed_letters_likelihood_from_its_caller():
    trie = WordTrie(WORDS)
    t = TypedLetters("tomorow", layout=Q, params=P)
    own = t.likelihoods(t.t)[0]
    assert trie.walk(t, k=8, own=own) == trie.walk(t, k=8)


@pytest.mark.parametrize("taps", [False, True])
def test_the_columns_of_the_last_keystroke_change_no_answer(taps):
    # typed in order, with a backspace and a new letter in between: each walk that starts
    # from an earlier walk's columns finds what a walk from nothing finds, exactly
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = WORDS + [
        (a + b + c, 1 + (ord(a) * 7 + ord(c)) % 50)
        for a in "tho"
        for b in letters
        for c in "ehmnorstw"
    ]
    trie, memo = WordTrie(words), ColumnMemo(size=2)
    keystrokes = ["t", "to", "tom", "tomo", "tomor", "tomo", "tomp", "tompr", "x", "tomo"]
    for text in keystrokes:
        touch = [Q.centre(ch) for ch in text] if taps else None
        t = TypedLetters(text, layout=Q, params=P, taps=touch)
        assert trie.walk(t, k=8, memo=memo) == trie.walk(t, k=8), text
        assert trie.walk(t, memo=memo) == trie.walk(t), text
    assert len(memo.walks) == 2  # bounded
    # "tomo" was the last: "tomor" reads the rows of four typed letters (and the first) from it
    t = TypedLetters(
        "tomor", layout=Q, params=P, taps=[Q.centre(ch) for ch in "tomor"] if taps else None
    )
    assert memo.get(t)[1] == 5


def test_a_walks_columns_give_the_words_likelihoods():
    trie, memo = WordTrie(WORDS), ColumnMemo()
    t = TypedLetters("tomorow", layout=Q, params=P)
    trie.walk(t, k=8, memo=memo)
    words = ["tomorrow", "tonight", "tomorrows", "the", "qq"]
    starts = trie.starts(t, words, memo.get(t)[0])
    assert starts[0][0] == len("tomorrow") and starts[-1] is None  # read to its own node
    assert t.likelihoods_many(words, starts) == t.likelihoods_many(words)
