"""Choosing the history mixing weights on validation users (never on test users).

The replay is the adaptive evaluation's (:mod:`kbd_lm.evaluation.adaptive`) on the validation
split: each sender's messages in time order, scored before being learned. For every scored word and
every number of typed letters j (all of 0..L-1), the model's words (exactly what
:meth:`~kbd_lm.inference.predictor.Predictor.model_words` gives ``suggest``) and the history's
features are computed once; then every weight setting of :data:`GRID` is scored from them at once
(:func:`kbd_lm.history.mix.scores` over the grid), so the whole grid costs one replay. The
setting with the best keystroke savings wins (top-3 breaks ties).

>>> best = tune(predictor, AdaptiveConfig(split="valid", max_words=4000))   # doctest: +SKIP
>>> best["best"]                                                            # doctest: +SKIP
{'unigram': 0.05, 'bigram': 0.1, 'trigram': 0.5, 'beta': 32.0, 'floor': 0.0, ...}
"""

from __future__ import annotations

import dataclasses
import itertools
import logging

import numpy as np

from kbd_lm.common.fsutil import Progress
from kbd_lm.corpora.senders import sent_messages
from kbd_lm.evaluation.adaptive import AdaptiveConfig, last_scored, sample_flags, user_streams
from kbd_lm.evaluation.keystrokes import typed_words
from kbd_lm.history.mix import DEFAULT_WEIGHTS, MixWeights, features, scores
from kbd_lm.history.user_history import UserHistory
from kbd_lm.text.normalization import WORD_RE

log = logging.getLogger(__name__)

# The first grid's best setting sat on its edges (trigram 0.5, beta 32): both go further now.
GRID = {
    "unigram": (0.0, 0.05, 0.1),
    "bigram": (0.0, 0.1, 0.2, 0.35),
    "trigram": (0.0, 0.15, 0.3, 0.5, 0.7),
    "beta": (2.0, 8.0, 32.0, 128.0),
    "floor": (0.0, 0.5, 1.0),
}
K = 3  # suggestions shown, as in the evaluation


def grid(space: dict = GRID) -> list[MixWeights]:
    """Every valid setting of ``space`` (the shares may not sum over 1)."""
    out = []
    for u, b, t, beta, floor in itertools.product(*(space[k] for k in GRID)):
        if u + b + t <= 1:
            out.append(MixWeights(u, b, t, beta, floor))
    return out


def _rank(model_words, history, context, partial, target, mu, beta, floor, cand) -> np.ndarray:
    """[G]: how many candidates score above ``target`` per weight setting (a large number if
    it is no candidate or scores 0)."""
    f = features(model_words, history, context, partial, cand)
    if target not in f.keys:
        return np.full(len(mu), 1 << 30)
    mixed = scores(f, mu, beta, floor)  # [G, n]
    t = f.keys.index(target)
    higher = (mixed > mixed[:, t : t + 1]).sum(1)  # ties at non-zero scores: rare, ignored
    return np.where(mixed[:, t] > 0, higher, 1 << 30)


def tune(predictor, config: AdaptiveConfig, space: dict = GRID, streams=None) -> dict:
    """Replay the validation users once and score every setting; returns the ranking.

    ``streams``: the users to replay (default: :func:`user_streams` of ``config.corpus``).

    ``{"best": weights, "static": {...}, "settings": [{weights, ksr, top1, top3}...]}``, best
    first. Raises ValueError if ``config.split`` is the test split.
    """
    if config.split == "test":
        raise ValueError("history weights are chosen on validation data, never on test data")
    settings = grid(space)
    mu = np.array([[w.unigram, w.bigram, w.trigram] for w in settings])
    beta = np.array([w.beta for w in settings])
    floor = np.array([w.floor for w in settings])
    cand = DEFAULT_WEIGHTS.candidates
    if streams is None:
        streams = user_streams(sent_messages(config.corpus), config.split, config.learn)
    flags = sample_flags(streams, config)
    hint = config.field_hint  # as the adaptive evaluation sends it
    total = sum(
        len(WORD_RE.findall(m))
        for s, f in zip(streams, flags, strict=True)
        for m, x in zip(s.messages, f, strict=True)
        if x & 1
    )
    progress = Progress("tuning words", total=total, logger=log)
    g = len(settings)
    top1, top3, cost = np.zeros(g), np.zeros(g), np.zeros(g)
    full = words = 0
    for stream, stream_flags in zip(streams, flags, strict=True):
        history = UserHistory()
        end = last_scored(stream_flags, 1)  # later messages change no figure
        for message, flag in zip(stream.messages[:end], stream_flags[:end], strict=True):
            if flag & 1:
                for typed in typed_words(message):
                    target, length = typed.word.lower(), len(typed.word)
                    keys = np.full(g, length + 1.0)
                    for j in range(length):
                        # Exactly what suggest(text, 3, history, hint) mixes the history into.
                        ctx, part, model = predictor.model_words(typed.keys[j].text, K, hint)
                        rank = _rank(model, history, ctx, part, target, mu, beta, floor, cand)
                        hit = rank < 3
                        if j == 0:
                            top1 += rank == 0
                            top3 += hit
                        keys = np.where(hit & (keys > length), j + 1.0, keys)
                        if j > 0 and (keys <= length).all():
                            break  # every setting has its hit: more letters change nothing
                    cost += keys
                    full += length + 1
                    words += 1
                    progress.update()
            history.learn(message)
    log.info(progress.line())
    ksr = 1 - cost / max(full, 1)
    order = np.lexsort((-top3, -ksr))
    ranked = [
        {
            **dataclasses.asdict(settings[i]),
            "ksr": float(ksr[i]),
            "top1": float(top1[i] / max(words, 1)),
            "top3": float(top3[i] / max(words, 1)),
        }
        for i in order
    ]
    # No history at all: no share and no floor (a floor alone lets history words in).
    static = next(
        r for r in ranked if r["unigram"] == r["bigram"] == r["trigram"] == r["floor"] == 0
    )
    return {"words": words, "best": ranked[0], "static": static, "settings": ranked}
