"""The closed-loop generator (kbd_lm.export.bench.closedloop) against a small socket server."""

from __future__ import annotations

import socket
import threading

from kbd_lm.export.bench.closedloop import run_closed_loop

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]"


def _serve(listener: socket.socket) -> None:
    """The first connection gets half an answer, then is closed; the others are answered."""
    first = True
    while True:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        threading.Thread(target=_answer, args=(conn, first), daemon=True).start()
        first = False


def _answer(conn: socket.socket, cut: bool) -> None:
    with conn:
        while True:
            try:
                request = conn.recv(65536)
            except OSError:
                return
            if not request:
                return
            if cut:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 9999\r\n\r\n[")
                return
            conn.sendall(ANSWER)


def test_a_connection_cut_mid_answer_loses_one_request_and_the_next_connection_is_clean():
    """A cut answer counts once as closed; its bytes do not spoil the answers read on the
    connection that replaces it."""
    listener = socket.create_server(("127.0.0.1", 0))
    threading.Thread(target=_serve, args=(listener,), daemon=True).start()
    try:
        port = listener.getsockname()[1]
        result = run_closed_loop(f"http://127.0.0.1:{port}", 1, 1.0, ["see you "], timeout=5.0)
    finally:
        listener.close()
    assert result.other == {"closed": 1}, result
    assert result.ok > 50, result
