"""Refusals at the connection (kbd_lm.serve.protocol): a plain prediction request the admission
refuses is answered 503 by the protocol, byte-correct, without the app seeing it; a request the
protocol leaves alone (chunked body) is still refused, by the app's admission layer."""

from __future__ import annotations

import contextlib
import json
import socket

import pytest
from prometheus_client.parser import text_string_to_metric_families

from kbd_lm.serve.admission import Admission, RefusalPacer
from kbd_lm.serve.protocol import EVENT_LOOP, AdmissionProtocol
from kbd_lm.serve.settings import ServeSettings
from tests.serve.conftest import run_server

ORIGIN = "https://app.example"


APP_SAW: list[str] = []  # the paths of prediction requests that reached the app's layer


@contextlib.contextmanager
def refusing_server(bundle, monkeypatch):
    """``kbd-lm serve``'s uvicorn set-up (protocol and loop) in a thread, its admission
    refusing every prediction at once; yields (host, port)."""
    monkeypatch.setattr(Admission, "should_refuse", lambda self, scope: True)
    monkeypatch.setattr(RefusalPacer, "delay", lambda self, now=None: 0.0)
    app_layer = Admission.__call__

    async def seen(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"] == "/v1/predict-next":
            APP_SAW.append(scope["path"])
        await app_layer(self, scope, receive, send)

    monkeypatch.setattr(Admission, "__call__", seen)
    APP_SAW.clear()
    settings = ServeSettings(bundle=bundle, access_log=False, cors_origins=[ORIGIN])
    with run_server(settings, http=AdmissionProtocol, loop=EVENT_LOOP) as url:
        host, _, port = url.removeprefix("http://").partition(":")
        yield host, int(port)


def _request(body: bytes, headers: str = "") -> bytes:
    return (
        f"POST /v1/predict-next HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{headers}\r\n"
    ).encode() + body


def _read_answer(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "the connection closed before an answer"
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    length = int(headers["content-length"])
    while len(rest) < length:
        rest += sock.recv(65536)
    return int(lines[0].split()[1]), headers, rest[:length]


def _metric(host: str, port: int, name: str, **labels: str) -> float:
    """The sum of the samples ``name`` whose labels include ``labels``."""
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(b"GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n")
        status, _, body = _read_answer(sock)
    assert status == 200
    samples = [s for f in text_string_to_metric_families(body.decode()) for s in f.samples]
    return sum(
        s.value
        for s in samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    )


def test_refused_at_the_connection_keep_alive_and_cors(tiny_bundle, monkeypatch):
    with refusing_server(tiny_bundle, monkeypatch) as (host, port):
        served = _metric(host, port, "kbd_lm_http_requests_total", method="POST")
        with socket.create_connection((host, port), timeout=10) as sock:
            for origin in ("", f"Origin: {ORIGIN}\r\n"):  # two requests, one connection
                sock.sendall(_request(json.dumps({"text": "see you "}).encode(), origin))
                status, headers, body = _read_answer(sock)
                assert status == 503
                assert headers["retry-after"] == "1"
                assert headers["content-type"] == "application/json"
                assert json.loads(body)["error"] == "busy"
                assert "connection" not in headers  # kept alive
                assert headers.get("access-control-allow-origin") == (ORIGIN if origin else None)
        # Counted as refusals, never seen by the app (its admission layer, per-route metrics).
        assert APP_SAW == []
        assert _metric(host, port, "kbd_lm_errors_total", code="busy") == 2
        assert _metric(host, port, "kbd_lm_http_requests_total", method="POST") == served


def test_a_chunked_request_is_refused_by_the_app_layer(tiny_bundle, monkeypatch):
    body = json.dumps({"text": "see you "}).encode()
    chunked = (
        b"POST /v1/predict-next HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n" + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"
    )
    with refusing_server(tiny_bundle, monkeypatch) as (host, port):
        with socket.create_connection((host, port), timeout=10) as sock:
            sock.sendall(chunked)
            status, headers, body = _read_answer(sock)
        assert status == 503 and headers["retry-after"] == "1"
        assert json.loads(body)["error"] == "busy"
        assert APP_SAW == ["/v1/predict-next"]


@pytest.mark.parametrize("path", ["/v1/model", "/v1/predict-next?x=1"])
def test_other_requests_go_to_the_app(tiny_bundle, monkeypatch, path):
    """Only the plain prediction path is refused at the connection; a query string goes to
    the app (whose admission still refuses it), any other route is served."""
    with (
        refusing_server(tiny_bundle, monkeypatch) as (host, port),
        socket.create_connection((host, port), timeout=10) as sock,
    ):
        if path == "/v1/model":
            sock.sendall(b"GET /v1/model HTTP/1.1\r\nHost: t\r\n\r\n")
            assert _read_answer(sock)[0] == 200
        else:
            request = _request(json.dumps({"text": "hi "}).encode())
            sock.sendall(request.replace(b"/v1/predict-next", path.encode(), 1))
            assert _read_answer(sock)[0] == 503
            assert APP_SAW == ["/v1/predict-next"]
