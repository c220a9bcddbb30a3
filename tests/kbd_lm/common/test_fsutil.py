"""Atomic folders: a write killed mid-way leaves a temporary folder that the next write to the
same place removes, unless a live writer holds it."""

import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from kbd_lm.common.fsutil import atomic_dir, remove_stale_temporaries

# A writer that stops half-way through its folder until it is killed.
WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from kbd_lm.common.fsutil import atomic_dir

    with atomic_dir(Path(sys.argv[1])) as tmp:
        (tmp / "model.tflite").write_bytes(b"half")
        print(tmp.name, flush=True)
        time.sleep(600)
    """
)


def start_writer(path: Path) -> tuple[subprocess.Popen, Path]:
    """A writer process in the middle of ``atomic_dir(path)``, and its temporary folder."""
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    name = proc.stdout.readline().strip()
    assert name, "the writer did not start"
    return proc, path.parent / name


def kill(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def test_a_killed_write_is_removed_and_a_live_one_kept(tmp_path):
    target = tmp_path / "bundle"
    killed, stale = start_writer(target)
    kill(killed)
    assert (stale / "model.tflite").read_bytes() == b"half"  # left behind
    # Not ours: another folder's temporary, and one of a bundle called "bundle.x".
    others = [tmp_path / ".other.abcdefgh.tmp", tmp_path / ".bundle.x.abcdefgh.tmp"]
    for other in others:
        other.mkdir()
    live, held = start_writer(target)  # the next write removes the killed one's folder
    try:
        assert not stale.exists()
        with atomic_dir(target) as tmp:
            (tmp / "model.tflite").write_bytes(b"whole")
        assert (held / "model.tflite").is_file()  # the live writer's folder stays
        assert all(other.is_dir() for other in others)
        assert (target / "model.tflite").read_bytes() == b"whole"
    finally:
        kill(live)
    assert remove_stale_temporaries(target) == [held]  # its writer is gone now
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [".bundle.x.abcdefgh.tmp", ".other.abcdefgh.tmp", "bundle"]


def test_a_finished_write_leaves_no_temporary_and_releases_its_lock(tmp_path):
    target = tmp_path / "out"
    for text in ("one", "two"):
        with atomic_dir(target) as tmp:
            (tmp / "a.txt").write_text(text)
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert (target / "a.txt").read_text() == "two"
    assert remove_stale_temporaries(target) == []  # the bundle itself is never a candidate
