"""Mixing a :class:`~kbd_lm.history.user_history.UserHistory` with the model's words.

For a candidate word ``w`` after a context, with the history's relative frequencies ``P1``
(words), ``P2`` (after the last word), ``P3`` (after the last two words) and the history's
evidence ``T1``, ``T2``, ``T3`` (decayed counts of those contexts)::

    lambda_i = mu_i * T_i / (T_i + beta)                  (0 when the context was never seen)
    P(w)     = (1 - sum lambda_i) * P_model(w) + sum lambda_i * P_i(w)

so the history's say grows with what it has seen of this context, up to ``mu_i``. Candidates
are the model's words and the history's own: its most likely words after each context and,
inside a word, the most frequent kept words that start with the typed letters (a word the
model's beam never spells, e.g. a name of many pieces, is a candidate from the first letter).
A history word the model did not propose counts 0 under the model (its probability is below
the model's last word found). Probabilities are joint (word given context), so ranking the
words that fit the typed letters needs no renormalisation.

The weights are chosen on validation users by :func:`kbd_lm.evaluation.history_tune.tune`
(never on test users); :data:`DEFAULT_WEIGHTS` records the choice.

>>> from kbd_lm.history.user_history import UserHistory
>>> h = UserHistory(); _ = h.learn("meet Bartholomew at the gate")
>>> [w for w, _ in mix_history([("the", 0.3), ("a", 0.2)], h, "meet ", "")][:3]
['the', 'a', 'Bartholomew']
>>> mix_history([], h, "meet ", "bart")[0][0]
'Bartholomew'
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from kbd_lm.history.user_history import UserHistory, context_key

ORDERS = 3  # P1..P3 (the history may keep fewer orders: the missing ones are 0)


@dataclass(frozen=True)
class MixWeights:
    """The history's maximal share per order (``mu``) and the evidence scale ``beta``."""

    unigram: float = 0.05
    bigram: float = 0.1
    trigram: float = 0.5
    beta: float = 32.0
    # A history word the model's search did not reach gets this share of the least likely
    # word it did reach as its model probability (the search stopped below that word).
    floor: float = 0.0
    candidates: int = 8  # history words taken per order (and per prefix)

    def __post_init__(self) -> None:
        mus = (self.unigram, self.bigram, self.trigram)
        bad = self.beta <= 0 or self.candidates < 1 or not 0 <= self.floor <= 1
        if min(mus) < 0 or sum(mus) > 1 or bad:
            raise ValueError(f"invalid history weights {self}")

    @property
    def mu(self) -> np.ndarray:
        return np.array([self.unigram, self.bigram, self.trigram])


# Chosen by `kbd-lm eval --tune-history` (kbd_lm.evaluation.history_tune.tune) on chitchat
# validation users (a seeded sample of 3,863 words; the default bundle of 0.3.0; each
# sender's messages all learned in time order): best keystroke savings of 684 settings,
# 0.5337 against 0.5228 without a history (docs/history.md, docs/experiments.md).
DEFAULT_WEIGHTS = MixWeights(unigram=0.05, bigram=0.2, trigram=0.5, beta=32.0, floor=0.0)


@dataclass
class Features:
    """Per candidate word (lowercase ``keys``) the model's and the history's probabilities.

    ``probs`` [n, 1 + ORDERS]: P_model, P1, P2, P3; ``evidence`` [ORDERS]: T1, T2, T3;
    ``in_model`` [n]: the model proposed the word; ``model_min``: its least likely word's P.
    """

    keys: list[str]
    display: list[str]
    probs: np.ndarray
    evidence: np.ndarray
    in_model: np.ndarray
    model_min: float


def _default_case(word: str) -> str:
    """ "i" and "i'm" are capitalised even when only seen lowercase."""
    return "I" + word[1:] if word == "i" or word.startswith("i'") else word


def features(
    model_words: list[tuple[str, float]],
    history: UserHistory,
    context: str,
    partial: str,
    candidates: int = 8,
) -> Features:
    """Candidates and their probabilities for the word after ``context``, starting with
    ``partial`` (the letters typed of it, "" for a next word)."""
    prefix = partial.lower()
    key = context_key(context, ORDERS)
    contexts = [(), key[-1:], key[-2:] if len(key) >= 2 else None]
    model = {}
    for display, p in model_words:
        model.setdefault(display.lower(), (display, p))
    found: dict[str, None] = dict.fromkeys(model)
    if prefix:
        found.update(dict.fromkeys(history.starting_with(prefix, candidates)))
    else:
        found.update(dict.fromkeys(history.frequent(candidates)))
    for ctx in contexts[1:]:
        if ctx is not None:
            found.update(dict.fromkeys(history.best_following(ctx, candidates, prefix)))
    if prefix:
        found.pop(
            prefix, None
        )  # the typed word is no completion (kbd_lm.text.normalization.completes)
    keys = list(found)
    none = (None, 0.0)
    display = [model.get(w, none)[0] or _default_case(history.display(w)) for w in keys]
    columns = [[model.get(w, none)[1] for w in keys]]
    zeros = [0.0] * len(keys)
    for ctx in contexts:
        counts, total = history.following(ctx) if ctx is not None else ({}, 0.0)
        columns.append([counts.get(w, 0.0) / total for w in keys] if total > 0 else zeros)
    probs = np.array(columns).T.reshape(len(keys), 1 + ORDERS)  # [n, 4]
    evidence = np.array([history.evidence(c) if c is not None else 0.0 for c in contexts])
    in_model = np.array([w in model for w in keys], bool)
    model_min = min((p for _, p in model.values()), default=0.0)
    return Features(keys, display, probs, evidence, in_model, model_min)


def scores(f: Features, mu, beta, floor=0.0) -> np.ndarray:
    """Mixed probabilities ``[n]`` of the candidates of ``f`` (see the module docstring).

    ``mu`` may be ``[G, 3]``, ``beta`` and ``floor`` ``[G]`` (a grid of weights): then
    ``[G, n]``.
    """
    mu = np.asarray(mu, float)
    beta = np.asarray(beta, float)
    floor = np.asarray(floor, float)
    lam = mu * (f.evidence / (f.evidence + beta[..., None]))  # [.., 3]
    model_share = 1.0 - lam.sum(-1, keepdims=True)  # [.., 1]
    p_model = np.where(f.in_model, f.probs[:, 0], floor[..., None] * f.model_min)  # [.., n]
    return model_share * p_model + lam @ f.probs[:, 1:].T


def mix_history(
    model_words: list[tuple[str, float]],
    history: UserHistory,
    context: str,
    partial: str,
    weights: MixWeights = DEFAULT_WEIGHTS,
) -> list[tuple[str, float]]:
    """The model's ``(word, probability)`` list mixed with ``history``, best first."""
    if len(history) == 0:
        return list(model_words)
    f = features(model_words, history, context, partial, weights.candidates)
    mixed = scores(f, weights.mu, weights.beta, weights.floor)
    order = np.argsort(-mixed, kind="stable")
    return [(f.display[i], float(mixed[i])) for i in order if mixed[i] > 0]
