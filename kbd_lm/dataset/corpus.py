"""Corpus preparation: normalise, split and cache the units of a recipe or of a mixture.

``prepare("chitchat")`` reads a recipe once, normalises every unit with
:func:`kbd_lm.text.normalization.normalize`, assigns it to train/valid/test by the rule in
:mod:`kbd_lm.corpora`, and caches one unit per line under ``data/corpus-<hash>/``. The cache
is rebuilt when the source or the normalisation changes.

``prepare_mixture("default")`` prepares each source of a mixture (:mod:`kbd_lm.corpora.mixtures`)
that way, drops units that repeat one of an earlier source, and writes per-source splits plus
their concatenation under ``data/mixture-<name>-<hash>/`` with a report: units and words per
split, what each recipe removed or replaced, the duplicates dropped, and how many word 8-grams
of each test split also occur in the training text. ``prepare("default")`` returns the
concatenation, so every ``CORPUS=`` consumer works on a mixture unchanged;
:func:`sample_epoch` draws one epoch's training units with per-source weights.

>>> prepared = prepare("chitchat")          # doctest: +SKIP
>>> next(prepared.units("test"))            # doctest: +SKIP
'Hello'
>>> mix = prepare_mixture("default")        # doctest: +SKIP
>>> sample_epoch(mix, epoch=0, seed=1)[:2]  # doctest: +SKIP
['Ok lor...', 'Hi, how are you?']
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import time
import zlib
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kbd_lm.common.fsutil import Progress, atomic_dir, read_cache_json
from kbd_lm.corpora import SPLITS, Source, resolve, split_of
from kbd_lm.corpora.mixtures import MIXTURES, Mixture
from kbd_lm.text.normalization import normalize, words

log = logging.getLogger(__name__)

# Bump when normalize() or the preparation rules change, so every cache is rebuilt.
PREP_VERSION = 1
# Bump when de-duplication or the mixture report change.
MIX_VERSION = 1
# A unit longer than this is not something a person typed into a keyboard: junk.
MAX_UNIT_CHARS = 2000
DEFAULT_CACHE = Path("data")
# Shorter units ("ok", "thank you") are common phrases, not copied text: never de-duplicated.
DEDUPE_MIN_WORDS = 4
OVERLAP_N = 8


class CorpusCheckError(RuntimeError):
    """A prepared source does not give the counts its recipe expects."""


@dataclass(frozen=True)
class PreparedCorpus:
    """A corpus normalised and split on disk: ``<root>/{train,valid,test}.txt``."""

    root: Path
    name: str
    stats: dict

    def path(self, split: str) -> Path:
        if split not in SPLITS:
            raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
        return self.root / f"{split}.txt"

    def units(self, split: str) -> Iterator[str]:
        """The normalised units of one split, in corpus order."""
        with self.path(split).open(encoding="utf-8") as fh:
            for line in fh:
                yield line.rstrip("\n")

    def words(self, split: str) -> int:
        """Whitespace-separated words in one split."""
        return self.stats[f"words_{split}"]

    @property
    def fingerprint(self) -> str:
        return self.stats["fingerprint"]


def prepare(corpus: str = "chitchat", cache_dir: Path = DEFAULT_CACHE) -> PreparedCorpus:
    """Normalise and split ``corpus``, reusing the cache if valid.

    ``corpus`` is a recipe name (``chitchat``, ``sms``, ...), a mixture name (``default``,
    ``broad``, or ``mixture:<name>``: the concatenation of its de-duplicated sources) or
    paths to text files. Returns the prepared corpus; its ``stats`` count units and words per
    split, what was skipped (undecodable, empty, over-long) and what the recipe counted.
    """
    name = corpus.removeprefix("mixture:")
    if name in MIXTURES:
        return prepare_mixture(name, cache_dir).combined
    return prepare_source(resolve(corpus, Path(cache_dir) / "downloads"), cache_dir)


def prepare_source(source: Source, cache_dir: Path = DEFAULT_CACHE) -> PreparedCorpus:
    """Prepare one :class:`~kbd_lm.corpora.Source` (see :func:`prepare`)."""
    key = hashlib.sha1(f"{source.fingerprint}|prep{PREP_VERSION}".encode()).hexdigest()[:12]
    root = Path(cache_dir) / f"corpus-{key}"
    stats_path = root / "stats.json"
    cached = read_cache_json(stats_path) if stats_path.is_file() else None
    # A cache written before recipes counted their work (0.1.0) lacks "recipe":
    # it is prepared again rather than failing the unit-count check.
    if cached is not None and "recipe" in cached:
        log.info("corpus %s: cached at %s", source.name, root)
        prepared = PreparedCorpus(root, source.name, cached)
        _check_expected(source, prepared.stats)
        return prepared
    if cached is not None:
        log.info(
            "corpus %s: cache at %s predates recipe counts: preparing again", source.name, root
        )
        shutil.rmtree(root)

    log.info("corpus %s: preparing into %s", source.name, root)
    start = time.monotonic()
    counts: Counter[str] = Counter()
    n_words: Counter[str] = Counter()
    tally: Counter[str] = Counter()
    progress = Progress(f"{source.name} units", every=5.0, logger=log)
    with atomic_dir(root) as tmp:
        files = {s: (tmp / f"{s}.txt").open("w", encoding="utf-8") for s in SPLITS}
        try:
            for unit in source.iter_units(tally):
                progress.update()
                if isinstance(unit.text, bytes):
                    counts["skipped_undecodable"] += 1
                    continue
                text = normalize(unit.text)
                if not text:
                    counts["skipped_empty"] += 1
                    continue
                if len(text) > MAX_UNIT_CHARS:
                    counts["skipped_too_long"] += 1
                    continue
                split = split_of(unit.key)
                files[split].write(text + "\n")
                counts[f"units_{split}"] += 1
                n_words[split] += len(text.split())
        finally:
            for fh in files.values():
                fh.close()
        stats = {
            "name": source.name,
            "fingerprint": key,
            "source_fingerprint": source.fingerprint,
            "split_rule": "sha1(key) % 10: 0 -> test, 1 -> valid, else train",
            **{k: counts[k] for k in sorted(counts)},
            **{f"units_{s}": counts[f"units_{s}"] for s in SPLITS},
            **{f"words_{s}": n_words[s] for s in SPLITS},
            "recipe": dict(sorted(tally.items())),
            "licence": source.licence.as_dict() if source.licence else None,
            "seconds": round(time.monotonic() - start, 1),
        }
        _check_expected(source, stats)
        (tmp / "stats.json").write_text(json.dumps(stats, indent=2))
    skipped = {k: v for k, v in stats.items() if k.startswith("skipped")}
    log.info(
        "corpus %s: %s train / %s valid / %s test units, skipped %s",
        source.name,
        counts["units_train"],
        counts["units_valid"],
        counts["units_test"],
        skipped or "nothing",
    )
    return PreparedCorpus(root, source.name, stats)


def _check_expected(source: Source, stats: dict) -> None:
    """Raise unless the recipe's counts (and ``units``, all splits) are the expected ones."""
    got = {**stats.get("recipe", {}), "units": sum(stats.get(f"units_{s}", 0) for s in SPLITS)}
    wrong = {k: (v, got.get(k, 0)) for k, v in source.expected.items() if got.get(k, 0) != v}
    if wrong:
        detail = ", ".join(f"{k}: expected {v:,}, got {g:,}" for k, (v, g) in wrong.items())
        raise CorpusCheckError(f"corpus {source.name}: unexpected counts ({detail})")


