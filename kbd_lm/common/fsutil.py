"""Atomic writes and progress lines, shared by every stage.

Artifacts are never written in place: a killed process leaves either the old file or the
new one, never half of one.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

log = logging.getLogger(__name__)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; artifacts are shared files
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str) -> None:
    """Text version of :func:`atomic_write_bytes` (UTF-8)."""
    atomic_write_bytes(path, text.encode("utf-8"))


@contextlib.contextmanager
def atomic_dir(path: Path) -> Iterator[Path]:
    """Build a folder under a temporary name and rename it into place on success.

    >>> import tempfile; root = Path(tempfile.mkdtemp())
    >>> with atomic_dir(root / "out") as tmp:
    ...     _ = (tmp / "a.txt").write_text("hi")
    >>> (root / "out" / "a.txt").read_text()
    'hi'

    An existing folder at ``path`` is replaced only after the new one is complete. The
    temporary folder (``.out.XXXXXXXX.tmp`` beside ``path``) is locked while it is written;
    one left by a killed process is removed by the next write to ``path``
    (:func:`remove_stale_temporaries`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(path)
    tmp, lock = _locked_temporary(path)
    try:
        yield tmp
        old = None
        if path.exists():
            old = path.with_name(f".{path.name}.old.{os.getpid()}")
            os.replace(path, old)
        os.replace(tmp, path)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    finally:
        os.close(lock)  # (the kernel also releases it when the process dies)


def _temporary_pattern(path: Path) -> re.Pattern:
    # tempfile.mkdtemp's names: prefix, 8 characters of [a-z0-9_], suffix.
    return re.compile(rf"\.{re.escape(path.name)}\.[a-z0-9_]{{8}}\.tmp")


def _locked_temporary(path: Path) -> tuple[Path, int]:
    """A new temporary folder for ``path`` and the descriptor holding its lock (flock)."""
    while True:
        tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
        try:
            fd = os.open(tmp, os.O_RDONLY | os.O_DIRECTORY)
        except FileNotFoundError:
            continue  # another process found it unlocked and removed it: make another
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            if os.fstat(fd).st_nlink > 0:  # 0: removed before we held it
                os.chmod(tmp, 0o777 & ~_umask())
                return tmp, fd
        except BlockingIOError:
            pass  # another process is removing it
        os.close(fd)


def remove_stale_temporaries(path: Path) -> list[Path]:
    """Remove the temporary folders :func:`atomic_dir` left beside ``path`` (its name
    pattern only) whose lock nobody holds: their writer was killed. Returns them.

    A folder being written is locked by its writer and stays.
    """
    path = Path(path)
    pattern = _temporary_pattern(path)
    removed = []
    for entry in sorted(path.parent.iterdir()) if path.parent.is_dir() else ():
        if not pattern.fullmatch(entry.name) or entry.is_symlink() or not entry.is_dir():
            continue
        try:
            fd = os.open(entry, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            continue  # gone meanwhile
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue  # a live writer holds it
        try:
            shutil.rmtree(entry, ignore_errors=True)
            log.info("removed %s, left by an interrupted write", entry)
            removed.append(entry)
        finally:
            os.close(fd)
    return removed


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class Progress:
    """A periodic log line with done/total, rate and ETA.

    >>> p = Progress("tokens", total=100, every=0.0)
    >>> p.update(50)  # logs "tokens 50/100 (50%) ... ETA ..."
    """

    def __init__(
        self,
        what: str,
        total: float | None = None,
        every: float = 10.0,
        unit: str = "/s",
        logger: logging.Logger | None = None,
    ) -> None:
        self.what, self.total, self.every, self.unit = what, total, every, unit
        self.start = self._last = time.monotonic()
        self.done = 0.0
        self.log = logger or log

    def update(self, n: float = 1, extra: str = "") -> None:
        self.done += n
        now = time.monotonic()
        if now - self._last < self.every:
            return
        self._last = now
        self.log.info(self.line(extra))

    def line(self, extra: str = "") -> str:
        elapsed = max(time.monotonic() - self.start, 1e-9)
        rate = self.done / elapsed
        text = f"{self.what} {self.done:,.0f}"
        if self.total:
            frac = self.done / self.total
            eta = (self.total - self.done) / rate if rate > 0 else float("inf")
            text += f"/{self.total:,.0f} ({frac:.0%}) {rate:,.0f}{self.unit} ETA {_fmt(eta)}"
        else:
            text += f" {rate:,.0f}{self.unit} elapsed {_fmt(elapsed)}"
        return f"{text} {extra}".rstrip()


def _fmt(seconds: float) -> str:
    if seconds == float("inf"):
        return "?"
    seconds = int(seconds)
    return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"


def read_cache_json(path: Path) -> dict | None:
    """A cache's JSON object, or None (with a warning) when the file is damaged: the caller
    builds it again."""
    try:
        doc = json.loads(Path(path).read_text(encoding="utf-8"))
        if isinstance(doc, dict):
            return doc
        err: Exception = ValueError("not a JSON object")
    except (ValueError, OSError) as e:
        err = e
    log.warning("%s: unreadable cache file (%s): built again", path, err)
    return None
