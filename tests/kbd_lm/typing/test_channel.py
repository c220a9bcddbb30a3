import math

import numpy as np
import pytest

from kbd_lm.typing.channel import (
    ChannelParams,
    TypedLetters,
    key_regions,
    log_likelihood,
    log_touch,
)
from kbd_lm.typing.layouts import LAYOUTS

Q = LAYOUTS["qwerty"]
P = ChannelParams()


def ll(typed, intended, prefix=False, layout=Q, params=P, **kw):
    return log_likelihood(typed, intended, prefix=prefix, layout=layout, params=params, **kw)


@pytest.mark.parametrize("name", list(LAYOUTS))
@pytest.mark.parametrize("spread", [0.2, 0.35, 0.5])
def test_the_touch_probabilities_of_each_key_sum_to_one(name, spread):
    layout = LAYOUTS[name]
    for intended in layout.keys:
        total = sum(
            math.exp(log_touch(t, intended, layout=layout, spread=spread)) for t in layout.keys
        )
        assert total == pytest.approx(1.0, abs=1e-9)


def test_the_key_regions_tile_the_plane():
    regions = key_regions(Q)
    assert len(regions) == len(Q.keys)
    # every point lies in exactly one region, and it is nearest_key's
    for x in (-2.0, 0.3, 1.7, 4.99, 9.6, 12.0):
        for y in (-1.0, 0.2, 1.5, 2.7, 5.0):
            inside = [
                k
                for k, (x0, x1, y0, y1) in zip(Q.keys, regions, strict=True)
                if x0 <= x < x1 and y0 <= y < y1
            ]
            assert inside == [Q.nearest_key(x, y)]


def test_a_neighbouring_slip_is_far_likelier_than_a_far_key():
    near = ll("thw", "the")  # w is next to e
    diag = ll("thd", "the")  # d is below e, half a key to the side
    far = ll("thm", "the")  # m is across the keyboard
    assert ll("the", "the") > near > diag > far
    assert near - far > 5  # e^5: two orders of magnitude and more


def test_the_spread_sets_how_cheap_a_slip_is():
    tight, loose = ChannelParams(touch_spread=0.2), ChannelParams(touch_spread=0.5)
    assert ll("thw", "the", params=tight) < ll("thw", "the", params=loose)
    assert ll("the", "the", params=tight) > ll("the", "the", params=loose)


def test_a_missing_apostrophe_is_cheap_and_other_omissions_are_not():
    assert ll("dont", "don't") > ll("dnt", "dont")
    assert ll("dont", "don't") > ll("thw", "the")  # cheaper than a neighbouring slip
    assert ll("dont", "don't") > math.log(P.missing_apostrophe) - 1


def test_omission_insertion_doubling_and_transposition_are_priced():
    # either "r" left out, plus a little from other alignments (slips to neighbouring keys)
    omitted = ll("tomorrow", "tomorrow") + math.log(2 * P.omission)
    assert omitted <= ll("tomorow", "tomorrow") <= omitted + 0.25
    assert ll("hellllo", "hello") > ll("helklo", "hello") - 10  # both finite, priced
    assert ll("helllo", "hello") > ll("helxlo", "hello")  # doubled letter beats a random one
    assert ll("teh", "the") > ll("tqe", "the")  # a swap beats a far key
    assert ll("teh", "the") > -8


def test_edits_are_bounded():
    assert ll("tmrw", "tomorrow") == -math.inf  # four omissions
    assert ll("tmrw", "tomorrow", max_edits=4) > -math.inf
    assert ll("thw", "the", max_edits=0) > -math.inf  # a slip to another key is no edit
    assert ll("th", "the", max_edits=0) == -math.inf


def test_prefix_mode_lets_the_word_go_on():
    assert ll("tomo", "tomorrow") == -math.inf
    assert ll("tomo", "tomorrow", prefix=True) == pytest.approx(ll("tomo", "tomo"))
    assert ll("tomi", "tomorrow", prefix=True) > ll("tomx", "tomorrow", prefix=True)
    assert ll("", "tomorrow", prefix=True) == 0.0
    # a slip in the first letter is priced, not fatal
    assert ll("rhe", "the", prefix=True) > -6


