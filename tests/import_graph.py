"""import-linter contracts on kbd_lm's whole import graph, package-dir folders included.

pyproject.toml installs the top-level folders export/, serve/ and corpora/ as kbd_lm.export,
kbd_lm.serve and kbd_lm.corpora (setuptools ``package-dir``). import-linter's graph (grimp)
is built from the package's own folder, kbd_lm/, alone: those three are not in it, and an
import of one of them is recorded as an import of ``kbd_lm`` itself, so no contract can
see it. :func:`installed_graph` builds the graph from a view of the installed layout
instead: a temporary folder whose ``kbd_lm/`` links to each entry of kbd_lm/ and to each
package-dir folder under its import name (grimp follows links), read from pyproject.toml.

pyproject.toml's ``[tool.importlinter]`` names :class:`ForbiddenContract` as a contract type;
``lint-imports`` at the repository root imports this module from there as
``tests.import_graph`` (it puts the current folder on the import path; tests/ is a namespace
package). A development tool: it needs import-linter, and the installed package leaves it out.

>>> sorted(package_dirs(Path(__file__).parents[1]).items())[:2]
[('kbd_lm', 'kbd_lm'), ('kbd_lm.corpora', 'corpora')]
"""

from __future__ import annotations

import copy
import functools
import importlib
import sys
import tempfile
import tomllib
from pathlib import Path

import grimp
from importlinter.contracts import forbidden


def package_dirs(root: Path) -> dict[str, str]:
    """Import name -> folder, from ``root``'s pyproject.toml ([tool.setuptools.package-dir])."""
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    return pyproject["tool"]["setuptools"]["package-dir"]


@functools.cache
def installed_graph(root: Path, include_external_packages: bool) -> grimp.ImportGraph:
    """The import graph of the package as installed from ``root`` (one top-level package).

    Built from a link view: ``<tmp>/kbd_lm/`` links to the entries of ``root/kbd_lm/`` and
    ``<tmp>/kbd_lm/export`` to ``root/export/`` (and so on for each package-dir entry).
    """
    dirs = package_dirs(root)
    (top,) = [name for name in dirs if "." not in name]  # "kbd_lm"
    if top in sys.modules:  # grimp would take the imported package's folder instead
        raise RuntimeError(f"{top} is imported already; build its graph in a fresh process")
    with tempfile.TemporaryDirectory(prefix="import-graph-") as tmp:
        view = Path(tmp) / top
        view.mkdir()
        for entry in (root / dirs[top]).iterdir():
            if entry.name != "__pycache__":
                (view / entry.name).symlink_to(entry.resolve())
        for name, folder in dirs.items():
            if name != top:  # kbd_lm.export -> <tmp>/kbd_lm/export
                Path(tmp, *name.split(".")).symlink_to((root / folder).resolve())
        sys.path.insert(0, tmp)
        importlib.invalidate_caches()
        try:
            return grimp.build_graph(
                top, include_external_packages=include_external_packages, cache_dir=None
            )
        finally:
            sys.path.remove(tmp)
            importlib.invalidate_caches()


class ForbiddenContract(forbidden.ForbiddenContract):
    """import-linter's ``forbidden`` contract, checked on :func:`installed_graph`.

    Same options and report; the root is the current folder (where ``lint-imports`` runs).
    """

    def check(self, graph, verbose):
        externals = str(self.session_options.get("include_external_packages", "")).lower()
        full = installed_graph(Path.cwd(), externals in ("true", "1", "yes"))
        return super().check(copy.deepcopy(full), verbose)
