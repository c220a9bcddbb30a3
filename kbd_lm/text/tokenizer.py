"""The one tokenizer shared by training, export and prediction: a sentencepiece unigram model.

Special ids are fixed: pad=0, unk=1, bos=2, eos=3. ``byte_fallback`` is on, so no input is
ever unknown: characters never seen in training become byte pieces. Sentencepiece does not
normalise again (``identity`` rule): text is normalised once, by :mod:`kbd_lm.text.normalization`.

>>> tok = Tokenizer.load("dist/bundle/tokenizer.model")   # doctest: +SKIP
>>> tok.encode_unit("see you")                             # doctest: +SKIP
[2, 517, 38, 3]
"""

from __future__ import annotations

import logging
import os
import tempfile
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import sentencepiece as spm

from kbd_lm.common.fsutil import atomic_write_bytes
from kbd_lm.text.hints import HINTS, hint_piece

log = logging.getLogger(__name__)

PAD_ID, UNK_ID, BOS_ID, EOS_ID = 0, 1, 2, 3
WORD_START = "\u2581"  # sentencepiece's visible space, "▁": a piece that begins a word


class Tokenizer:
    """A thin wrapper over ``SentencePieceProcessor`` with the project's conventions."""

    def __init__(self, model_proto: bytes) -> None:
        self.proto = model_proto
        self.sp = spm.SentencePieceProcessor(model_proto=model_proto)
        if (self.sp.pad_id(), self.sp.unk_id(), self.sp.bos_id(), self.sp.eos_id()) != (
            PAD_ID,
            UNK_ID,
            BOS_ID,
            EOS_ID,
        ):
            raise ValueError(
                "tokenizer model has unexpected special ids (want pad=0 unk=1 bos=2 eos=3)"
            )

    @classmethod
    def load(cls, path: str | os.PathLike) -> Tokenizer:
        return cls(Path(path).read_bytes())

    @property
    def vocab_size(self) -> int:
        return self.sp.get_piece_size()

    def encode(self, text: str) -> list[int]:
        """Piece ids of already-normalised text, without BOS/EOS."""
        return self.sp.encode(text)

    def encode_unit(self, text: str) -> list[int]:
        """BOS + pieces + EOS: one unit as the model is trained on it."""
        return [BOS_ID, *self.sp.encode(text), EOS_ID]

    def decode(self, ids: Iterable[int]) -> str:
        return self.sp.decode([int(i) for i in ids])

    def pieces(self) -> list[str]:
        """Every piece's surface string, indexed by id (specials and byte pieces included)."""
        return [self.sp.id_to_piece(i) for i in range(self.vocab_size)]

    def is_byte(self, i: int) -> bool:
        return self.sp.is_byte(i)

    def is_control_or_unknown(self, i: int) -> bool:
        return self.sp.is_control(i) or self.sp.is_unknown(i)

    @property
    def hint_ids(self) -> dict[str, int]:
        """The field hints this tokenizer holds, name -> control id (empty without hints).

        >>> Tokenizer.load("dist/bundle/tokenizer.model").hint_ids  # doctest: +SKIP
        {'message': 4, 'email': 5, 'prose': 6}
        """
        found = {h: self.sp.piece_to_id(hint_piece(h)) for h in HINTS}
        return {h: i for h, i in found.items() if i != UNK_ID and self.sp.is_control(i)}


def train_tokenizer(
    train_text: Path,
    out_path: Path,
    vocab_size: int,
    max_sentences: int = 2_000_000,
    hints: tuple[str, ...] = (),
) -> Tokenizer:
    """Train a unigram sentencepiece model on a one-unit-per-line file; write it atomically.

    ``hints``: field hints (of :data:`~kbd_lm.text.hints.HINTS`) to hold as control pieces, ids
    4, 5, ... in that order (never produced from text).
    Returns the loaded :class:`Tokenizer`. About 2 s for 8k pieces on 4 MB of text.
    """
    with tempfile.TemporaryDirectory() as tmp:
        prefix = Path(tmp) / "sp"
        spm.SentencePieceTrainer.train(
            input=str(train_text),
            model_prefix=str(prefix),
            model_type="unigram",
            vocab_size=vocab_size,
            character_coverage=0.9995,
            byte_fallback=True,
            normalization_rule_name="identity",  # kbd_lm.text.normalization.normalize already ran
            remove_extra_whitespaces=False,
            split_digits=True,
            pad_id=PAD_ID,
            unk_id=UNK_ID,
            bos_id=BOS_ID,
            eos_id=EOS_ID,
            control_symbols=[hint_piece(h) for h in hints],
            input_sentence_size=max_sentences,
            shuffle_input_sentence=True,
            num_threads=os.cpu_count() or 1,
            hard_vocab_limit=False,  # a small corpus may yield fewer pieces than asked
            minloglevel=2,
        )
        proto = prefix.with_suffix(".model").read_bytes()
    atomic_write_bytes(out_path, proto)
    log.info("tokenizer: %d pieces -> %s (%d bytes)", vocab_size, out_path, len(proto))
    return Tokenizer(proto)


def encode_file(tok: Tokenizer, text_path: Path) -> np.ndarray:
    """Encode every line of a prepared split as BOS + pieces + EOS, concatenated.

    Returns a 1-D uint16 array (int32 if the vocabulary exceeds 65,535 pieces).
    """
    lines = text_path.read_text(encoding="utf-8").splitlines()
    encoded = tok.sp.encode(lines)
    dtype = np.uint16 if tok.vocab_size < 65536 else np.int32
    total = sum(len(e) + 2 for e in encoded)
    out = np.empty(total, dtype=dtype)
    pos = 0
    for ids in encoded:
        out[pos] = BOS_ID
        out[pos + 1 : pos + 1 + len(ids)] = ids
        out[pos + 1 + len(ids)] = EOS_ID
        pos += len(ids) + 2
    return out
