"""The command lines, run as a user would (separate processes)."""

import ast
import importlib.metadata
import re
import subprocess
import sys
from pathlib import Path

import pytest

import kbd_lm


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


def test_suggest_corrects_on_request_and_marks_the_autocorrection(tiny_bundle):
    out = run("-m", "kbd_lm", "suggest", "--bundle", str(tiny_bundle), "see you tomorow")
    plain = out.stdout.strip()
    assert out.returncode == 0 and "tomorrow " not in plain and "*" not in plain
    out = run(
        "-m", "kbd_lm", "suggest", "--bundle", str(tiny_bundle), "--correct", "see you tomorow"
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.startswith("'see you tomorow' -> *tomorrow (")


def test_errors_are_one_clear_line_and_exit_2(tmp_path):
    out = run("-m", "kbd_lm.cli", "suggest", "--bundle", str(tmp_path / "none"), "hi")
    assert out.returncode == 2 and "bundle folder not found" in out.stderr
    assert "Traceback" not in out.stderr
    out = run("-m", "kbd_lm.cli", "train", "--preset", "tiny", "units=big")
    assert out.returncode == 2 and "units: expected int" in out.stderr
    out = run(
        "-m",
        "kbd_lm",
        "export",
        "--checkpoint",
        str(tmp_path / "nothing"),
        "--out",
        str(tmp_path / "b"),
    )
    assert out.returncode == 2 and "train first" in out.stderr
    assert not (tmp_path / "b").exists()


def kbd_lm_command() -> str:
    """The installed ``kbd-lm`` script beside this interpreter."""
    return str(Path(sys.executable).with_name("kbd-lm"))


def test_version_from_the_script_and_python_m():
    expected = f"kbd-lm {importlib.metadata.version('kbd-lm')}"
    script = subprocess.run([kbd_lm_command(), "--version"], capture_output=True, text=True)
    assert script.returncode == 0 and script.stdout.strip() == expected
    out = run("-m", "kbd_lm", "--version")
    assert out.returncode == 0 and out.stdout.strip() == expected
    assert kbd_lm.__version__ == importlib.metadata.version("kbd-lm")


def test_help_lists_every_stage():
    out = run("-m", "kbd_lm", "--help")
    assert out.returncode == 0
    listed = re.findall(r"^    (\w+) ", out.stdout, re.M)
    assert listed == [
        "corpora",
        "train",
        "export",
        "eval",
        "bench",
        "serve",
        "loadtest",
        "suggest",
        "conformance",
    ]


def test_subcommands_reach_their_stages(tmp_path):
    """Each delegated subcommand runs its stage's own parser and error handling; the old
    ``python -m`` entry points are the same commands."""
    out = run("-m", "kbd_lm", "serve", "--port", "0")
    assert out.returncode == 2 and "usage: kbd-lm serve" in out.stderr
    assert "no bundle" in out.stderr
    out = run("-m", "kbd_lm", "bench", "--bundle", str(tmp_path / "none"))
    assert out.returncode == 2 and "bundle folder not found" in out.stderr
    for old_or_new in (["kbd_lm.export"], ["kbd_lm", "export"]):
        out = run("-m", *old_or_new, "--help")
        assert out.returncode == 0 and "usage: kbd-lm export" in out.stdout
    out = run("-m", "kbd_lm.serve", "--port", "0")
    assert out.returncode == 2 and "no bundle" in out.stderr


def test_loadtest_subcommand():
    out = run("-m", "kbd_lm", "loadtest", "--help")
    assert out.returncode == 0 and "--rates" in out.stdout


def test_corpora_subcommand_runs_the_corpus_report():
    out = run("-m", "kbd_lm", "corpora", "--help")
    assert out.returncode == 0 and "usage: kbd-lm corpora" in out.stdout
    assert "--mixture" in out.stdout
    out = run("-m", "kbd_lm", "corpora", "--mixture", "nope")
    assert out.returncode == 2 and "invalid choice: 'nope'" in out.stderr


def test_unknown_options_are_refused_for_in_house_commands():
    out = run("-m", "kbd_lm", "suggest", "--nope", "hi")
    assert out.returncode == 2 and "unrecognized arguments: --nope" in out.stderr


def test_a_missing_extra_is_one_line_naming_it():
    """fastapi made unimportable (as without the [serve] extra): one line, exit 2."""
    out = run(
        "-c",
        "import sys; sys.modules['fastapi'] = None; from kbd_lm.cli import main;"
        "sys.exit(main(['serve', '--bundle', 'b']))",
    )
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "kbd-lm serve: needs the [serve] extra (no module 'fastapi'): pip install 'kbd-lm[serve]'"
    ]


def test_eval_presets_ship_with_the_package():
    from kbd_lm.common.config import ConfigError, load_config
    from kbd_lm.evaluation.metrics import EvalConfig

    assert load_config(EvalConfig, "eval", "default") == EvalConfig()
    with pytest.raises(ConfigError, match="known presets: default"):
        load_config(EvalConfig, "eval", "nope")


def test_library_modules_never_import_export_or_serve():
    """No import statement in kbd_lm/ names export or serve (cli.py imports them by name)."""
    root = Path(kbd_lm.__file__).parent
    for path in sorted(root.glob("*.py")):
        tree = ast.parse(path.read_text(), str(path))
        for node in ast.walk(tree):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                reaches = name.startswith(("kbd_lm.export", "kbd_lm.serve"))
                assert not reaches, f"{path.name} imports {name}"
