"""The command lines, run as a user would (separate processes)."""

import subprocess
import sys


def run(*args, timeout=120):
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout)


def test_suggest_prints_words_without_importing_tensorflow(tiny_bundle):
    out = run(
        "-c",
        "import sys; from kbd_lm.cli import main; rc = main(sys.argv[1:]);"
        "assert 'tensorflow' not in sys.modules; sys.exit(rc)",
        "suggest",
        "--bundle",
        str(tiny_bundle),
        "see you ",
        "thank you so ",
    )
    assert out.returncode == 0, out.stderr[-2000:]
    first, second = out.stdout.strip().splitlines()
    assert first.startswith("'see you ' -> ") and any(
        w in first for w in ("tomorrow", "later", "soon")
    )
    assert "much" in second


def test_errors_are_one_clear_line_and_exit_2(tmp_path):
    out = run("-m", "kbd_lm.cli", "suggest", "--bundle", str(tmp_path / "none"), "hi")
    assert out.returncode == 2 and "bundle folder not found" in out.stderr
    assert "Traceback" not in out.stderr
    out = run("-m", "kbd_lm.cli", "train", "--preset", "tiny", "units=big")
    assert out.returncode == 2 and "units: expected int" in out.stderr
    out = run(
        "-m",
        "kbd_lm.export",
        "--checkpoint",
        str(tmp_path / "nothing"),
        "--out",
        str(tmp_path / "b"),
    )
    assert out.returncode == 2 and "train first" in out.stderr
    assert not (tmp_path / "b").exists()