# ----------------------------------------------------------------------------- mixtures


@dataclass(frozen=True)
class PreparedMixture:
    """The de-duplicated sources of a mixture, each split on disk, and their concatenation.

    ``sources`` maps each recipe name to its :class:`PreparedCorpus` (units left after
    de-duplication); ``combined`` is all of them in one corpus; ``report`` holds the counts
    of ``make corpora`` (units, words, recipe tallies, duplicates, 8-gram overlap).
    """

    mixture: Mixture
    root: Path
    sources: dict[str, PreparedCorpus]
    combined: PreparedCorpus
    report: dict

    @property
    def name(self) -> str:
        return self.mixture.name

    def licences(self) -> dict[str, dict]:
        """The licence of each source's text, for a bundle's manifest."""
        return {name: pc.stats.get("licence") for name, pc in self.sources.items()}

    def unit_words(self, source: str) -> np.ndarray:
        """Words of each train unit of ``source``, in file order (int32, one per line)."""
        return np.load(self.sources[source].root / "train-words.npy")


def prepare_mixture(mixture: str | Mixture, cache_dir: Path = DEFAULT_CACHE) -> PreparedMixture:
    """Prepare every source of ``mixture``, de-duplicate across sources, write and report.

    A unit of at least :data:`DEDUPE_MIN_WORDS` words that repeats (exactly, after
    normalisation) a unit of an earlier source in the mixture is dropped from the later one,
    before its split is used. Cached under ``<cache_dir>/mixture-<name>-<hash>/``.
    """
    mix = MIXTURES[mixture] if isinstance(mixture, str) else mixture
    if mix.caveat:
        log.warning("%s", mix.caveat)
    start = time.monotonic()
    downloads = Path(cache_dir) / "downloads"
    prepared = {name: prepare_source(resolve(name, downloads), cache_dir) for name in mix.sources}
    parts = [mix.name, *(p.fingerprint for p in prepared.values())]
    parts += [f"dedupe{DEDUPE_MIN_WORDS}", f"ngram{OVERLAP_N}", f"mix{MIX_VERSION}"]
    key = hashlib.sha1("|".join(parts).encode()).hexdigest()[:12]
    root = Path(cache_dir) / f"mixture-{mix.name}-{key}"
    if (root / "report.json").is_file():
        try:
            return _load_mixture(mix, root)
        except (ValueError, KeyError, OSError) as err:  # damaged: prepared again below
            log.warning("mixture %s: cache %s unreadable (%s): prepared again", mix.name, root, err)
    with atomic_dir(root) as tmp:
        _write_mixture(mix, prepared, tmp, key, start)
    return _load_mixture(mix, root)


