"""Users' histories in one SQLite file, for the server's ``/v1/users`` routes.

One row per user: ``histories(user, version, data, updated)``, where ``data`` is the history
in its file format (:meth:`kbd_lm.history.user_history.UserHistory.to_bytes`) and ``version`` grows
by one with every change. Each process keeps parsed histories in a small cache and checks the
version on every request (one indexed read), so several server processes can share a file.

- The file is created owner-only (0600; SQLite gives its ``-wal`` / ``-shm`` files the same
  mode), in WAL mode; every update is one ``BEGIN IMMEDIATE`` transaction that reads the
  current row, changes it and writes it back, so two concurrent learns lose nothing.
- Deleting means gone: ``secure_delete`` overwrites freed content with zeros, and after a
  delete (or a forgotten word) the WAL is checkpointed and truncated, so the text survives in
  no byte of the database, ``-wal`` or ``-shm`` file.
- Bounds: each history by :class:`~kbd_lm.history.user_history.HistoryConfig`; the number of
  users and the file size (database + WAL) by ``max_users`` / ``max_db_bytes``: a learn past
  them is refused with :class:`StoreFullError`.

Nothing is opened before the first call, so a server that never sees a user creates no file.

>>> store = HistoryStore(Path("data/histories.sqlite3"))   # doctest: +SKIP
>>> store.learn("u-7f3a9c", "see you at Quattro")           # doctest: +SKIP
4
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
from collections import OrderedDict
from pathlib import Path

from kbd_lm.history.privacy import check_field
from kbd_lm.history.user_history import HistoryConfig, HistoryFileError, UserHistory

log = logging.getLogger(__name__)

CACHE_SIZE = 32  # parsed histories kept per process (each up to a few MB in memory)
_SCHEMA = """CREATE TABLE IF NOT EXISTS histories (
    user TEXT PRIMARY KEY,
    version INTEGER NOT NULL,
    data BLOB NOT NULL,
    updated REAL NOT NULL
)"""


class StoreFullError(Exception):
    """The store's user or size limit is reached; nothing was written."""


def prepare(db, wait: float = 10.0) -> None:
    """Set up a new connection to the store's file: WAL, secure delete, the table.

    Several connections opening a new file at once all ask to switch it to WAL (a write lock);
    SQLite answers "database is locked" at once, without its busy wait, where waiting could
    deadlock. The switch is made once for the file, so whoever comes later finds it done: try
    again shortly, for up to ``wait`` seconds (CI saw a learn lost to this).
    """
    deadline = time.monotonic() + wait
    while True:
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA secure_delete=ON")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute(_SCHEMA)
            return
        except sqlite3.OperationalError as err:
            if "locked" not in str(err) and "busy" not in str(err):
                raise
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


