"""``tokenizer.json``: the tokenizer and the text rules as data, for decoders outside Python.

A port of the predictor (the browser's ``serve/static/kbd/``, an Android or iOS app) needs
three things besides ``model.tflite``: the sentencepiece pieces with their scores and types
(to run the unigram Viterbi, see ``docs/decoding.md``), the normaliser's settings, and the
character classes of :mod:`kbd_lm.text.normalization` *as this Python sees them*: Python's
``unicodedata`` is pinned to one Unicode version (14.0.0 in Python 3.11), and a platform with
a newer Unicode would otherwise keep characters that Python drops as unassigned. So the classes
ship as code point ranges computed here, never re-derived from the platform's tables.

>>> tables = text_tables()
>>> tables["unicode_version"] == unicodedata.unidata_version
True
>>> in_ranges(ord("a"), tables["alnum"]), in_ranges(0x7, tables["drop"])
(True, True)
"""

from __future__ import annotations

import bisect
import json
import sys
import unicodedata
from pathlib import Path

from kbd_lm.common.fsutil import atomic_write_text
from kbd_lm.inference.bundle import TOKENIZER_JSON_FILE
from kbd_lm.text.normalization import APOSTROPHES, is_dropped
from kbd_lm.text.sentences import SENTENCE_CLOSERS, SENTENCE_END
from kbd_lm.text.tokenizer import BOS_ID, EOS_ID, PAD_ID, UNK_ID, Tokenizer

TOKENIZER_JSON = TOKENIZER_JSON_FILE  # (the bundle's file table names it)
FORMAT = "kbd-lm-tokenizer"
VERSION = 1
# sentencepiece's piece types (sentencepiece_model.proto).
NORMAL, UNKNOWN, CONTROL, USER_DEFINED, UNUSED, BYTE = 1, 2, 3, 4, 5, 6
UNK_PENALTY = 10.0  # sentencepiece's kUnkPenalty: an unknown character scores min - 10


def _ranges(pred) -> list[list[int]]:
    """Inclusive [first, last] code point ranges where ``pred(code point)`` holds."""
    out: list[list[int]] = []
    for cp in range(sys.maxunicode + 1):
        if pred(cp):
            if out and out[-1][1] == cp - 1:
                out[-1][1] = cp
            else:
                out.append([cp, cp])
    return out


def text_tables() -> dict:
    """The character classes of :mod:`kbd_lm.text.normalization` under this Python's Unicode
    version.

    - ``drop``: what :func:`kbd_lm.text.normalization.normalize` removes (control, format
      except emoji joiners, unassigned, private use, surrogates): about 700 ranges;
    - ``alnum``: word characters (``str.isalnum``: letters and digits): about 730 ranges;
    - ``space``: ``str.isspace`` (what ``\\s``, ``strip`` and ``isspace`` match);
    - ``apostrophes``: the typographic apostrophes folded to "'";
    - ``sentence_end``, ``sentence_closers``: the marks that end a sentence and the closing
      quotes and brackets that may follow one (:mod:`kbd_lm.text.sentences`).
    """
    return {
        "unicode_version": unicodedata.unidata_version,
        "drop": _ranges(lambda cp: is_dropped(chr(cp))),
        "alnum": _ranges(lambda cp: chr(cp).isalnum()),
        "space": [cp for cp in range(sys.maxunicode + 1) if chr(cp).isspace()],
        "apostrophes": {k: "'" for k in sorted(APOSTROPHES)},
        "sentence_end": SENTENCE_END,
        "sentence_closers": SENTENCE_CLOSERS,
    }


def in_ranges(cp: int, ranges: list[list[int]]) -> bool:
    """Whether ``cp`` falls in one of the sorted inclusive ``ranges`` (binary search)."""
    i = bisect.bisect_right(ranges, [cp, sys.maxunicode + 1]) - 1
    return i >= 0 and ranges[i][0] <= cp <= ranges[i][1]


def normalizer_spec(tok: Tokenizer) -> dict:
    """The sentencepiece normaliser settings stored in the model, and the unknown score."""
    from sentencepiece import sentencepiece_model_pb2 as pb  # needs protobuf (export only)

    proto = pb.ModelProto()
    proto.ParseFromString(tok.proto)
    spec, trainer = proto.normalizer_spec, proto.trainer_spec
    if spec.precompiled_charsmap:
        raise ValueError("tokenizer has a character map; kbd-lm tokenizers use 'identity'")
    if any(p.type == USER_DEFINED for p in proto.pieces):
        raise ValueError("user-defined pieces are not part of the portable decoding spec")
    min_score = min(p.score for p in proto.pieces if p.type == NORMAL)
    return {
        "name": spec.name,
        "add_dummy_prefix": spec.add_dummy_prefix,
        "escape_whitespaces": spec.escape_whitespaces,
        "remove_extra_whitespaces": spec.remove_extra_whitespaces,
        "treat_whitespace_as_suffix": trainer.treat_whitespace_as_suffix,
        "byte_fallback": trainer.byte_fallback,
        "unk_score": min_score - UNK_PENALTY,  # float32 arithmetic in sentencepiece
    }


def tokenizer_json(tok: Tokenizer) -> dict:
    """Everything a port needs to tokenize and normalise exactly as the Python side does."""
    sp = tok.sp
    pieces = []
    for i in range(tok.vocab_size):
        if sp.is_byte(i):
            kind = BYTE
        elif sp.is_unknown(i):
            kind = UNKNOWN
        elif sp.is_control(i):
            kind = CONTROL
        elif sp.is_unused(i):
            kind = UNUSED
        else:
            kind = NORMAL
        pieces.append([sp.id_to_piece(i), sp.get_score(i), kind])
    return {
        "format": FORMAT,
        "version": VERSION,
        "type": "sentencepiece-unigram",
        "special_ids": {"pad": PAD_ID, "unk": UNK_ID, "bos": BOS_ID, "eos": EOS_ID},
        "hints": tok.hint_ids,  # field hint -> control id, read after BOS ({}: none)
        "normalizer": normalizer_spec(tok),
        "piece_types": {"normal": NORMAL, "unknown": UNKNOWN, "control": CONTROL},
        "pieces": pieces,  # [piece, score (float32), type], indexed by id
        "text": text_tables(),
    }


def write_tokenizer_json(tok: Tokenizer, path: Path) -> Path:
    """Write :func:`tokenizer_json` compactly (about 300 kB for 8,000 pieces, 90 kB gzipped)."""
    data = json.dumps(tokenizer_json(tok), ensure_ascii=False, separators=(",", ":"))
    atomic_write_text(Path(path), data + "\n")
    return Path(path)