def _load_mixture(mix: Mixture, root: Path) -> PreparedMixture:
    report = json.loads((root / "report.json").read_text())
    if not isinstance(report, dict):
        raise ValueError(f"{root / 'report.json'}: not a JSON object")
    sources = {}
    for name in mix.sources:
        folder = root / _folder(name)
        sources[name] = PreparedCorpus(
            folder, name, json.loads((folder / "stats.json").read_text())
        )
    combined_stats = json.loads((root / "all" / "stats.json").read_text())
    combined = PreparedCorpus(root / "all", combined_stats["name"], combined_stats)
    return PreparedMixture(mix, root, sources, combined, report)


def _folder(source: str) -> str:
    """A folder name for a source: its recipe name, or a sanitised path of text files."""
    return re.sub(r"[^\w.-]+", "_", source).strip("_.") or "source"


def _write_mixture(mix: Mixture, prepared: dict, tmp: Path, key: str, start: float) -> None:
    seen: set[bytes] = set()
    (tmp / "all").mkdir()
    combined = {s: (tmp / "all" / f"{s}.txt").open("w", encoding="utf-8") for s in SPLITS}
    report_sources = {}
    try:
        for name, pc in prepared.items():
            mine: set[bytes] = set()
            folder = tmp / _folder(name)
            folder.mkdir()
            stats = {**pc.stats, "name": name, "fingerprint": f"{key}-{name}"}
            for split in SPLITS:
                kept, n_words, dupes, train_words = 0, 0, 0, array("i")
                with (folder / f"{split}.txt").open("w", encoding="utf-8") as out:
                    for text in pc.units(split):
                        count = len(text.split())
                        if count >= DEDUPE_MIN_WORDS:
                            digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
                            if digest in seen:
                                dupes += 1
                                continue
                            mine.add(digest)
                        out.write(text + "\n")
                        combined[split].write(text + "\n")
                        kept, n_words = kept + 1, n_words + count
                        if split == "train":
                            train_words.append(count)
                if split == "train":
                    np.save(folder / "train-words.npy", np.frombuffer(train_words, np.int32))
                stats.update({f"units_{split}": kept, f"words_{split}": n_words})
                stats[f"duplicates_removed_{split}"] = dupes
            seen |= mine
            (folder / "stats.json").write_text(json.dumps(stats, indent=2))
            report_sources[name] = stats
    finally:
        for fh in combined.values():
            fh.close()
    overlap = ngram_overlap(
        {n: PreparedCorpus(tmp / _folder(n), n, report_sources[n]) for n in prepared}, OVERLAP_N
    )
    for name, row in overlap.items():
        report_sources[name]["test_ngram_overlap"] = row
    totals = {
        f"{what}_{s}": sum(st[f"{what}_{s}"] for st in report_sources.values())
        for what in ("units", "words")
        for s in SPLITS
    }
    licences = {n: st.get("licence") for n, st in report_sources.items()}
    combined_stats = {
        "name": f"mixture:{mix.name}",
        "fingerprint": key,
        "split_rule": "per source: sha1(key) % 10: 0 -> test, 1 -> valid, else train",
        **totals,
        "sources": list(prepared),
        "licences": licences,
        "caveat": mix.caveat,
    }
    (tmp / "all" / "stats.json").write_text(json.dumps(combined_stats, indent=2))
    report = {
        "mixture": mix.name,
        "weights": dict(mix.weights),
        "caveat": mix.caveat,
        "dedupe_min_words": DEDUPE_MIN_WORDS,
        "ngram": OVERLAP_N,
        **totals,
        "seconds": round(time.monotonic() - start, 1),
        "sources": report_sources,
    }
    (tmp / "report.json").write_text(json.dumps(report, indent=2))