class HistoryStore:
    """Thread-safe access to the histories in ``path`` (one connection, one lock)."""

    def __init__(
        self,
        path: str | os.PathLike,
        config: HistoryConfig | None = None,
        max_users: int = 10_000,
        max_db_bytes: int = 1 << 30,
    ) -> None:
        self.path = Path(path)
        self.config = config or HistoryConfig()
        self.max_users = max_users
        self.max_db_bytes = max_db_bytes
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None
        self._cache: OrderedDict[str, tuple[int, UserHistory]] = OrderedDict()

    # ------------------------------------------------------------------ public

    def get(self, user: str) -> UserHistory:
        """The user's history (empty if unknown). Treat it as read-only: it may be shared."""
        with self._lock:
            db = self._connect()
            row = db.execute("SELECT version FROM histories WHERE user = ?", (user,)).fetchone()
            if row is None:
                self._cache.pop(user, None)
                return UserHistory(self.config)
            cached = self._cache.get(user)
            if cached is not None and cached[0] == row[0]:
                self._cache.move_to_end(user)
                return cached[1]
            version, data = db.execute(
                "SELECT version, data FROM histories WHERE user = ?", (user,)
            ).fetchone()
            return self._remember(user, version, self._parse(user, data))

    def learn(self, user: str, text: str, field: str = "text") -> int:
        """Learn ``text`` for ``user`` in one transaction; returns the words learned.

        Sensitive fields touch nothing (not even the file). Raises :class:`StoreFullError`
        when a limit is reached and ValueError for an unknown field.
        """
        if not check_field(field):
            return 0
        return self._update(user, lambda h: h.learn(text, field), create=True)

    def forget(self, user: str, word: str) -> bool:
        """Remove one word from the user's history; True if it was kept."""
        found = self._update(user, lambda h: h.forget(word), create=False)
        if found:
            with self._lock:
                self._checkpoint()
        return bool(found)

    def delete(self, user: str) -> bool:
        """Remove the user and every byte of their history; True if there was one."""
        with self._lock:
            db = self._connect()
            self._cache.pop(user, None)
            with self._transaction(db):
                gone = db.execute("DELETE FROM histories WHERE user = ?", (user,)).rowcount
            self._checkpoint()
        return gone > 0

    def users(self) -> int:
        """Number of users with a history."""
        with self._lock:
            return self._connect().execute("SELECT count(*) FROM histories").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._checkpoint()
                self._db.close()
                self._db = None
            self._cache.clear()

    # ------------------------------------------------------------------ internals

    def _update(self, user: str, change, create: bool):
        with self._lock:
            db = self._connect()
            with self._transaction(db):
                row = db.execute(
                    "SELECT version, data FROM histories WHERE user = ?", (user,)
                ).fetchone()
                if row is None and not create:
                    return 0
                if row is None:
                    self._check_room(db)
                    version, history = 0, UserHistory(self.config)
                else:
                    version, history = row[0], self._parse(user, row[1])
                result = change(history)
                if not result:
                    return result  # nothing changed: nothing written
                db.execute(
                    "INSERT INTO histories (user, version, data, updated) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT(user) DO UPDATE SET version = excluded.version, "
                    "data = excluded.data, updated = excluded.updated",
                    (user, version + 1, history.to_bytes(), time.time()),
                )
            self._remember(user, version + 1, history)
            return result

    def _check_room(self, db: sqlite3.Connection) -> None:
        users = db.execute("SELECT count(*) FROM histories").fetchone()[0]
        if users >= self.max_users:
            raise StoreFullError(f"the history store holds its limit of {self.max_users} users")
        size = sum(
            p.stat().st_size
            for p in (self.path, self.path.with_name(self.path.name + "-wal"))
            if p.exists()
        )
        if size >= self.max_db_bytes:
            raise StoreFullError(f"the history store is at its size limit ({size:,} bytes)")

    def _parse(self, user: str, data: bytes) -> UserHistory:
        try:
            return UserHistory.from_bytes(data, self.config, name="stored history")
        except HistoryFileError as err:  # never the user id or the text in the log
            log.error("a stored history is damaged (%s); it starts again empty", err)
            return UserHistory(self.config)

    def _remember(self, user: str, version: int, history: UserHistory) -> UserHistory:
        self._cache[user] = (version, history)
        self._cache.move_to_end(user)
        while len(self._cache) > CACHE_SIZE:
            self._cache.popitem(last=False)
        return history

    @contextlib.contextmanager
    def _transaction(self, db: sqlite3.Connection):
        db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _checkpoint(self) -> None:
        """Copy the WAL into the database and truncate it (retried while readers hold it)."""
        assert self._db is not None
        for _ in range(50):
            busy, _, _ = self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
            if not busy:
                return
            time.sleep(0.02)
        log.warning("history store: WAL checkpoint stayed busy; it completes on a later one")

    def _connect(self) -> sqlite3.Connection:
        if self._db is not None:
            return self._db
        if not self.path.parent.exists():
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        # Created owner-only before SQLite opens it (SQLite copies the mode to -wal / -shm).
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        os.close(fd)
        os.chmod(self.path, 0o600)
        db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None, check_same_thread=False)
        try:
            prepare(db)
        except BaseException:
            db.close()
            raise
        self._db = db
        log.info("history store: %s", self.path)
        return db
