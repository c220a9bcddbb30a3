"""Read the files inside a package: a tarball, a zip, or a folder laid out the same way.

Recipes read members by their path inside the package (``package/src/sms/smsCorpus.js``), so
the same recipe code runs on the real download and on a test fixture: a small folder with the
same paths. A member that is itself an archive (vaderSentiment ships a tarball inside its
sdist) opens with :meth:`Archive.sub`; in a fixture folder it may be a folder of that name.

>>> import tempfile; root = Path(tempfile.mkdtemp())
>>> _ = (root / "package").mkdir(), (root / "package" / "a.txt").write_text("hi")
>>> pkg = open_archive(root)
>>> pkg.names(), pkg.read_text("package/a.txt")
(['package/a.txt'], 'hi')
"""

from __future__ import annotations

import fnmatch
import io
import tarfile
import zipfile
from pathlib import Path


class Archive:
    """The files of a package, by their path inside it (``/``-separated)."""

    def __init__(self, label: str, files: dict[str, object], reader) -> None:
        self.label = label
        self._files = files
        self._reader = reader

    def names(self, pattern: str = "*") -> list[str]:
        """Member paths matching a shell pattern, sorted (``*`` also crosses ``/``)."""
        return sorted(n for n in self._files if fnmatch.fnmatchcase(n, pattern))

    def read(self, name: str) -> bytes:
        if name not in self._files:
            raise FileNotFoundError(f"{self.label}: no member {name!r}")
        return self._reader(self._files[name])

    def read_text(self, name: str, encodings: tuple[str, ...] = ("utf-8",)) -> str:
        """A member decoded with the first encoding that works (errors if none does)."""
        data = self.read(name)
        for encoding in encodings[:-1]:
            try:
                return data.decode(encoding)
            except UnicodeDecodeError:
                continue
        return data.decode(encodings[-1])

    def sub(self, name: str) -> Archive:
        """A member that is itself an archive (or, in a fixture, a folder of that name)."""
        prefix = name.rstrip("/") + "/"
        nested = {n[len(prefix) :]: p for n, p in self._files.items() if n.startswith(prefix)}
        if nested and name not in self._files:  # a fixture folder named like the archive
            return Archive(f"{self.label}:{name}", nested, self._reader)
        return _from_bytes(f"{self.label}:{name}", self.read(name))


def open_archive(path: Path) -> Archive:
    """Open a ``.tgz``/``.tar.gz``/``.zip`` file or a folder as an :class:`Archive`."""
    path = Path(path)
    if path.is_dir():
        files = {p.relative_to(path).as_posix(): p for p in path.rglob("*") if p.is_file()}
        return Archive(str(path), files, Path.read_bytes)
    return _from_bytes(str(path), path.read_bytes())


def _from_bytes(label: str, data: bytes) -> Archive:
    if zipfile.is_zipfile(io.BytesIO(data)):
        zf = zipfile.ZipFile(io.BytesIO(data))
        files = {i.filename: i.filename for i in zf.infolist() if not i.is_dir()}
        return Archive(label, files, zf.read)
    try:
        tar = tarfile.open(fileobj=io.BytesIO(data), mode="r:*")  # noqa: SIM115 (kept open by reader)
    except tarfile.TarError as err:
        raise ValueError(f"{label}: neither a tarball nor a zip file") from err
    files = {m.name.lstrip("./"): m for m in tar.getmembers() if m.isfile()}
    return Archive(label, files, lambda m: tar.extractfile(m).read())
