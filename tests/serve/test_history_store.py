"""The SQLite history store: concurrent learns, version checks, limits, deletion without trace."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading

import pytest

from kbd_lm.history.user_history import HistoryConfig
from kbd_lm.serve.history_store import HistoryStore, StoreFullError

NO_DECAY = HistoryConfig(half_life=1e12)  # counts stay whole numbers, easy to add up


def count_of(store, user, word):
    return dict((w.lower(), c) for w, c in store.get(user).words()).get(word, 0)


def test_concurrent_learns_in_threads_lose_nothing(tmp_path):
    db = tmp_path / "h.sqlite3"
    stores = [HistoryStore(db, NO_DECAY) for _ in range(4)]  # like 4 processes: 4 connections
    shared = HistoryStore(db, NO_DECAY)  # and threads sharing one store

    def work(store, n):
        for _ in range(n):
            store.learn("u1", "alpha beta")

    threads = [threading.Thread(target=work, args=(s, 15)) for s in stores]
    threads += [threading.Thread(target=work, args=(shared, 15)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    fresh = HistoryStore(db, NO_DECAY)
    assert count_of(fresh, "u1", "alpha") == pytest.approx(6 * 15)
    version = fresh._connect().execute("SELECT version FROM histories").fetchone()[0]
    assert version == 6 * 15


LEARNER = """
import sys
from kbd_lm.history.user_history import HistoryConfig
from kbd_lm.serve.history_store import HistoryStore
store = HistoryStore(sys.argv[1], HistoryConfig(half_life=1e12))
for i in range(int(sys.argv[2])):
    store.learn("u1", f"gamma delta{i % 3}")
store.close()
"""


def test_concurrent_learns_in_processes_lose_nothing(tmp_path):
    db = tmp_path / "h.sqlite3"
    procs = [
        subprocess.Popen([sys.executable, "-c", LEARNER, str(db), "25"], stderr=subprocess.PIPE)
        for _ in range(3)
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()[-2000:]
    assert count_of(HistoryStore(db, NO_DECAY), "u1", "gamma") == pytest.approx(75)


def test_a_cached_history_is_rechecked_on_each_request(tmp_path):
    db = tmp_path / "h.sqlite3"
    a, b = HistoryStore(db), HistoryStore(db)  # two server processes sharing the file
    a.learn("u1", "first words")
    assert count_of(b, "u1", "first") > 0
    cached = b.get("u1")
    assert b.get("u1") is cached  # unchanged: the parsed history is reused
    a.learn("u1", "second message")
    assert count_of(b, "u1", "second") > 0  # b saw the new version
    a.delete("u1")
    assert b.get("u1").words() == []


def test_limits(tmp_path):
    store = HistoryStore(tmp_path / "h.sqlite3", max_users=1)
    store.learn("u1", "hello")
    with pytest.raises(StoreFullError, match="1 users"):
        store.learn("u2", "hello")
    assert store.learn("u1", "again") == 1 and store.users() == 1
    small = HistoryStore(tmp_path / "s.sqlite3", max_db_bytes=100_000)
    small.learn("u1", " ".join(f"w{i}x" for i in range(5000)))  # about 150 kB
    with pytest.raises(StoreFullError, match="size limit"):
        small.learn("u2", "hello")


def test_delete_leaves_no_trace_in_any_file(tmp_path):
    db = tmp_path / "h.sqlite3"
    store = HistoryStore(db)
    secret = "Qwertzuiopxyvb"  # a word that exists nowhere else
    store.learn("victim", f"meet {secret} at noon")
    for i in range(30):  # several versions of the row, spread over WAL frames and pages
        store.learn("victim", f"message {i} about {secret} and more filler text {i}")
        store.learn("other", f"unrelated words {i}")
    files = [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]

    def found():
        data = b"".join(p.read_bytes() for p in files if p.exists())
        return secret.encode() in data or secret.lower().encode() in data

    assert found()  # the check can fail: the word really is in the files before
    assert store.delete("victim")
    assert not found()
    assert store.get("other").words() and store.get("victim").words() == []
    store.forget("other", "unrelated")
    data = b"".join(p.read_bytes() for p in files if p.exists())
    assert b"unrelated" not in data


class _RacingConnection:
    """A new file's connection that loses the race to switch it to WAL ``losses`` times:
    SQLite's immediate "database is locked" (no busy wait), which cannot be forced on cue."""

    def __init__(self, path, losses):
        self.real, self.losses, self.statements = sqlite3.connect(path), losses, []

    def execute(self, sql, *args):
        self.statements.append(sql)
        if sql.startswith("PRAGMA journal_mode") and self.losses:
            self.losses -= 1
            raise sqlite3.OperationalError("database is locked")
        return self.real.execute(sql, *args)


def test_a_connection_that_loses_the_wal_race_tries_again(tmp_path):
    from kbd_lm.serve.history_store import prepare

    db = _RacingConnection(tmp_path / "h.sqlite3", losses=3)
    prepare(db)
    assert db.statements.count("PRAGMA journal_mode=WAL") == 4
    assert db.real.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    # Past the wait, the error is the caller's; other errors are never retried.
    with pytest.raises(sqlite3.OperationalError, match="locked"):
        prepare(_RacingConnection(tmp_path / "h2.sqlite3", losses=10**6), wait=0.05)
    broken = _RacingConnection(tmp_path / "h3.sqlite3", losses=0)
    broken.real.close()
    with pytest.raises(sqlite3.ProgrammingError):
        prepare(broken)