def test_case_does_not_matter():
    assert ll("Tomorow", "tomorrow") == ll("tomorow", "Tomorrow")


def test_characters_off_the_layout_are_typed_exactly():
    assert ll("5pm", "5pm") > -1
    assert ll("6pm", "5pm") < ll("5pm", "5pm") - 5  # only by insertion and omission
    assert ll("café", "café") > ll("cafe", "café")


def test_azerty_prices_slips_by_its_own_geometry():
    a = LAYOUTS["azerty"]
    # "w" and "x" are neighbours on AZERTY's bottom row; on QWERTY "w" is two rows above "x"
    assert ll("xhat", "what", layout=a) > ll("xhat", "what", layout=Q) + 5
    # "m" ends AZERTY's middle row, next to "l"; on QWERTY it is on the bottom row
    assert ll("hemlo", "hello", layout=a) > ll("hemlo", "hello", layout=Q) + 1


def test_taps_read_where_the_finger_landed():
    x, y = Q.centre("w")
    between = ((x + Q.centre("e")[0]) / 2, y)  # on the border of w and e
    on_w = ll("thw", "the", taps=[Q.centre("t"), Q.centre("h"), (x, y)])
    on_border = ll("thw", "the", taps=[Q.centre("t"), Q.centre("h"), between])
    assert on_border > on_w
    with pytest.raises(ValueError, match="2 taps for 3 typed letters"):
        ll("thw", "the", taps=[(0, 0), (0, 0)])


def test_params_round_trip_and_refuse_nonsense():
    assert ChannelParams.from_dict(P.to_dict()) == P
    assert ChannelParams.from_dict({"omission": 0.02}).omission == 0.02
    with pytest.raises(ValueError, match="touch_spread must be positive"):
        ChannelParams(touch_spread=0)
    with pytest.raises(ValueError, match="must be < 1"):
        ChannelParams(omission=0.6, transposition=0.5)


@pytest.mark.parametrize(
    "typed, taps", [("tomorow", None), ("dont", [(6.5, 0.5), None, (5.4, 2.6), (4.4, 0.6)])]
)
def test_many_columns_at_once_are_each_columns_own(typed, taps):
    # a trie's frontier: different columns, letters before them and letters read, at once
    letters = TypedLetters(typed, layout=Q, params=P, taps=taps)
    words = ["tomorrow", "don't", "tmo", "dobt", "xq'z", "oé"]
    floor = letters.likelihoods(typed)[0] - 12
    singles = []  # (column before, column, letter read last, next letter, its column)
    for word in words:
        before, col = None, letters.first()
        for b in range(len(word) - 1):
            prev = word[b - 1] if b else None
            before, col = col, letters.next(before, col, prev, word[b], floor)
        prev = word[-2] if len(word) > 1 else None
        singles.append(
            (before, col, prev, word[-1], letters.next(before, col, prev, word[-1], floor))
        )
    many = letters.next_many(
        np.stack([s[0] for s in singles]),
        np.stack([s[1] for s in singles]),
        [s[2] for s in singles],
        [s[3] for s in singles],
        floor,
    )
    for one, (*_, alone) in zip(many, singles, strict=True):
        assert one.tolist() == alone.tolist()  # the same values, bit for bit
    # and the likelihoods of many words at once are each word's
    together = letters.likelihoods_many(words)
    assert together == [letters.likelihoods(w) for w in words]
    assert together[0][0] == ll(typed, "tomorrow", taps=taps)


def test_a_word_stops_being_read_once_its_columns_are_impossible():
    # "ab" typed: "xqzjvwkxqzjv" is beyond the edit budget after a few letters and is read no
    # further; its likelihoods, and the others' read beside it, are those of every column
    # read to the word's end one at a time
    letters = TypedLetters("ab", layout=Q, params=P)
    words = ["xqzjvwkxqzjv", "abcdefghijkl", "ba", "a'b"]

    def read_to_the_end(word):
        before, col = None, letters.first()
        best = letters.whole(col)
        for b, char in enumerate(word):
            before, col = col, letters.next(before, col, word[b - 1] if b else None, char)
            best = max(best, letters.whole(col))
        return letters.whole(col), best

    together = letters.likelihoods_many(words)
    assert together == [read_to_the_end(w) for w in words]
    assert together[0][0] == -math.inf and together[1][1] > -1


