"""The cost per keystroke of typo correction: noisy keystrokes timed with ``correct=True``.

Test units are typed word by word by the touch-typing simulator
(:func:`kbd_lm.evaluation.typing.type_words`, seeded, a spread in key widths); every
keystroke inside a word is a text: the unit up to the word as meant (a keyboard sends the
corrected text as context) plus the first ``j`` typed letters. The exact keystrokes are the
same with the intended letters. :func:`time_calls` times ``Predictor.suggest`` on them in
typing order (each keystroke finds the caches its predecessor left, as on a keyboard).

    python -m kbd_lm.export.bench.typos --bundle dist/bundle --calls 400 --spread 0.35
    python -m kbd_lm.export.bench.typos --engine native      # libkbd_lm.so (make native)

>>> import numpy as np
>>> from kbd_lm.typing.layouts import LAYOUTS
>>> noisy, exact = noisy_keystrokes(["see you"], 20, 0.25, 0, layout=LAYOUTS["qwerty"])
>>> exact
['s', 'se', 'see', 'see y', 'see yo', 'see you']
"""

from __future__ import annotations

import argparse
import random
import time
from pathlib import Path

import numpy as np

from kbd_lm.common.stats import percentiles
from kbd_lm.evaluation.typing import type_words
from kbd_lm.typing.channel import ChannelParams
from kbd_lm.typing.layouts import Layout, get_layout

SPREAD = 0.25  # key widths: the simulator's touch spread the bench types with (ChannelParams')


def noisy_keystrokes(
    units: list[str], calls: int, spread: float, seed: int, *, layout: Layout
) -> tuple[list[str], list[str]]:
    """(noisy texts, exact texts): at most ``calls`` keystrokes inside words each, in typing
    order, from ``units`` typed with touches of ``spread`` (seeded with ``seed``)."""
    rng = np.random.default_rng(seed)
    words = type_words(units, rng, layout=layout, params=ChannelParams(touch_spread=spread))
    noisy: list[str] = []
    exact: list[str] = []
    for w in words:
        if len(noisy) < calls:
            noisy.extend(w["context"] + w["typed"][:j] for j in range(1, len(w["typed"]) + 1))
        if len(exact) < calls:
            exact.extend(w["context"] + w["word"][:j] for j in range(1, len(w["word"]) + 1))
    return noisy[:calls], exact[:calls]


def correction_plan(
    units: list[str], calls: int, seed: int, spread: float = SPREAD
) -> tuple[list[str], list[str]]:
    """What ``make bench`` times with correction: :func:`noisy_keystrokes` of ``units``
    shuffled with ``seed`` (QWERTY), taken until both lists can hold ``calls``.

    >>> noisy, exact = correction_plan(["see you", "ok then", "hi"], 4, seed=0)
    >>> len(noisy), len(exact)
    (4, 4)
    """
    order = list(range(len(units)))
    random.Random(seed).shuffle(order)
    picked: list[str] = []
    letters = 0
    for i in order:  # every letter typed is a keystroke, less what the simulator leaves out
        if letters >= 2 * calls:
            break
        picked.append(units[i])
        letters += len(units[i])
    return noisy_keystrokes(picked, calls, spread, seed, layout=get_layout("qwerty"))


def time_calls(predictor, texts: list[str], *, correct: bool, k: int = 3) -> list[float]:
    """Milliseconds of ``predictor.suggest(text, k, correct=correct)`` per text, in order,
    from cleared caches."""
    predictor.clear_cache()
    out = []
    for text in texts:
        t0 = time.perf_counter()
        predictor.suggest(text, k, correct=correct)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def main(argv: list[str] | None = None) -> int:
    from kbd_lm.dataset.corpus import prepare_mixture
    from kbd_lm.evaluation.kinds import kinds_of
    from kbd_lm.evaluation.metrics import sample_words
    from kbd_lm.inference.predictor import Predictor

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--bundle", default="dist/bundle")
    ap.add_argument("--kind", default="chat", help="kind of text (evaluation.kinds)")
    ap.add_argument("--calls", type=int, default=400)
    ap.add_argument("--spread", type=float, default=SPREAD)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache-dir", default="data")
    ap.add_argument(
        "--engine",
        choices=("python", "native"),
        default="python",
        help="the Python predictor or the native decoder (Predictor.load's engine)",
    )
    args = ap.parse_args(argv)
    mixture = prepare_mixture("broad", Path(args.cache_dir))
    sources = kinds_of(mixture.sources)[args.kind]
    units = [u for s in sources for u in mixture.sources[s].units("test")]
    units = sample_words(units, 4 * args.calls, args.seed)
    noisy, exact = noisy_keystrokes(
        units, args.calls, args.spread, args.seed, layout=get_layout("qwerty")
    )
    predictor = Predictor.load(args.bundle, engine=args.engine)
    print(f"engine {args.engine}, {args.kind}, spread {args.spread}")
    time_calls(predictor, exact[:50], correct=True)  # warm-up: the trie, the interpreter
    for name, texts, correct in (
        ("noisy, correct", noisy, True),
        ("exact, correct", exact, True),
        ("noisy, no correct", noisy, False),
        ("exact, no correct", exact, False),
    ):
        cut = percentiles(time_calls(predictor, texts, correct=correct))
        p50, p99 = cut["p50"], cut["p99"]
        print(f"{name:18} {len(texts)} calls: p50 {p50:.2f} ms, p99 {p99:.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
