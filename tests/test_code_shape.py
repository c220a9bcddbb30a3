"""The shape rules of the package folders (kbd_lm/, export/, serve/, corpora/): no function over
80 lines (a nested function counts inside its parent too), no file over 600 lines, and at most
10 modules at kbd_lm/'s top level (the rest live in its rooms)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("kbd_lm", "export", "serve", "corpora")
MAX_FUNCTION_LINES = 80
MAX_FILE_LINES = 600
MAX_TOP_LEVEL_MODULES = 10


def python_files() -> list[Path]:
    skip = {"__pycache__", "vendor"}
    return sorted(
        path
        for folder in FOLDERS
        for path in (ROOT / folder).rglob("*.py")
        if not skip & set(path.relative_to(ROOT).parts)
    )


def test_the_folders_hold_python_files():
    assert len(python_files()) > 100  # the rules below look at something


def test_no_file_is_over_600_lines():
    long = {}
    for path in python_files():
        lines = path.read_text().count("\n")
        if lines > MAX_FILE_LINES:
            long[str(path.relative_to(ROOT))] = lines
    assert not long, f"files over {MAX_FILE_LINES} lines: {long}"


def test_no_function_is_over_80_lines():
    long = []
    for path in python_files():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                # Decorators are not counted: from `def` to the last line of the body.
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_FUNCTION_LINES:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} {lines}")
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"


def test_the_library_lives_in_rooms():
    top = sorted(p.name for p in (ROOT / "kbd_lm").glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top


# The repository's top level as the design fixes it (README.md "Layout"), besides the files
# every project has (README, CHANGELOG, LICENSE, biome.json for the JS check; dot files).
TOP_LEVEL = {"kbd_lm", "export", "serve", "corpora", "tests", "docs", "native"}
TOP_LEVEL_FILES = {
    "Makefile",
    "pyproject.toml",
    "README.md",
    "CHANGELOG.md",
    "LICENSE",
    "biome.json",
}


def test_the_top_level_holds_the_designed_folders_only():
    import subprocess

    r = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    tracked = {line.split("/")[0] for line in r.stdout.splitlines()}
    folders = {name for name in tracked if (ROOT / name).is_dir() and not name.startswith(".")}
    files = {name for name in tracked if (ROOT / name).is_file() and not name.startswith(".")}
    assert folders == TOP_LEVEL, folders ^ TOP_LEVEL
    assert files == TOP_LEVEL_FILES, files ^ TOP_LEVEL_FILES
