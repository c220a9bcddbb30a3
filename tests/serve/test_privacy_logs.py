"""A real server: logs and /metrics never hold a user id or the text learned."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time

import httpx

USER = "u-LeakCheck-7d1e93"
WORD = "Plumbusorama"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def debug_server(bundle, tmp_path):
    """Runs `python -m kbd_lm.serve` on `bundle` at log level debug (access log on, one worker,
    no KBD_LM_* settings from the environment but a history database in `tmp_path`).

    Yields (client, out): an httpx client on the ready server, and a dict whose "logs" holds the
    server's whole output (stdout and stderr) once the block has ended and the server stopped.
    """
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("KBD_LM_")}
    env["KBD_LM_HISTORY_DB"] = str(tmp_path / "h.sqlite3")
    cmd = [sys.executable, "-m", "kbd_lm.serve", "--bundle", str(bundle)]
    cmd += ["--port", str(port), "--log-level", "debug", "--pool-size", "1"]
    server = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
    )
    out = {}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as c:
            for _ in range(300):
                try:
                    if c.get("/readyz").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
            yield c, out
    finally:
        server.terminate()
        out["logs"] = server.communicate(timeout=30)[0].decode("utf-8", "replace")


def test_logs_and_metrics_name_routes_by_template(tiny_bundle, tmp_path):
    with debug_server(tiny_bundle, tmp_path) as (c, out):
        r = c.post(f"/v1/users/{USER}/learn", json={"text": f"dinner with {WORD} at 8"})
        assert r.json() == {"learned_words": 5}
        r = c.post("/v1/predict-next", json={"text": "dinner with ", "user": USER})
        assert r.json()["suggestions"][0]["word"] == WORD
        assert WORD in c.get(f"/v1/users/{USER}/history?limit=5").text
        assert c.post(f"/v1/users/{USER}/learn", json={"text": 7}).status_code == 422
        assert c.delete(f"/v1/users/{USER}/words/{WORD}").json() == {"forgotten": True}
        assert c.delete(f"/v1/users/{USER}").status_code == 204
        metrics = c.get("/metrics").text
    logs = out["logs"]
    for secret in (USER, USER.lower(), WORD, WORD.lower(), "dinner with"):
        assert secret not in logs, secret
        assert secret not in metrics, secret
    learned = [line for line in metrics.splitlines() if 'route="/v1/users/{user}/learn"' in line]
    assert any('method="POST"' in line and 'status="200"' in line for line in learned)
    assert 'route="/v1/users/{user}/words/{word}"' in metrics
    assert "/v1/users/{user}/learn" in logs  # the access log names the template
    assert "POST /v1/predict-next" in logs


def test_access_log_is_redacted_even_when_user_routes_are_off(tiny_bundle, tmp_path):
    """Off (public address, no keys), /v1/users paths still reach the access log as 404s."""
    import logging

    from kbd_lm.serve.app import create_app
    from kbd_lm.serve.settings import ServeSettings
    from kbd_lm.serve.users import RedactUserPaths

    access = logging.getLogger("uvicorn.access")
    for f in [f for f in access.filters if isinstance(f, RedactUserPaths)]:
        access.removeFilter(f)  # as in a fresh server process
    settings = ServeSettings(bundle=tiny_bundle, host="0.0.0.0", history_db=tmp_path / "h.db")
    create_app(settings=settings)
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d', None, None
    )
    record.args = ("1.2.3.4:5", "DELETE", f"/v1/users/{USER}/words/{WORD}", "1.1", 404)
    assert access.filter(record)
    assert "/v1/users/{user}/words/{word}" in record.getMessage()
    assert USER not in record.getMessage() and WORD not in record.getMessage()


def test_odd_user_paths_are_redacted_whole():
    from kbd_lm.serve.users import _redact

    # A word holding an encoded "/" arrives decoded: more segments than any route has.
    assert _redact(f"DELETE /v1/users/{USER}/words/a/{WORD} x") == "DELETE /v1/users/{user}/... x"
    assert (
        _redact(f"GET /v1/users/{USER}/history?limit=5") == "GET /v1/users/{user}/history?limit=5"
    )
    assert _redact(f"POST /v1/users/{USER}/learn") == "POST /v1/users/{user}/learn"
    assert _redact(f"DELETE /v1/users/{USER}") == "DELETE /v1/users/{user}"


# A partial word of made-up letters, and touch points on the QWERTY layout (10 x 3 key units)
# whose seven decimals no line holds by chance (DECIMALS: each of them, however formatted).
TYPED = "Zorbulax"
TAPS = [[round(i + 0.2345678, 7), 0.8765432] for i in range(1, len(TYPED) + 1)]
OFF_LAYOUT = [12.3456789, 0.8765432]
DECIMALS = ["2345678", "8765432", "3456789"]


def test_typed_letters_and_taps_are_never_logged(tiny_bundle, tmp_path):
    """A real server at log level debug, with its access log: correction requests with taps,
    answered and refused, leave neither the text nor a touch point in the logs or metrics."""
    text = f"see you {TYPED}"
    with debug_server(tiny_bundle, tmp_path) as (c, out):
        body = {"text": text, "correct": True, "layout": "qwerty", "taps": TAPS}
        assert c.post("/v1/predict-next", json=body).status_code == 200
        refused = [
            {**body, "taps": TAPS[:-1]},  # one tap short
            {**body, "taps": [*TAPS[:-1], OFF_LAYOUT]},
            {**body, "correct": False},  # taps without correction
            {**body, "layout": "zorbulax"},
        ]
        for wrong in refused:
            assert c.post("/v1/predict-next", json=wrong).status_code == 422
        metrics = c.get("/metrics").text
    logs = out["logs"]
    assert "POST /v1/predict-next" in logs and '" 422' in logs  # the access log ran
    for secret in [TYPED, TYPED.lower(), "see you", *DECIMALS]:
        assert secret not in logs, secret
        assert secret not in metrics, secret
