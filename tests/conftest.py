"""Session-scoped fixtures: a tiny corpus, a model trained on it in seconds, its bundle.

Everything is written under pytest's tmp paths; nothing touches data/, runs/ or dist/.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

SUBJECTS = ["I", "we", "you", "they", "my friend", "my mom", "the team"]
VERBS = ["like", "love", "want", "need", "hate", "see", "watch"]
OBJECTS = ["pizza", "movies", "coffee", "music", "the game", "that show", "Paris", "dogs"]
PHRASES = [
    "see you tomorrow",
    "see you later",
    "see you soon",
    "how are you doing today?",
    "I'm doing good, thanks!",
    "what are you up to?",
    "good morning",
    "good night",
    "thank you so much",
    "I don't know",
    "that sounds great",
    "let me know",
    "are you coming tonight?",
    "I'll be there soon",
    "I'm in Paris",
    "hello there",
]


def make_lines(n: int, seed: int = 0) -> list[str]:
    """Chat-like lines from templates: enough structure for a tiny model to learn.

    A name or a second clause varies each line, because the split rule keys plain text on the
    line itself: repeated lines would all fall into one split.
    """
    rng = random.Random(seed)
    names = [
        "Anna",
        "Ben",
        "Chloe",
        "Dan",
        "Emma",
        "Finn",
        "Grace",
        "Hugo",
        "Ivy",
        "Jack",
        "Kate",
        "Leo",
        "Mia",
        "Noah",
        "Olivia",
        "Paul",
    ]
    lines = []
    for _ in range(n):
        if rng.random() < 0.5:
            first = rng.choice(PHRASES)
        else:
            s, v, o = rng.choice(SUBJECTS), rng.choice(VERBS), rng.choice(OBJECTS)
            first = f"{s} {v} {o}{rng.choice(['', ' too', ' a lot'])}"
        second = rng.choice(PHRASES) if rng.random() < 0.5 else rng.choice(names)
        lines.append(f"{first} {second}" if first[-1].isalnum() else f"{first} {second}")
    return lines


@pytest.fixture(scope="session")
def tiny_corpus_dir(tmp_path_factory) -> Path:
    """A folder with one text file: templated chat lines plus junk the pipeline must survive."""
    root = tmp_path_factory.mktemp("corpus")
    lines = [line.encode() for line in make_lines(3000)]
    junk = [b"", b"   ", b"\xff\xfe broken bytes \xc3", b"emoji \xf0\x9f\x98\x80 ok", b"\x07bell"]
    (root / "chat.txt").write_bytes(b"\n".join(lines[:1500] + junk + lines[1500:]) + b"\n")
    return root


@pytest.fixture(scope="session")
def tiny_checkpoint(tiny_corpus_dir, tmp_path_factory) -> Path:
    """A tiny model trained on the tiny corpus (a few seconds)."""
    from kbd_lm.common.config import load_config
    from kbd_lm.training.loop import TrainConfig, train

    out = tmp_path_factory.mktemp("run")
    cfg = load_config(
        TrainConfig,
        "train",
        "tiny",
        [
            f'corpus="{tiny_corpus_dir}"',
            f'out_dir="{out}"',
            f'cache_dir="{tmp_path_factory.mktemp("cache")}"',
        ],
    )
    return train(cfg)


@pytest.fixture(scope="session")
def registry_cache(tmp_path_factory) -> Path:
    """Where exports fetch the blocklist package (once per session, never the repo's data/)."""
    return tmp_path_factory.mktemp("registry")


@pytest.fixture(scope="session")
def tiny_bundle(tiny_checkpoint, tmp_path_factory, registry_cache) -> Path:
    """The tiny model exported with the default (dynamic) preset, all presets measured.

    Verified in LiteRT only: with 64 cells, dynamic-range quantization makes tflite-runtime
    2.14 suggest other words than LiteRT, beyond the conformance cap, and export refuses that
    (tests/export/test_convert.py); the float32 bundles verify both runtimes.
    """
    from kbd_lm.common.config import load_config
    from kbd_lm.export.convert import ExportConfig, export

    out = tmp_path_factory.mktemp("dist") / "bundle"
    cfg = load_config(
        ExportConfig,
        "export",
        "default",
        [
            f'out_dir="{out}"',
            "max_model_bytes=0",
            "latency_calls=200",
            "agreement_contexts=64",
            "verify_tflite_runtime=false",
            f'blocklist_cache="{registry_cache}"',
        ],
    )
    return export(tiny_checkpoint, cfg)


@pytest.fixture(scope="session")
def ngram_bundle(tiny_checkpoint, tmp_path_factory, registry_cache) -> Path:
    """The tiny model exported with a Kneser-Ney trigram of at most 30,000 bytes mixed in
    (``neural_weight`` 0.6; docs/decoding.md section 8), its conformance vectors written by
    the Python predictor with the n-gram: what the native decoder's n-gram mix is checked on.
    """
    from kbd_lm.common.config import load_config
    from kbd_lm.export.convert import ExportConfig, export

    out = tmp_path_factory.mktemp("ngram-dist") / "bundle"
    cfg = load_config(
        ExportConfig,
        "export",
        "default",
        [
            f'out_dir="{out}"',
            "compare_presets=false",
            "max_model_bytes=0",
            "latency_calls=50",
            "agreement_contexts=32",
            "verify_tflite_runtime=false",
            "ngram_bytes=30000",
            "neural_weight=0.6",
            f'blocklist_cache="{registry_cache}"',
        ],
    )
    return export(tiny_checkpoint, cfg)


def make_mails(n: int, seed: int = 1) -> list[str]:
    """E-mail-like lines: they open with "Dear" or "Please", which chat lines never do."""
    rng = random.Random(seed)
    names = ["Anna", "Ben", "Chloe", "Dan", "Emma", "Finn", "Grace", "Hugo"]
    docs = ["report", "invoice", "minutes", "draft", "schedule", "contract"]
    lines = []
    for i in range(n):
        name, doc = rng.choice(names), rng.choice(docs)
        if rng.random() < 0.7:
            lines.append(f"Dear {name}, please find the {doc} attached. Regards {i}")
        else:
            lines.append(f"Please review the {doc} before Friday. Thanks {name} {i}")
    return lines


@pytest.fixture(scope="session")
def hinted_bundle(tmp_path_factory, registry_cache) -> Path:
    """A tiny model trained with field hints on a two-source mixture (chat lines with the
    ``message`` hint, e-mail lines with ``email``), exported in float32: a few seconds."""
    from kbd_lm.common.config import load_config
    from kbd_lm.corpora import mixtures
    from kbd_lm.export.convert import ExportConfig, export
    from kbd_lm.training.loop import TrainConfig, train

    root = tmp_path_factory.mktemp("hint-corpus")
    chat, mail = root / "chat", root / "mail"
    for folder, lines in ((chat, make_lines(1500, seed=3)), (mail, make_mails(1500))):
        folder.mkdir()
        (folder / "lines.txt").write_text("\n".join(lines) + "\n")
    with pytest.MonkeyPatch.context() as mp:
        mix = mixtures.Mixture("hintmix", {str(chat): 0.5, str(mail): 0.5})
        mp.setitem(mixtures.MIXTURES, "hintmix", mix)
        mp.setitem(mixtures.SOURCE_HINTS, str(chat), "message")
        mp.setitem(mixtures.SOURCE_HINTS, str(mail), "email")
        run = tmp_path_factory.mktemp("hint-run")
        cfg = load_config(
            TrainConfig,
            "train",
            "tiny",
            [
                'corpus="hintmix"',
                "mixture_weights=[]",
                "hint_share=0.5",
                f'out_dir="{run}"',
                f'cache_dir="{tmp_path_factory.mktemp("hint-cache")}"',
            ],
        )
        checkpoint = train(cfg)
        out = tmp_path_factory.mktemp("hint-dist") / "bundle"
        export_cfg = load_config(
            ExportConfig,
            "export",
            "default",
            [
                f'out_dir="{out}"',
                'quantization="float32"',  # the browser runs its vectors too (see float32_bundle)
                "compare_presets=false",
                "max_model_bytes=0",
                "latency_calls=50",
                "agreement_contexts=32",
                f'blocklist_cache="{registry_cache}"',
            ],
        )
        return export(checkpoint, export_cfg)


@pytest.fixture(scope="session")
def browser_ready():
    """Skip unless Chromium, Playwright and LiteRT.js are there; with ``CI=true``, fail."""
    from kbd_lm.export.browser import BrowserError, check_ready

    try:
        check_ready()
    except BrowserError as err:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"CI needs the browser tests: {err}")
        pytest.skip(str(err))
