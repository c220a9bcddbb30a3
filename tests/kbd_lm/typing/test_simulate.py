import math

import numpy as np
import pytest

from kbd_lm.typing.channel import ChannelParams
from kbd_lm.typing.layouts import LAYOUTS
from kbd_lm.typing.simulate import simulate

Q = LAYOUTS["qwerty"]
QUIET = dict(omission=0.0, insertion=0.0, doubled=0.0, transposition=0.0, missing_apostrophe=0.0)
DRAWS = 20_000


def typed(word, params, seed=0, n=DRAWS, layout=Q):
    rng = np.random.default_rng(seed)
    return [simulate(word, rng, layout=layout, params=params) for _ in range(n)]


def test_the_same_seed_types_the_same():
    p = ChannelParams(touch_spread=0.4)
    a = typed("keyboard", p, seed=7, n=50)
    b = typed("keyboard", p, seed=7, n=50)
    assert a == b
    assert a != typed("keyboard", p, seed=8, n=50)


@pytest.mark.parametrize("spread", [0.2, 0.25, 0.35, 0.5])
def test_off_key_touches_match_the_spread(spread):
    # "g" is inside the keyboard: a touch leaves it when |dx| or |dy| exceeds half a key
    inside = math.erf(0.5 / (spread * math.sqrt(2))) ** 2
    out = typed("g", ChannelParams(touch_spread=spread, **QUIET))
    wrong = sum(t.letters != "g" for t in out) / DRAWS
    assert wrong == pytest.approx(1 - inside, abs=0.01)
    assert all(len(t.letters) == 1 == len(t.taps) for t in out)
    # the taps are centred on the key with the asked spread
    taps = np.array([t.taps[0] for t in out])
    assert np.allclose(taps.mean(axis=0), Q.centre("g"), atol=0.02)
    assert np.allclose(taps.std(axis=0), spread, rtol=0.05)


def test_omission_and_insertion_rates_match_their_parameters():
    word = "abcdefghij"  # ten distinct letters
    tight = dict(QUIET, touch_spread=0.01)  # no slips
    omitted = typed(word, ChannelParams(**dict(tight, omission=0.1)), n=4000)
    lost = sum(len(word) - len(t.letters) for t in omitted) / (4000 * len(word))
    assert lost == pytest.approx(0.1, abs=0.01)
    inserted = typed(word, ChannelParams(**dict(tight, insertion=0.1)), n=4000)
    extra = sum(len(t.letters) - len(word) for t in inserted) / (4000 * len(word))
    assert extra == pytest.approx(0.1, abs=0.01)
    doubled = typed(word, ChannelParams(**dict(tight, doubled=0.05)), n=4000)
    pairs = sum(
        sum(a == b for a, b in zip(t.letters, t.letters[1:], strict=False)) for t in doubled
    )
    assert pairs / (4000 * len(word)) == pytest.approx(0.05, abs=0.01)


def test_transpositions_match_their_rate():
    word = "abcdefghij"
    out = typed(word, ChannelParams(**dict(QUIET, touch_spread=0.01, transposition=0.05)), n=4000)
    swaps = 0
    for t in out:
        assert sorted(t.letters) == sorted(word)  # nothing lost or added
        swaps += sum(t.letters[i] > t.letters[i + 1] for i in range(len(word) - 1))
    # a pair starts a swap with the rate unless the letter before it already swapped
    assert swaps / (4000 * (len(word) - 1)) == pytest.approx(0.05, abs=0.01)


def test_apostrophes_case_and_characters_off_the_layout():
    p = ChannelParams(**dict(QUIET, touch_spread=0.01, missing_apostrophe=0.5))
    out = typed("Don't", p, n=2000)
    share = sum(t.letters == "Dont" for t in out) / 2000
    assert share == pytest.approx(0.5, abs=0.05)
    assert {t.letters for t in out} == {"Dont", "Don't"}
    exact = typed("5pm", ChannelParams(**dict(QUIET, touch_spread=0.01)), n=10)
    assert all(t.letters == "5pm" and t.taps[0] is None for t in exact)


def test_azerty_typing_lands_on_azerty_keys():
    out = typed("m", ChannelParams(touch_spread=0.35, **QUIET), layout=LAYOUTS["azerty"], n=2000)
    slips = {t.letters for t in out} - {"m"}
    assert "l" in slips and "n" not in slips  # m is next to l on AZERTY, far from n
