"""Schemathesis against a real server: every answer is one that the OpenAPI document lists.

``schemathesis run`` (its command line, 4.x) against ``kbd-lm serve`` on the tiny bundle, a
real process on a free loopback port, with user histories on (loopback, a history file in
``tmp_path``) so that the ``/v1/users`` routes are exercised; then a smaller run against a
server with API keys. Every phase (examples, coverage, fuzzing, stateful) and every check but
``positive_data_acceptance``: a request the schema allows may still be refused, e.g. a learned
text within the 20,000-character ``maxLength`` of ``LearnRequest`` but over the 16 KiB body
limit (413).

Repeatable: a fixed seed, one worker, no example database and no crash cache (nothing from an
earlier run is replayed). Bounded: ``MAX_EXAMPLES`` per operation (about 1,400 requests in
about 15 s on a 2-core x86-64 host), a timeout per request and one for the whole run.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kbd_lm.export.bench.loadtest import ServerProcess

log = logging.getLogger(__name__)

MAX_EXAMPLES = 100  # per operation and phase (schemathesis' default)
KEYS_MAX_EXAMPLES = 20  # the run with API keys: the same routes behind the key check
SEED = 1
REQUEST_TIMEOUT_S = 10
RUN_TIMEOUT_S = 120
KEY = "k-schemathesis-1"
# What negative_data_rejection accepts as a refusal of invalid data: schemathesis' default
# list, plus 413: a body over max_body_bytes is refused before validation looks at it.
REFUSALS = [400, 401, 403, 404, 405, 406, 409, 413, 415, 422, 428, 429, "5XX"]


def write_config(folder: Path, bundle: Path) -> Path:
    """The run's ``schemathesis.toml``: checks, no cache, and real file names of the bundle for
    ``/v1/bundle/{name}`` half of the time (else the route only answers 404)."""
    files = ["manifest.json", *json.loads((bundle / "manifest.json").read_text())["files"]]
    path = folder / "schemathesis.toml"
    path.write_text(
        "[cache]\nenabled = false\n\n"
        "[checks.positive_data_acceptance]\nenabled = false\n\n"
        f"[checks.negative_data_rejection]\nexpected-statuses = {json.dumps(REFUSALS)}\n\n"
        f"[dictionaries.bundle-files]\nvalues = {json.dumps(files)}\n\n"
        '[[operations]]\ninclude-path = "/v1/bundle/{name}"\n'
        'parameters = { "path.name" = { dictionary = "bundle-files", probability = 0.5 } }\n'
    )
    return path


def run_schemathesis(url: str, config: Path, max_examples: int, *extra: str) -> str:
    """``schemathesis run`` on the server's schema; its report, checked to say no issues."""
    cmd = [
        *[sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "--no-color"],
        *["run", f"{url}/openapi.json", "--seed", str(SEED), "--workers", "1"],
        *["--max-examples", str(max_examples), "--generation-database", "none"],
        *["--request-timeout", str(REQUEST_TIMEOUT_S), "--output-truncate", "true", *extra],
    ]
    # In the config's folder: the command line keeps nothing in the repository.
    done = subprocess.run(
        cmd, cwd=config.parent, capture_output=True, text=True, timeout=RUN_TIMEOUT_S
    )
    report = done.stdout + done.stderr
    assert done.returncode == 0, report
    assert "No issues found" in report and "10 selected / 10 total" in report, report
    summary = report.strip().splitlines()[-1].strip("= ")
    log.info("schemathesis: %d test cases generated; %s", generated(report), summary)
    return report


def generated(report: str) -> int:
    """How many test cases the run generated (its summary line)."""
    line = next(x for x in report.splitlines() if " generated, " in x)
    return int(line.split()[0])


@pytest.mark.slow
def test_every_answer_is_documented(tiny_bundle, tmp_path, monkeypatch):
    monkeypatch.setenv("KBD_LM_HISTORY_DB", str(tmp_path / "histories.sqlite3"))
    config = write_config(tmp_path, tiny_bundle)
    with ServerProcess(tiny_bundle) as server:
        started = time.monotonic()
        report = run_schemathesis(server.url, config, MAX_EXAMPLES)
        took = time.monotonic() - started
    assert generated(report) > 500, report  # every phase ran, on every operation
    assert (tmp_path / "histories.sqlite3").exists()  # the user routes were reached
    assert took < 60, f"the run took {took:.0f} s"


@pytest.mark.slow
def test_every_answer_is_documented_with_api_keys(tiny_bundle, tmp_path, monkeypatch):
    monkeypatch.setenv("KBD_LM_HISTORY_DB", str(tmp_path / "histories.sqlite3"))
    monkeypatch.setenv("KBD_LM_API_KEYS", KEY)
    config = write_config(tmp_path, tiny_bundle)
    with ServerProcess(tiny_bundle) as server:
        # The key is sent; the ignored_auth check also sends each request without it (401).
        authorization = f"Authorization: Bearer {KEY}"
        report = run_schemathesis(server.url, config, KEYS_MAX_EXAMPLES, "--header", authorization)
    assert generated(report) > 100, report