def ngram_hashes(units: Iterable[str], vocab: dict[str, int], n: int = OVERLAP_N) -> np.ndarray:
    """64-bit hashes of the word n-grams inside each unit (words as
    ``kbd_lm.text.normalization.words``).

    ``vocab`` maps words to ids and grows; share it between the texts you compare.

    >>> v = {}
    >>> a = ngram_hashes(["a b c d", "x a b c"], v, n=3)
    >>> len(a), int(np.isin(ngram_hashes(["a b c"], v, n=3), a).sum())
    (4, 1)
    """
    ids = array("Q")
    for unit in units:
        ws = words(unit)
        if len(ws) >= n:
            ids.extend(vocab.setdefault(w, len(vocab) + 1) for w in ws)
            ids.append(0)  # a unit boundary: no n-gram crosses it
    seq = np.frombuffer(ids, dtype=np.uint64)
    m = len(seq) - n + 1
    if m <= 0:
        return np.zeros(0, np.uint64)
    h = np.zeros(m, np.uint64)
    prime = np.uint64(1_000_003)
    for k in range(n):  # polynomial hash, wrapping modulo 2**64
        h = h * prime + seq[k : k + m]
    zeros = np.concatenate([[0], np.cumsum(seq == 0)])
    return h[(zeros[n:] - zeros[:-n]) == 0]


def ngram_overlap(sources: Mapping[str, PreparedCorpus], n: int = OVERLAP_N) -> dict[str, dict]:
    """For each source: its test split's word n-grams, and how many occur in any train split."""
    vocab: dict[str, int] = {}
    train = np.unique(
        np.concatenate([ngram_hashes(pc.units("train"), vocab, n) for pc in sources.values()])
    )
    report = {}
    for name, pc in sources.items():
        test = ngram_hashes(pc.units("test"), vocab, n)
        shared = int(np.isin(test, train, assume_unique=False).sum())
        report[name] = {
            "test_ngrams": int(len(test)),
            "shared_with_train": shared,
            "shared_fraction": round(shared / len(test), 4) if len(test) else 0.0,
        }
    return report


def epoch_units(
    prepared: PreparedMixture,
    epoch: int,
    seed: int = 0,
    weights: Mapping[str, float] | None = None,
    total_words: int | None = None,
) -> list[tuple[str, int]]:
    """One epoch's training units as ``(source, line index in its train split)``, in order.

    Source ``s`` gives ``weights[s] / sum(weights)`` of ``total_words`` (default: all train
    words of the mixture), in whole units: a random permutation of its units, repeated with
    a fresh permutation when its share is larger than the source. The result is shuffled.
    Deterministic in (seed, epoch, weights); a source's draw does not depend on the others.
    """
    weights = dict(prepared.mixture.weights if weights is None else weights)
    unknown = set(weights) - set(prepared.sources)
    if unknown or any(w < 0 for w in weights.values()) or sum(weights.values()) <= 0:
        raise ValueError(f"bad weights {weights} for sources {list(prepared.sources)}")
    if total_words is None:
        total_words = sum(prepared.sources[s].words("train") for s in weights)
    picks: list[tuple[str, int]] = []
    for name in prepared.sources:
        if weights.get(name, 0) <= 0:
            continue
        lengths = prepared.unit_words(name)
        want = total_words * weights[name] / sum(weights.values())
        rng = np.random.default_rng([seed, epoch, zlib.crc32(name.encode())])
        order = np.zeros(0, np.int64)
        while lengths.sum() and lengths[order].sum() < want:
            order = np.concatenate([order, rng.permutation(len(lengths))])
        cut = int(np.searchsorted(np.cumsum(lengths[order]), want)) + 1
        picks.extend((name, int(i)) for i in order[:cut])
    shuffle = np.random.default_rng([seed, epoch]).permutation(len(picks))
    return [picks[i] for i in shuffle]


def sample_epoch(
    prepared: PreparedMixture,
    epoch: int,
    seed: int = 0,
    weights: Mapping[str, float] | None = None,
    total_words: int | None = None,
) -> list[str]:
    """The texts of :func:`epoch_units` (same arguments), in training order."""
    plan = epoch_units(prepared, epoch, seed, weights, total_words)
    texts = {name: list(pc.units("train")) for name, pc in prepared.sources.items()}
    return [texts[name][i] for name, i in plan]
