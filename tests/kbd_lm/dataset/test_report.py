import dataclasses

from kbd_lm.corpora import RECIPES
from kbd_lm.dataset.corpus import prepare_mixture
from kbd_lm.dataset.report import main, summary


def test_summary_has_a_row_per_source_and_the_licences(fixture_mixture, tmp_path):
    text = summary(prepare_mixture("fixmix", tmp_path))
    rows = [line for line in text.splitlines() if line.startswith("| sms |")]
    assert len(rows) == 1
    cells = [c.strip() for c in rows[0].strip("|").split("|")]
    assert cells[3] == "8"  # 3 phones + 3 addresses + 2 URLs replaced
    assert "| sentences |" in text and "duplicates dropped" in text
    assert "sentences: " in text and "tv_transcript_sentences=1" in text
    assert "[research use only]" in text and text.rstrip().endswith("research only")


def test_main_prepares_prints_and_fails_clearly(fixture_mixture, tmp_path, capsys, monkeypatch):
    assert main(["--mixture", "fixmix", "--cache-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "## mixture fixmix" in out and "corpora ready in" in out
    sms = RECIPES["sms"](None)
    wrong = dataclasses.replace(sms, expected={"messages": 1})
    monkeypatch.setitem(RECIPES, "sms", lambda _: wrong)
    assert main(["--mixture", "fixmix", "--cache-dir", str(tmp_path)]) == 1
    assert "error: corpus sms: unexpected counts (messages: expected 1, got 47)" in (
        capsys.readouterr().err
    )


def test_docstring_examples():
    import doctest

    import kbd_lm.dataset.corpus
    import kbd_lm.dataset.report

    for module in (kbd_lm.dataset.corpus, kbd_lm.dataset.report):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0