@pytest.mark.parametrize("name", ["qwerty", "azerty", "dvorak"])
def test_the_touch_tables_are_log_touch(name):
    # every key and two characters off the layout, typed letters with and without taps
    layout, rng = LAYOUTS[name], np.random.default_rng(1)
    for typed in ("helo", "dont", "xé1"):
        taps = [None if rng.random() < 0.3 else tuple(rng.uniform(0, 4, 2)) for _ in typed]
        letters = TypedLetters(typed, layout=layout, params=ChannelParams(0.3), taps=taps)
        for char in [*layout.keys, "é", "1"]:
            want = [
                log_touch(t, char, layout=layout, spread=0.3, tap=tap)
                for t, tap in zip(letters.t, letters.taps, strict=True)
            ]
            assert letters.touch(char).tolist() == want  # the same values, bit for bit


@pytest.mark.parametrize(
    "typed, taps", [("tomorow", None), ("dont", [(6.5, 0.5), None, (5.4, 2.6), (4.4, 0.6)])]
)
def test_the_rows_of_fewer_typed_letters_are_read_on_bit_for_bit(typed, taps):
    # a column computed for the first k typed letters, read on with the rest, is the column
    # computed for all of them; so are columns taken by index and letters given as rows
    full = TypedLetters(typed, layout=Q, params=P, taps=taps)
    for word in ["tomorrow", "don't", "tmo", "xq'z", "oé"]:
        for k in range(len(typed) + 1):
            part = TypedLetters(typed[:k], layout=Q, params=P, taps=taps[:k] if taps else None)
            before, col, p_before, p_col = None, full.first(), None, part.first()
            for b, char in enumerate(word):
                prev = word[b - 1] if b else None
                new = full.next(before, col, prev, char)
                p_new = part.next(p_before, p_col, prev, char)
                read_on = full.next_many(
                    None if before is None else before[None],
                    col[None],
                    prev,
                    [char],
                    known=p_new[None],
                )[0]
                assert read_on.tolist() == new.tolist(), (word, k, b)
                before, col, p_before, p_col = col, new, p_col, p_new
    # by index, and with table rows for the letters
    cols = np.stack([full.next(None, full.first(), None, c) for c in "tyo"])
    rows = full.letter_rows(np.array(["o", "m"], dtype="<U1"))
    by_index = full.next_many(
        cols, cols, rows[:1], rows[1:], at=np.array([2]), before_at=np.array([0])
    )
    alone = full.next(cols[0], cols[2], "o", "m")
    assert by_index[0].tolist() == alone.tolist()


def test_likelihoods_read_on_from_where_columns_leave_off():
    letters = TypedLetters("tomorow", layout=Q, params=P)
    words = ["tomorrow", "tomato", "t", "xyz"]
    start = letters.first()
    c1 = letters.next(None, start, None, "t")
    c2 = letters.next(start, c1, "t", "o")
    best = max(letters.whole(start), letters.whole(c1), letters.whole(c2))
    starts = [
        (2, c1, c2, letters.whole(c2), best),
        (2, c1, c2, letters.whole(c2), best),
        None,
        None,
    ]
    assert letters.likelihoods_many(words, starts) == letters.likelihoods_many(words)


def test_words_that_start_with_the_typed_letters_read_on_from_their_columns():
    # Corrections.suggest reads the completions on from the typed letters' own columns
    letters = TypedLetters("tomo", layout=Q, params=P)
    own = letters.read("tomo")
    assert own[0] == 4 and (own[3], own[4]) == letters.likelihoods("tomo")
    words = ["tomorrow", "Tomorrow", "tomo", "tomorrow's"]
    assert letters.likelihoods_many(words, [own] * 4) == letters.likelihoods_many(words)
