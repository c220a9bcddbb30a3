"""Training data as token ids: the tokenizer, the encoded splits and each epoch's stream.

``encode_corpus(cfg)`` prepares the corpus of ``cfg.corpus`` (:mod:`kbd_lm.dataset.corpus`), trains
(or reuses) the sentencepiece tokenizer, and encodes every unit once as ``BOS pieces EOS``
(cached beside the prepared text). What an epoch trains on depends on the corpus:

- a single source (``chitchat``, a path): every train unit once, in corpus order (the
  trainer shuffles windows, not units);
- a mixture (``default``, ``broad``): units drawn per source by the mixture's weights
  (:func:`kbd_lm.dataset.corpus.epoch_units`), so a small source of messages can be seen several
  times per epoch and a large book collection only in part. The draw is deterministic in
  ``(seed, epoch)``, so a resumed run trains on exactly the windows it would have.

Field hints (``cfg.hint_share`` > 0, mixtures only): a source with a hint
(:data:`kbd_lm.corpora.mixtures.SOURCE_HINTS`) has that share of its units in each epoch read
``BOS <hint> pieces EOS`` (a fresh draw per epoch; the rest stay unhinted, so the model still
predicts without one), and all its validation units carry the hint. The hint is an input,
never a target: the trainer leaves it out of the loss and of perplexity.

Validation covers every source: the first whole units of each source's valid split up to an
equal share of ``valid_max_tokens``, so perplexity is reported per source and as a macro
average (the figure used to choose mixture weights).

>>> ids = np.array([2, 10, 11, 3, 2, 12, 3], np.uint16)
>>> unit_offsets(ids).tolist()
[0, 4, 7]
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from kbd_lm.common.fsutil import atomic_write_bytes, atomic_write_text
from kbd_lm.corpora.mixtures import MIXTURES, SOURCE_HINTS
from kbd_lm.dataset.corpus import (
    PreparedCorpus,
    PreparedMixture,
    epoch_units,
    prepare,
    prepare_mixture,
)
from kbd_lm.text.hints import HINTS
from kbd_lm.text.normalization import words
from kbd_lm.text.tokenizer import BOS_ID, EOS_ID, Tokenizer, encode_file, train_tokenizer

log = logging.getLogger(__name__)

# Text the tokenizer is trained on: one epoch's draw of a mixture, at most this many units
# (sentencepiece samples sentences anyway; more text only costs time).
TOKENIZER_MAX_UNITS = 1_500_000


@dataclass
class ValidSet:
    """The validation ids of one source: whole units, and the words they hold."""

    ids: np.ndarray  # 1-D, BOS pieces EOS BOS ...
    words: int  # words + end-of-unit marks (for per-word perplexity)


@dataclass
class EncodedSplits:
    """The tokenizer and the encoded data of a corpus or mixture.

    ``sources`` maps a source name to its train ids (1-D, units packed) and
    ``offsets[name]`` to the start of each unit in them (plus the end), so unit ``i`` is
    ``ids[offsets[i]:offsets[i + 1]]``. ``valid`` is per source.
    """

    tokenizer: Tokenizer
    sources: dict[str, np.ndarray]
    offsets: dict[str, np.ndarray]
    valid: dict[str, ValidSet]
    mixture: PreparedMixture | None = None
    weights: dict[str, float] = field(default_factory=dict)
    seed: int = 0
    stats: dict = field(default_factory=dict)  # a single corpus's preparation counts
    truncated: bool = False  # max_train_units cut each source (tests)
    hint_share: float = 0.0  # share of a hinted source's units that carry its hint
    _tokens_per_epoch: int = 0

    @property
    def source_hints(self) -> dict[str, int]:
        """Source -> the control id of its field hint, for the sources that train one."""
        if not self.hint_share or self.mixture is None:
            return {}
        ids = self.tokenizer.hint_ids
        return {s: ids[SOURCE_HINTS[s]] for s in self.sources if s in SOURCE_HINTS}

    @property
    def tokens_per_epoch(self) -> int:
        """Tokens in one epoch's stream (the same for every epoch of a mixture, near enough)."""
        if not self._tokens_per_epoch:
            self._tokens_per_epoch = len(self.epoch_ids(0))
        return self._tokens_per_epoch

    def epoch_ids(self, epoch: int) -> np.ndarray:
        """The token stream of one epoch: units packed, ``BOS pieces EOS BOS ...``.

        >>> tok_ids = np.array([2, 5, 3, 2, 6, 7, 3], np.uint16)
        >>> data = EncodedSplits(None, {"a": tok_ids}, {"a": unit_offsets(tok_ids)}, {})
        >>> data.epoch_ids(3).tolist()
        [2, 5, 3, 2, 6, 7, 3]
        """
        if self.mixture is None:
            (ids,) = self.sources.values()
            return ids
        plan = epoch_units(self.mixture, epoch, self.seed, self.weights or None)
        if self.truncated:  # tests: only the first max_train_units units of each source
            plan = [(s, i) for s, i in plan if i < len(self.offsets[s]) - 1]
        parts = [self.sources[s][self.offsets[s][i] : self.offsets[s][i + 1]] for s, i in plan]
        stream = np.concatenate(parts)
        hints = self.source_hints
        if not hints:
            return stream
        starts = np.cumsum([0] + [len(p) for p in parts[:-1]])
        hint = np.array([hints.get(s, -1) for s, _ in plan])
        draw = np.random.default_rng([self.seed, epoch, 1]).random(len(plan)) < self.hint_share
        carry = draw & (hint >= 0)
        return np.insert(stream, starts[carry] + 1, hint[carry].astype(stream.dtype))

    def describe(self, corpus: str) -> dict:
        """What the model was trained on, for the checkpoint summary and the bundle manifest.

        For a mixture: every source with its licence, its weight and its words per split.
        """
        if self.mixture is None:
            return {"name": corpus, "sources": {}, "stats": self.stats}
        weights = self.weights or dict(self.mixture.mixture.weights)
        licences = self.mixture.licences()
        return {
            "name": self.mixture.name,
            "caveat": self.mixture.mixture.caveat,
            "sources": {
                name: {
                    "weight": weights.get(name, 0.0),
                    "licence": licences.get(name),
                    "words": {s: pc.words(s) for s in ("train", "valid", "test")},
                }
                for name, pc in self.mixture.sources.items()
            },
        }

    @property
    def valid_ids(self) -> np.ndarray:
        return np.concatenate([v.ids for v in self.valid.values()])

    @property
    def valid_words(self) -> int:
        return sum(v.words for v in self.valid.values())


