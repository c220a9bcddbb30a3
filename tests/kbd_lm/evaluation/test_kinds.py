"""Evaluation per kind of text: rows, macro average, paired-bootstrap intervals."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from kbd_lm.corpora.mixtures import MIXTURES, Mixture
from kbd_lm.evaluation.kinds import (
    CORRECTED,
    KindsEvalConfig,
    format_kinds,
    paired_interval,
    run_kinds_eval,
)
from tests.conftest import make_lines


def _mixture(monkeypatch, tmp_path, name: str, sources: dict, max_words: int):
    """Register a mixture of plain-text sources (name -> lines), half each; return
    (source name -> its path, an eval config on it)."""
    paths = {}
    for source, lines in sources.items():
        folder = tmp_path / source
        folder.mkdir()
        (folder / f"{source}.txt").write_text("\n".join(lines) + "\n")
        paths[source] = str(folder)
    monkeypatch.setitem(MIXTURES, name, Mixture(name, dict.fromkeys(paths.values(), 0.5)))
    cfg = KindsEvalConfig(
        mixture=name,
        ngram_mixture=name,
        max_words=max_words,
        bootstrap=30,
        ngram_budget_bytes=20_000,
        cache_dir=str(tmp_path / "data"),
    )
    return paths, cfg


def test_every_kind_is_a_row_and_differences_have_intervals(tiny_bundle, tmp_path, monkeypatch):
    lines = {"chat": make_lines(600, 11), "notes": make_lines(600, 12)}
    _, cfg = _mixture(monkeypatch, tmp_path, "evalmix", lines, 80)
    report = run_kinds_eval(cfg, {"tiny": tiny_bundle, "tiny again": tiny_bundle}, tmp_path)

    assert list(report["rows"]) == ["chat", "notes"]
    for row in report["rows"].values():
        assert row["words"] >= 80
        assert len(row["systems"]) == 4  # two bundles, two trigrams
    first = report["rows"]["chat"]["systems"]["tiny"]
    assert 0 < first["top3"] <= 1 and 0 < first["ksr"] < 1
    macro = report["macro"]["tiny"]["top3"]
    assert macro == np.mean([r["systems"]["tiny"]["top3"] for r in report["rows"].values()])
    # The same bundle twice: every difference is exactly zero, interval included.
    same = report["differences"]["against"]["tiny again"]
    assert all(v == (0.0, 0.0, 0.0) for per in same.values() for v in per.values())
    # Against the trigram: a real difference with an interval around it.
    other = next(k for k in report["differences"]["against"] if k.startswith("KN"))
    d, lo, hi = report["differences"]["against"][other]["ksr"]["macro"]
    assert lo <= d <= hi and hi > lo
    text = (tmp_path / "eval-kinds.md").read_text()
    assert text == format_kinds(report) and "| **macro** |" in text

    # Run again: every system's rows come from the cache (nothing is scored), same report.
    import kbd_lm.evaluation.kinds as EK

    def refuse(*args, **kwargs):
        raise AssertionError("scored again instead of reading the cache")

    monkeypatch.setattr(EK, "evaluate_system", refuse)
    again = run_kinds_eval(cfg, {"tiny": tiny_bundle, "tiny again": tiny_bundle}, tmp_path)
    assert again["rows"] == report["rows"] and again["macro"] == report["macro"]
    assert len(list((tmp_path / "data" / "eval-cache").glob("*.json"))) == 2 * 3  # 2 rows x 3


def test_the_paired_interval_covers_a_known_difference():
    rng = np.random.default_rng(0)
    hits_a = rng.random((400, 1)) < 0.6
    hits_b = hits_a & (rng.random((400, 1)) < 0.8)  # b misses a fifth of a's hits
    a = np.hstack([hits_a, np.ones((400, 1))])
    b = np.hstack([hits_b, np.ones((400, 1))])
    d, lo, hi = paired_interval(a, b, [np.arange(400)], 300, 0)
    assert d == pytest.approx((hits_a.sum() - hits_b.sum()) / 400)
    assert 0 < lo < d < hi  # paired: the interval is narrow and above zero


def test_a_hinted_bundle_is_scored_with_each_rows_hint_and_without(
    hinted_bundle, tmp_path, monkeypatch
):
    """Each row is scored twice for a bundle trained with hints: with the hint its sources
    train (``NAME, field hint``, first, so the differences show what the hint buys) and
    without; a row whose sources have no hint scores the same both ways."""
    from kbd_lm.corpora import mixtures
    from tests.conftest import make_mails

    lines = {"chat": make_lines(600, 21), "mail": make_mails(600, 22)}
    sources, cfg = _mixture(monkeypatch, tmp_path, "hintevalmix", lines, 60)
    monkeypatch.setitem(mixtures.SOURCE_HINTS, sources["mail"], "email")  # chat: no hint
    report = run_kinds_eval(cfg, {"hinted": hinted_bundle}, tmp_path)
    assert report["rows"]["mail"]["hint"] == "email" and report["rows"]["chat"]["hint"] is None
    assert list(report["macro"])[:2] == ["hinted, field hint", "hinted"]
    assert report["differences"]["of"] == "hinted, field hint"
    mail = report["rows"]["mail"]["systems"]
    # The e-mail hint knows how a mail opens ("Dear" or "Please"): a likelier text.
    assert mail["hinted, field hint"]["perplexity"] < mail["hinted"]["perplexity"]
    chat = report["rows"]["chat"]["systems"]
    same = ("top1", "top3", "ksr", "perplexity", "completion_top3")
    assert [chat["hinted, field hint"][m] for m in same] == [chat["hinted"][m] for m in same]
    d, lo, hi = report["differences"]["against"]["hinted"]["ksr"]["mail"]
    assert lo <= d <= hi


def test_correction_on_is_a_second_system_with_its_paired_difference(
    tiny_bundle, tmp_path, monkeypatch
):
    lines = {"chat": make_lines(400, 13)}
    _, cfg = _mixture(monkeypatch, tmp_path, "corrmix", lines, 40)
    cfg = dataclasses.replace(cfg, correct=True)
    report = run_kinds_eval(cfg, {"tiny": tiny_bundle}, tmp_path)

    systems = report["rows"]["chat"]["systems"]
    assert list(systems)[:2] == ["tiny", "tiny" + CORRECTED]
    # the differences of the first system leave the corrected one out; it has its own
    assert "tiny" + CORRECTED not in report["differences"]["against"]
    c = report["correction"]
    assert (c["on"], c["off"]) == ("tiny" + CORRECTED, "tiny")
    for metric in ("top1", "top3", "ksr"):
        d, lo, hi = c["difference"][metric]["macro"]
        assert lo <= d <= hi
        assert d == pytest.approx(systems[c["on"]][metric] - systems["tiny"][metric])
    assert "Correction on minus off" in (tmp_path / "eval-kinds.md").read_text()
