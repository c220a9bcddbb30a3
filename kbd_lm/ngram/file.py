"""The n-gram's model file: a compact binary ARPA, packed and parsed here.

:func:`pack` turns an estimated model (:class:`Arrays`: an interpolated log-probability per
kept n-gram, a log backoff weight per context) into the file's bytes; :func:`parse` splits
the bytes back into tables, checking that they hold together. :mod:`kbd_lm.ngram.model` builds the
arrays and queries the tables.

>>> codes, book = quantize(np.log([0.5, 0.25, 0.125]), 8)
>>> np.exp(book[codes]).round(3).tolist()
[0.5, 0.25, 0.125]
"""

from __future__ import annotations

import json
import math
import struct
import zlib
from dataclasses import dataclass

import numpy as np

MAGIC = b"KBDKN3\x00\x01"
FORMAT_VERSION = 1
N_SPECIAL = 3  # <s>, </s>, <unk>; regular words have ids N_SPECIAL.. in sorted (code point) order


@dataclass
class Arrays:
    """An estimated model before packing: ln-probabilities and ln-backoffs of kept n-grams."""

    vocab: list[str]
    lp1: np.ndarray  # [V] ln P(w)
    lbo1: np.ndarray  # [V] ln backoff of the unigram context w (0 if it has no followers)
    key2: np.ndarray  # sorted v * V + w
    lp2: np.ndarray
    lbo2: np.ndarray  # ln backoff of the bigram context (0 if it has no followers)
    w3: np.ndarray  # trigram words, grouped by context bigram in key2 order, sorted inside
    ctx3: np.ndarray  # index in key2 of each trigram's context
    lp3: np.ndarray
    discounts: tuple = ()


def quantize(x: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray | None]:
    """Store log values in ``bits`` bits: 32 and 16 are IEEE floats, 8 a 256-entry codebook.

    The 8-bit codebook starts from 128 equal-count bins (fine where values are dense), 64
    steps uniform in log space (bounded error in the tails) and 64 steps uniform in
    probability (bounded absolute error for likely words, so distributions still sum to about
    one), refined by a few Lloyd iterations. Returns ``(codes, codebook or None)``.
    """
    x = np.asarray(x, dtype=np.float32)
    if bits == 32:
        return x.astype("<f4"), None
    if bits == 16:
        return x.astype("<f2"), None
    if bits != 8:
        raise ValueError(f"bits must be 8, 16 or 32, got {bits}")
    if len(x) == 0:
        return np.zeros(0, np.uint8), np.zeros(256, "<f4")
    book = np.unique(x)
    if len(book) > 256:
        ordered = book if len(book) == len(x) else np.sort(x)
        low, high = float(ordered[0]), float(ordered[-1])
        equal_count = [part.mean() for part in np.array_split(ordered, 128)]
        log_grid = np.linspace(low, high, 64)
        prob_grid = np.log(np.linspace(math.exp(low), math.exp(high), 65)[1:])
        book = np.unique(np.concatenate([equal_count, log_grid, prob_grid]).astype(np.float32))
        for _ in range(4):
            codes = np.searchsorted((book[1:] + book[:-1]) / 2, x)
            sums = np.bincount(codes, weights=x, minlength=len(book))
            counts = np.bincount(codes, minlength=len(book))
            book = np.where(counts > 0, sums / np.maximum(counts, 1), book).astype(np.float32)
            book = np.unique(book)
    codes = np.searchsorted((book[1:] + book[:-1]) / 2, x).astype(np.uint8)
    padded = np.full(256, book[-1], dtype="<f4")
    padded[: len(book)] = book
    return codes, padded


def id_dtype(size: int) -> str:
    return "<u2" if size <= 1 << 16 else "<u4"


