"""One logging set-up for every command (run in fresh processes: it changes global state)."""

import subprocess
import sys
import textwrap


def run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=60
    )


def test_one_format_on_stderr_at_the_level_asked():
    out = run("""
        import logging
        from kbd_lm.common.logs import setup_logging
        setup_logging("warning")
        logging.getLogger("kbd_lm.training.loop").info("hidden")
        logging.getLogger("kbd_lm.training.loop").warning("epoch %d done", 3)
        logging.getLogger("httpx").warning("shown: quiet loggers still warn")
        """)
    assert out.returncode == 0 and out.stdout == ""
    lines = out.stderr.splitlines()
    assert len(lines) == 2
    assert lines[0].endswith(" WARNING kbd_lm.training.loop: epoch 3 done")
    assert lines[0][:8].count(":") == 2  # HH:MM:SS


def test_child_lines_carry_the_process_id_and_quiet_loggers_stay_quiet():
    out = run("""
        import logging, os
        from kbd_lm.common.logs import setup_logging
        setup_logging("debug", child=True)
        logging.getLogger("httpx").info("one line per request")
        logging.getLogger("kbd_lm.bench").debug("pid %d", os.getpid())
        """)
    (line,) = out.stderr.splitlines()
    pid = line.rsplit(" ", 1)[1]
    assert f" DEBUG kbd_lm.bench[{pid}]: pid {pid}" in line


def test_an_embedding_application_keeps_its_handlers():
    out = run("""
        import logging, sys
        logging.basicConfig(stream=sys.stdout, format="app: %(message)s", level=logging.ERROR)
        from kbd_lm.common.logs import setup_logging
        setup_logging("info")
        logging.getLogger("kbd_lm").info("through the app's handler")
        """)
    assert out.stdout == "app: through the app's handler\n" and out.stderr == ""
