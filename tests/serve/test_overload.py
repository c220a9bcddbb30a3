"""Overload is shed quickly: past saturation, answers are 200 or 503 within the queue wait."""

from __future__ import annotations

import random
import statistics
from collections import Counter

import pytest

from kbd_lm.export.bench.loadgen import LoadGenerator
from kbd_lm.export.bench.loadtest import SENTENCES, ServerProcess

pytestmark = pytest.mark.slow

QUEUE_WAIT_MS = 100
WORDS = " ".join(SENTENCES).split()


@pytest.fixture(scope="module")
def slow_bundle(tiny_corpus_dir, tmp_path_factory):
    """A much wider model than the tiny one (CIFG 1,536 cells; two training steps): several
    ms per suggestion, so that one predictor saturates long before the HTTP layer does."""
    from kbd_lm.config import load_config
    from kbd_lm.export.convert import ExportConfig, export
    from kbd_lm.train import TrainConfig, train

    root = tmp_path_factory.mktemp("slow")
    overrides = [f'corpus="{tiny_corpus_dir}"', f'out_dir="{root / "run"}"']
    overrides += [f'cache_dir="{root / "cache"}"', "units=1536", "embed_dim=192"]
    run = train(
        load_config(TrainConfig, "train", "tiny", [*overrides, "epochs=1", "steps_per_epoch=2"])
    )
    cfg = load_config(
        ExportConfig,
        "export",
        "default",
        [f'out_dir="{root / "bundle"}"', "max_model_bytes=0", "compare_presets=false"]
        + ["latency_calls=20", "agreement_contexts=8"],
    )
    return export(run, cfg)


def test_past_saturation_every_answer_is_a_200_or_a_quick_503(slow_bundle):
    rng = random.Random(0)  # new contexts: the predictor's state cache cannot help
    texts = [" ".join(rng.choice(WORDS) for _ in range(12)) + " " for _ in range(4000)]
    options = ["--pool-size", "1", "--queue-wait-ms", str(QUEUE_WAIT_MS)]
    with ServerProcess(slow_bundle, extra=options) as server, LoadGenerator(clients=2) as gen:
        # What one predictor answers per second, measured here (the machine may be busy).
        probe = gen.stage(server.url, rate=10, n=30, texts=texts)
        service_ms = statistics.median(s.server_ms for s in probe if s.status == 200)
        rate = min(400.0, 1.6 * 1000 / service_ms)  # well past saturation, open loop
        samples = gen.stage(server.url, rate, n=int(rate * 3), texts=texts, offset=30, timeout=5)
    statuses = Counter(s.status for s in samples)
    assert set(statuses) <= {200, 503}, statuses
    assert statuses[503] >= 0.1 * len(samples), statuses
    slowest = max(s.answer_ms for s in samples)
    assert slowest <= QUEUE_WAIT_MS + 50, (
        f"{rate:.0f} rps ({service_ms:.1f} ms a suggestion): {statuses}, "
        f"slowest answer {slowest:.0f} ms"
    )