def parse_weights(items, sources: list[str]) -> dict[str, float]:
    """``("sms=0.2", ...)`` -> ``{"sms": 0.2, ...}``, checked against the mixture's sources.

    >>> parse_weights(("a=1", "b=0.5"), ["a", "b"])
    {'a': 1.0, 'b': 0.5}
    """
    weights = {}
    for item in items:
        name, _, value = item.partition("=")
        try:
            weights[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"mixture_weights: {item!r} is not source=weight") from None
    unknown = sorted(set(weights) - set(sources))
    if unknown:
        raise ValueError(f"mixture_weights: unknown source(s) {unknown}; sources: {sources}")
    return weights


def unit_offsets(ids: np.ndarray) -> np.ndarray:
    """Start of every unit (a BOS) in a packed id stream, plus its length at the end."""
    return np.append(np.flatnonzero(ids == BOS_ID), len(ids)).astype(np.int64)


def is_mixture(corpus: str) -> bool:
    return corpus.removeprefix("mixture:") in MIXTURES


def encode_corpus(cfg) -> EncodedSplits:
    """Prepare ``cfg.corpus``, train or reuse its tokenizer, encode train and valid (cached).

    ``cfg`` is a :class:`kbd_lm.training.config.TrainConfig` (corpus, cache_dir, vocab_size,
    max_train_units, valid_max_tokens, mixture_weights, seed).
    """
    cache_dir = Path(cfg.cache_dir)
    if is_mixture(cfg.corpus):
        mixture = prepare_mixture(cfg.corpus.removeprefix("mixture:"), cache_dir)
        corpora = dict(mixture.sources)
        root = mixture.root
    else:
        mixture = None
        corpus = prepare(cfg.corpus, cache_dir)
        corpora, root = {corpus.name: corpus}, corpus.root
    # Weights only mean something for a mixture (a preset's weights are ignored for CORPUS=path).
    weights = parse_weights(cfg.mixture_weights, list(corpora)) if mixture else {}
    if not 0.0 <= cfg.hint_share <= 1.0:
        raise ValueError(f"hint_share must be within [0, 1], not {cfg.hint_share}")
    hint_share = cfg.hint_share if mixture else 0.0  # a single corpus has no kinds to tell apart
    hints = _trained_hints(mixture, weights) if hint_share else ()
    hint_share = hint_share if hints else 0.0
    cache = root / f"sp{cfg.vocab_size}-n{cfg.max_train_units}"
    if hints:
        cache = cache.with_name(f"{cache.name}-hints-{'-'.join(hints)}")
    if weights:  # the tokenizer is trained on a weighted draw: other weights, other pieces
        digest = hashlib.sha1(json.dumps(sorted(weights.items())).encode()).hexdigest()[:8]
        cache = cache.with_name(f"{cache.name}-w{digest}")
    tok = _tokenizer(cfg, cache, corpora, mixture, weights, hints)

    sources, offsets, valid = {}, {}, {}
    share = cfg.valid_max_tokens // len(corpora) if cfg.valid_max_tokens else 0
    for name, pc in corpora.items():
        folder = cache if mixture is None else cache / name
        train_path = _train_text(cfg, pc, folder)
        sources[name] = _encoded(tok, train_path, folder / "train.npy")
        offsets[name] = unit_offsets(sources[name])
        hint = tok.hint_ids[SOURCE_HINTS[name]] if hint_share and name in SOURCE_HINTS else None
        valid[name] = _valid_set(tok, pc, folder / "valid.npy", share, hint)
    stats = {} if mixture else next(iter(corpora.values())).stats
    data = EncodedSplits(
        tok,
        sources,
        offsets,
        valid,
        mixture,
        weights,
        cfg.seed,
        stats,
        bool(cfg.max_train_units),
        hint_share,
    )
    log.info(
        "tokens: %s per epoch, valid %s (%.2f tokens per word); sources: %s",
        f"{data.tokens_per_epoch:,}",
        f"{len(data.valid_ids):,}",
        len(data.valid_ids) / max(data.valid_words, 1),
        ", ".join(f"{n} {len(ids):,}" for n, ids in sources.items()),
    )
    return data


