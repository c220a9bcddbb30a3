import math

import pytest

from kbd_lm.typing.candidates import MAX_DROP, WordTrie
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
        # The walk leaves out the alignments that fell below the floor on the way: less by
        # a few times e^floor (in probability) at most.
        for got, exact in ((f.whole, whole), (f.prefix, prefix)):
            assert got <= exact + 1e-9, key
            assert math.exp(exact) - math.exp(got) <= 10 * math.exp(floor), key
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