def pack(a: Arrays, bits: int) -> bytes:
    """The binary model file.

    Layout: ``MAGIC``, a little-endian uint32 header length, a JSON header, then the sections
    it lists, in order, without padding:

    - ``vocab``: zlib-compressed UTF-8 of the sorted regular words joined by ``\\n``;
    - per unigram (``V`` entries, id order): ln-prob, ln-backoff, number of bigram followers;
    - per bigram (grouped by first word, sorted by second): second word id, ln-prob, ln-backoff,
      number of trigram followers;
    - per trigram (grouped by context bigram, sorted by word): word id, ln-prob;
    - with 8 bits, five 256-entry float32 codebooks (p1, bo1, p2, bo2, p3) at the end.

    Word ids and follower counts are uint16 when the vocabulary has at most 65,536 ids.
    """
    size = len(a.vocab) + N_SPECIAL
    idt = id_dtype(size)
    n1f = np.bincount(a.key2 // size, minlength=size)
    n2f = np.bincount(a.ctx3, minlength=len(a.key2))
    vocab_blob = zlib.compress("\n".join(a.vocab).encode("utf-8"), 9)
    q = {
        "p1": quantize(a.lp1, bits),
        "bo1": quantize(np.where(n1f > 0, a.lbo1, 0.0), bits),
        "p2": quantize(a.lp2, bits),
        "bo2": quantize(np.where(n2f > 0, a.lbo2, 0.0), bits),
        "p3": quantize(a.lp3, bits),
    }
    sections = [
        ("p1", q["p1"][0]),
        ("bo1", q["bo1"][0]),
        ("n1", n1f.astype(idt)),
        ("w2", (a.key2 % size).astype(idt)),
        ("p2", q["p2"][0]),
        ("bo2", q["bo2"][0]),
        ("n2", n2f.astype(idt)),
        ("w3", a.w3.astype(idt)),
        ("p3", q["p3"][0]),
    ]
    if bits == 8:
        sections += [(f"book_{k}", q[k][1]) for k in ("p1", "bo1", "p2", "bo2", "p3")]
    header = {
        "format": "kbd-lm-kn3",
        "version": FORMAT_VERSION,
        "vocab_size": size,
        "bigrams": len(a.key2),
        "trigrams": len(a.w3),
        "bits": bits,
        "vocab_zlib_bytes": len(vocab_blob),
        "sections": [[name, arr.dtype.str, len(arr)] for name, arr in sections],
        "discounts": [[round(d, 6) for d in order] for order in a.discounts],
    }
    head = json.dumps(header, separators=(",", ":")).encode()
    parts = [MAGIC, struct.pack("<I", len(head)), head, vocab_blob]
    parts += [np.ascontiguousarray(arr).tobytes() for _, arr in sections]
    return b"".join(parts)


def parse(blob: bytes) -> tuple[dict, str, dict[str, np.ndarray]]:
    """Split a model file (see :func:`pack`) into header, vocabulary text and arrays."""
    if blob[: len(MAGIC)] != MAGIC:
        raise ValueError("not a kbd-lm Kneser-Ney model file (bad magic)")
    try:
        (head_len,) = struct.unpack_from("<I", blob, len(MAGIC))
        start = len(MAGIC) + 4
        header = json.loads(blob[start : start + head_len])
        if header.get("version") != FORMAT_VERSION:
            raise ValueError(f"unsupported model file version {header.get('version')}")
        offset = start + head_len
        n_vocab = header["vocab_zlib_bytes"]
        text = zlib.decompress(blob[offset : offset + n_vocab]).decode("utf-8")
        offset += n_vocab
        sec: dict[str, np.ndarray] = {}
        for name, dtype, count in header["sections"]:
            sec[name] = np.frombuffer(blob, dtype=np.dtype(dtype), count=count, offset=offset)
            offset += sec[name].nbytes
        missing = {"p1", "bo1", "n1", "w2", "p2", "bo2", "n2", "w3", "p3"} - set(sec)
    except (KeyError, TypeError, struct.error, zlib.error, UnicodeDecodeError) as err:
        raise ValueError(f"corrupt model file: {err!r}") from err
    if missing or offset != len(blob):
        raise ValueError(f"corrupt model file: missing {sorted(missing)} or wrong length")
    return header, text, sec
