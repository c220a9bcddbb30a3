"""``make lint`` / ``make test``: Biome lints and format-checks the browser JS, without Node.

Biome is one static binary inside the npm package ``@biomejs/cli-linux-x64``. Like LiteRT.js
(:mod:`kbd_lm.serve.jsdeps`) its tarball comes straight from the registry's tarball URL,
pinned and checked by sha256, and is unpacked once into ``<virtualenv>/tools/biome-<version>/``
(the environment's own folder: never committed, rebuilt with the environment). The arguments
go to Biome, run from the current folder, where ``biome.json`` says which files and which style.

    python -m kbd_lm.serve.jslint check            # lint + format check (make test, make lint)
    python -m kbd_lm.serve.jslint format --write   # make format

>>> BIOME.package.spec, BIOME.keep
('@biomejs/cli-linux-x64@2.6.8', ('biome',))
"""

from __future__ import annotations

import logging
import platform
import subprocess
import sys
from pathlib import Path

from kbd_lm.common.logs import setup_logging
from kbd_lm.corpora.registry import FetchError, Package
from kbd_lm.serve.jsdeps import JsPackage, install_package

log = logging.getLogger(__name__)

# The virtualenv's folder: `make venv` makes it, `rm -rf .venv` takes Biome with it.
TOOLS = Path(sys.prefix) / "tools"

# Biome's Linux x86-64 build (the project's machines). The sha256 is that of the registry's
# tarball, checked when pinned against the registry's own sha1 (`shasum`) and sha512
# (`integrity`) of it. biome.json's "$schema" names the same version.
BIOME_VERSION = "2.6.8"
BIOME = JsPackage(
    Package(
        "npm",
        "@biomejs/cli-linux-x64",
        BIOME_VERSION,
        sha256="e9fc491ffec6ba4024549b7c797937cd4f01855b4fe66a78220efe83b95be7f1",
    ),
    f"biome-{BIOME_VERSION}",
    ("biome",),  # the binary; the tarball's package.json and CHANGELOG.md are left out
)


class ToolError(Exception):
    """Biome cannot be had here; the message says why."""


def biome(tools: Path = TOOLS) -> Path:
    """The path of the pinned Biome binary, fetched and unpacked on first use."""
    if (sys.platform, platform.machine()) != ("linux", "x86_64"):
        raise ToolError(
            f"Biome is pinned for Linux x86-64 only (this is {sys.platform} "
            f"{platform.machine()}): install @biomejs/biome {BIOME.package.version} with npm"
        )
    folder = tools / BIOME.folder
    line = install_package(BIOME, folder, tools / "downloads")
    log.debug("%s", line)
    return folder / "biome"


def main(argv: list[str] | None = None) -> int:
    """Run Biome with ``argv`` (default: this process's arguments); its exit status."""
    setup_logging()
    args = sys.argv[1:] if argv is None else argv
    try:
        binary = biome()
    except (ToolError, FetchError) as err:
        log.error("%s", err)
        return 2
    return subprocess.run([str(binary), *args]).returncode


if __name__ == "__main__":
    sys.exit(main())
