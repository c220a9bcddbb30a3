"""Write the n-gram ctest's data (native/tests/ngram.cc) into a folder: Kneser-Ney trigrams
trained by kbd_lm.ngram.model on synthetic text, stored in 8, 16 and 32 bits
(``model_8.kn3``, ...), and ``golden.jsonl``: what the Python model answers for them
(``suggest``, ``next_word_logprob``, ``knows``), which the native reader must answer too.

The vocabulary (about 12,000 words) is larger than kbd_lm.ngram.model's _DENSE_RANGE, so that
next words take the precomputed order of unigrams, as a real model's do; completions take
the dense path.

    .venv/bin/python native/tools/gen_ngram_golden.py native/build/ngram_golden
"""

import json
import random
import sys
from pathlib import Path

from kbd_lm.ngram.model import KneserNeyTrigram

LETTERS = "abcdefghijklmnopqrstuvwxyzéß"
PHRASES = ["see you soon", "see you later", "thank you so much", "I don't know", "I'm in Paris"]
TEXTS = [
    "",
    "see ",
    "see you ",
    "see you s",
    "See You L",
    "I",
    "I'",
    "i don'",
    "thank you so ",
    "Thank you so much. ",
    "qq zz ",  # unknown words: <unk> contexts
    "a",
    "ab",
    "zzzzzz",
    "ß",
    "   ",
    "ok, ",
    "x" * 400 + " see you l",
]
K = [1, 3, 8, 20]


def units(seed: int = 5) -> list[str]:
    """Synthetic lines: Zipf-like draws from 12,000 random words, and a few phrases."""
    rng = random.Random(seed)
    vocab = sorted({"".join(rng.choices(LETTERS, k=rng.randint(1, 9))) for _ in range(12000)})
    weights = [1.0 / (i + 1) for i in range(len(vocab))]
    lines = [" ".join(rng.choices(vocab, weights, k=rng.randint(1, 8))) for _ in range(40000)]
    return lines + PHRASES * 50 + vocab  # every word at least once


def answers(lm: KneserNeyTrigram) -> dict:
    words = ["you", "You", "soon", "</s>", "qq", "don't", "ß", "SS", lm.vocab[0], lm.vocab[-1]]
    return {
        "suggest": [
            [t, k, [[s.word, s.probability] for s in lm.suggest(t, k)]] for t in TEXTS for k in K
        ],
        "logprob": [[t, w, lm.next_word_logprob(t, w)] for t in TEXTS for w in words],
        "knows": [[w, lm.knows(w)] for w in words],
    }


def main() -> None:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    lines = units()
    with open(out / "golden.jsonl", "w", encoding="utf-8") as f:
        for bits in (8, 16, 32):
            lm = KneserNeyTrigram.train(lines, bits=bits)
            assert len(lm.vocab) > 8192  # kbd_lm.ngram.model._DENSE_RANGE
            lm.save(out / f"model_{bits}.kn3")
            row = {"model": f"model_{bits}.kn3", **answers(lm)}
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
