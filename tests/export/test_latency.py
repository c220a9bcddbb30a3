"""Browser vs Python latency: the Python side and the table (the browser side: test_browser)."""

from kbd_lm.export.latency import _by_kind, format_table, python_latency


def test_python_latency_and_the_table(tiny_bundle):
    texts = ["", "s", "see ", "see y"]
    ms = python_latency(tiny_bundle, texts, warm=["hi "])
    assert len(ms) == 4 and all(t > 0 for t in ms)
    kinds = ["next_word", "completion", "next_word", "completion"]
    report = {"browser": _by_kind([2.0, 4.0, 2.0, 4.0], kinds), "python": _by_kind(ms, kinds)}
    table = format_table(report)
    assert table.splitlines()[2].startswith("| next word | 2 | 2.00 / 2.00 |")
    assert "| completion | 2 | 4.00 / 4.00 |" in table and "| all | 4 |" in table