def _trained_hints(mixture: PreparedMixture, weights: dict[str, float]) -> tuple[str, ...]:
    """The field hints of the sources an epoch draws from, in :data:`HINTS` order."""
    weights = weights or dict(mixture.mixture.weights)
    found = {SOURCE_HINTS[s] for s, w in weights.items() if w > 0 and s in SOURCE_HINTS}
    if not found:
        log.info("no source of the %r mixture has a field hint: no hints", mixture.mixture.name)
    return tuple(h for h in HINTS if h in found)


def _tokenizer(cfg, cache: Path, corpora, mixture, weights, hints) -> Tokenizer:
    sp_path = cache / "tokenizer.model"
    if sp_path.exists():
        return Tokenizer.load(sp_path)
    if mixture is None:
        (pc,) = corpora.values()
        text = _train_text(cfg, pc, cache)
    else:
        # The pieces should fit the text the model trains on: one epoch's weighted draw.
        text = cache / "tokenizer-train.txt"
        plan = epoch_units(mixture, 0, cfg.seed, weights or None)[:TOKENIZER_MAX_UNITS]
        lines = {
            name: pc.path("train").read_text("utf-8").splitlines() for name, pc in corpora.items()
        }
        atomic_write_text(text, "\n".join(lines[s][i] for s, i in plan) + "\n")
    return train_tokenizer(text, sp_path, cfg.vocab_size, hints=hints)


def _train_text(cfg, pc: PreparedCorpus, folder: Path) -> Path:
    """The train split, or its first ``max_train_units`` units (tests)."""
    if not cfg.max_train_units:
        return pc.path("train")
    subset = folder / "train-subset.txt"
    if not subset.exists():
        lines = pc.path("train").read_text(encoding="utf-8").splitlines()
        atomic_write_text(subset, "\n".join(lines[: cfg.max_train_units]) + "\n")
    return subset


def _encoded(tok: Tokenizer, text: Path, npy: Path) -> np.ndarray:
    if not npy.exists():
        buf = io.BytesIO()
        np.save(buf, encode_file(tok, text))
        atomic_write_bytes(npy, buf.getvalue())
    return np.load(npy)


def _valid_set(
    tok: Tokenizer, pc: PreparedCorpus, npy: Path, max_tokens: int, hint: int | None = None
) -> ValidSet:
    ids = _encoded(tok, pc.path("valid"), npy)
    units = list(pc.units("valid"))
    if hint is not None:  # every unit reads BOS <hint> ...
        ids = np.insert(ids, unit_offsets(ids)[:-1] + 1, np.asarray(hint, ids.dtype))
    if max_tokens and len(ids) > max_tokens:
        # Whole units only, so the per-word perplexity counts exactly the words scored.
        ends = np.flatnonzero(ids[:max_tokens] == EOS_ID)
        ids, units = ids[: ends[-1] + 1], units[: len(ends)]
    return ValidSet(ids, sum(len(words(u)) for u in units) + len(units))


def windows(ids: np.ndarray, seq_len: int, offset: int = 0) -> np.ndarray:
    """Overlapping windows [n, seq_len + 1] with stride seq_len: inputs [:-1], targets [1:].

    Every token after the first is a target exactly once.
    """
    ids = ids[offset:]
    n = (len(ids) - 1) // seq_len
    stride = ids.strides[0]
    view = np.lib.stride_tricks.as_strided(ids, (n, seq_len + 1), (seq_len * stride, stride))
    return view.astype(np.int32)
