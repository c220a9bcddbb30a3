"""The floors between the rooms, as ``lint-imports`` checks them (pyproject.toml's contracts).

Each test runs the real ``lint-imports`` on a copy of the source tree, as ``make test`` runs
it at the repository root, and breaks one floor in the copy.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")
# What the contracts read: the package's folders, the contract type's module (tests/) and the
# configuration.
SOURCES = ("kbd_lm", "export", "serve", "corpora")
CONTRACT_TYPE = Path("tests") / "import_graph.py"
FIRST = "inference, text, history, ngram, common and typing import neither TensorFlow"
SECOND = "only kbd_lm.cli reaches export and serve"


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    # In a fresh process: the graph is built from the folder it runs in.
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache", "--no-logo"],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    """The source tree and pyproject.toml, copied once; tests copy it again to break it."""
    root = tmp_path_factory.mktemp("pristine")
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "vendor")
    for folder in SOURCES:
        shutil.copytree(ROOT / folder, root / folder, ignore=ignore)
    (root / CONTRACT_TYPE).parent.mkdir()
    shutil.copy2(ROOT / CONTRACT_TYPE, root / CONTRACT_TYPE)
    shutil.copy2(ROOT / "pyproject.toml", root / "pyproject.toml")
    return root


@pytest.fixture
def tree(pristine, tmp_path) -> Path:
    shutil.copytree(pristine, tmp_path / "src")
    return tmp_path / "src"


def add_line(path: Path, line: str) -> None:
    path.write_text(path.read_text() + f"\n{line}\n")


def test_the_unmodified_tree_keeps_both_contracts(pristine):
    r = lint_imports(pristine)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "Contracts: 2 kept, 0 broken." in r.stdout


@pytest.mark.parametrize(
    ("module", "line", "contract", "chain"),
    [
        # The package-dir folders, which import-linter's own graph leaves out.
        ("inference/suggestion.py", "import kbd_lm.export", FIRST, "kbd_lm.export"),
        ("text/hints.py", "from kbd_lm.serve import app", FIRST, "kbd_lm.serve.app"),
        ("common/stats.py", "from kbd_lm.corpora import mixtures", FIRST, "kbd_lm.corpora"),
        ("evaluation/metrics.py", "import kbd_lm.export.bench", SECOND, "kbd_lm.export.bench"),
        # Rooms of kbd_lm/ itself and external packages.
        ("history/mix.py", "from kbd_lm.training import model", FIRST, "kbd_lm.training.model"),
        ("ngram/model.py", "import tensorflow as tf", FIRST, "tensorflow"),
        ("typing/channel.py", "import tensorflow as tf", FIRST, "tensorflow"),
    ],
)
def test_a_broken_floor_fails(tree, module, line, contract, chain):
    add_line(tree / "kbd_lm" / module, line)
    r = lint_imports(tree)
    assert r.returncode == 1, r.stdout[-3000:]
    broken = r.stdout[r.stdout.index("Broken contracts") :]
    assert contract in broken and chain in broken


def test_an_indirect_import_fails_too(tree):
    """inference -> a new module of common -> kbd_lm.dataset: a floor broken two steps away."""
    (tree / "kbd_lm" / "common" / "bridge.py").write_text("import kbd_lm.dataset.corpus\n")
    add_line(tree / "kbd_lm" / "inference" / "suggestion.py", "import kbd_lm.common.bridge")
    r = lint_imports(tree)
    assert r.returncode == 1 and "kbd_lm.common.bridge -> kbd_lm.dataset.corpus" in r.stdout


def test_cli_may_reach_export_and_serve(tree):
    add_line(tree / "kbd_lm" / "cli.py", "import kbd_lm.export.convert  # noqa: E402")
    r = lint_imports(tree)
    assert r.returncode == 0, r.stdout[-3000:]


def test_the_stock_graph_misses_the_package_dir_folders():
    """Why the contract type exists: grimp's graph of kbd_lm/ alone has no kbd_lm.export."""
    code = (
        "import grimp, sys; from pathlib import Path; sys.path.insert(0, '.');"
        "from tests.import_graph import installed_graph;"
        "stock = grimp.build_graph('kbd_lm', cache_dir=None);"
        "full = installed_graph(Path.cwd(), False);"
        "print(sum(m.startswith(('kbd_lm.export', 'kbd_lm.serve', 'kbd_lm.corpora'))"
        " for m in stock.modules));"
        "print(len(full.find_descendants('kbd_lm.export')), len(full.find_descendants("
        "'kbd_lm.serve')), len(full.find_descendants('kbd_lm.corpora')));"
        "print('kbd_lm.corpora.mixtures' in full.find_modules_directly_imported_by("
        "'kbd_lm.training.data'))"
    )
    r = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    stock, full, edge = r.stdout.split("\n")[:3]
    assert stock == "0"
    export, serve, corpora = map(int, full.split())
    modules = {
        folder: sum(1 for _ in (ROOT / folder).rglob("*.py")) - 1  # less its __init__.py
        for folder in ("export", "serve", "corpora")
    }
    assert (export, serve, corpora) == (modules["export"], modules["serve"], modules["corpora"])
    assert edge == "True"


def test_the_second_contract_names_every_module_but_the_cli():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    (second,) = [c for c in config["contracts"] if c["name"] == SECOND]
    rooms = {
        f"kbd_lm.{p.stem if p.is_file() else p.name}"
        for p in (ROOT / "kbd_lm").iterdir()
        if (p.suffix == ".py" and p.name != "__init__.py") or (p / "__init__.py").is_file()
    }
    assert set(second["source_modules"]) == rooms - {"kbd_lm.cli", "kbd_lm.__main__"}
