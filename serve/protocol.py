"""Refusals at the connection: uvicorn's HTTP protocol (httptools) with the admission check
made as soon as a request's head is parsed, before uvicorn builds a request cycle and a task
for the app.

Why: past a few hundred connections that resend at once, a server answers over a thousand
refusals a second, and each one that goes through the ASGI machinery (a task, the receive and
send calls, the response's header checks) costs the event loop, and through the interpreter
lock the predictors, about 90 us of a core (0.9.0, 2-core AMD EPYC). Here a refusal is the
head's parse, the same decision as :class:`~kbd_lm.serve.admission.Admission`'s, and one
write of bytes prepared once; its body is read and dropped, and the 503 waits the pacer's
delay on a timer.

Only the plain case is refused here: ``POST`` to the prediction path as sent (no query, no
percent-escapes), a body of known and small length, no ``Expect: 100-continue``; everything
else, and every request this check admits, goes to the app, where the ASGI layer decides again
(the same rule, a moment later) and refuses what it must in the usual way.

>>> config = uvicorn.Config(app, http=AdmissionProtocol)      # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import socket

from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol

from kbd_lm.serve import admission

# The event loop uvicorn runs: Python's own. With suggestions run on the loop (executor "loop",
# kbd_lm.serve.pool) the loop is busy most of the time under overload, and uvloop 0.23 then
# stopped accepting new connections: of 1,024 opened at once, 400 to 900 stayed in the listen
# queue for a whole 10-second run, their requests unanswered; asyncio's loop accepted them all
# (0.9.0, 2-core AMD EPYC; it also answered more requests a second at 8 connections).
EVENT_LOOP = "asyncio"
# With several server processes: the loop of each, listening on a socket of its own
# (see ReusePortEventLoop).
REUSE_PORT_EVENT_LOOP = "kbd_lm.serve.protocol:ReusePortEventLoop"
# A refused request's body is read and dropped; a longer one (a prediction's is about 100
# bytes) goes to the app, which answers 413 or reads it.
MAX_DROPPED_BODY = 16_384


def reuse_port_socket(host: str, port: int, exclusive: bool = False) -> socket.socket:
    """A TCP socket bound to ``host:port`` with ``SO_REUSEPORT``, not listening (so no
    connection is queued on it): what the server processes' own listening sockets
    (:class:`ReusePortEventLoop`) are bound beside.

    ``exclusive``: first check that no other socket holds the port (one without
    ``SO_REUSEPORT`` cannot bind beside any): a second server started on a busy port must
    fail, not join the first one's group. Raises OSError when the port cannot be bound.

    >>> with reuse_port_socket("127.0.0.1", 0) as sock:
    ...     sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)
    1
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    if exclusive and port:
        with socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.set_inheritable(True)
    return sock


class ReusePortEventLoop(asyncio.SelectorEventLoop):
    """asyncio's event loop that, given the parent's ``SO_REUSEPORT`` socket to serve on
    (:func:`reuse_port_socket`), listens on a socket of its own bound to the same address.

    Why: with one listening socket shared by several processes, each new connection goes to
    the process that accepts it first, and an idle process accepts a whole burst before
    another wakes: 8 connections all landed on one of 2 processes in about one run of three,
    half the machine idle (0.9.0, 2-core AMD EPYC), and accepting one connection per turn
    to prevent it left a burst of 512 waiting up to 2 s to be accepted. With a socket per
    process in one ``SO_REUSEPORT`` group, the kernel spreads new connections over the
    processes by their addresses (as nginx's ``listen ... reuseport`` does), and each
    process accepts what is its own at once. A process that dies takes only the connections
    queued on its socket with it; new ones go to the others until it is replaced.
    """

    async def create_server(self, protocol_factory, host=None, port=None, *, sock=None, **kw):
        if sock is not None and sock.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT):
            sock = reuse_port_socket(*sock.getsockname()[:2])
        return await super().create_server(protocol_factory, host, port, sock=sock, **kw)


def find_admission(app) -> admission.Admission | None:
    """The :class:`~kbd_lm.serve.admission.Admission` layer of the app that uvicorn runs (its
    wrappers have ``app``; the FastAPI app's ``state`` holds the layer once the middleware stack
    is built, at the lifespan's start), or None."""
    for _ in range(8):  # uvicorn's wrappers: proxy headers, message logger
        state = getattr(app, "state", None)
        if state is not None and hasattr(state, "admission"):
            return state.admission
        app = getattr(app, "app", None)
        if app is None:
            return None
    return None


class _Discard:
    """A request body that keeps nothing (``body += chunk`` is a no-op, its length 0)."""

    def __iadd__(self, chunk: bytes) -> _Discard:
        return self

    def __len__(self) -> int:
        return 0


class HeldRefusal:
    """Stands in for uvicorn's request cycle of a refused request: the protocol's parser
    callbacks drop its body into it and set its ``message_event`` (this object) when the
    request is complete or the connection is lost; then the 503 is written after ``delay``
    seconds, and the connection carries the next request (or closes, if it must)."""

    def __init__(self, protocol: AdmissionProtocol, delay: float, head: bytes, keep_alive: bool):
        self.protocol, self.delay, self.head = protocol, delay, head
        self.body, self.message_event = _Discard(), self
        self.more_body, self.disconnected, self.response_complete = True, False, False
        self._keep_alive, self._due = keep_alive, False

    @property
    def keep_alive(self) -> bool:
        return self._keep_alive

    @keep_alive.setter
    def keep_alive(self, value: bool) -> None:
        # uvicorn's shutdown clears it on every open request: answer a held refusal at once.
        self._keep_alive = value
        if not value and self._due:
            self.send()

    def set(self) -> None:
        """The protocol's signal: the body is complete, or the connection was lost."""
        if self.disconnected or self.more_body or self._due:
            return
        self._due = True
        if self.delay:
            asyncio.get_running_loop().call_later(self.delay, self.send)
        else:
            self.send()

    def send(self) -> None:
        transport = self.protocol.transport
        if self.response_complete or self.disconnected or transport.is_closing():
            return
        self.response_complete = True
        connection = b"" if self._keep_alive else b"connection: close\r\n"
        headers = b"".join(
            b"%s: %s\r\n" % pair for pair in self.protocol.server_state.default_headers
        )
        head = (STATUS_LINE[503], headers, self.head, connection, b"\r\n", admission.REFUSAL_BODY)
        transport.write(b"".join(head))  # one write: one system call
        if not self._keep_alive:
            transport.close()
        self.protocol.on_response_complete()


class AdmissionProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol that refuses a plain prediction request the app's
    admission would refuse, without starting the app (see the module docstring)."""

    _layer: admission.Admission | None = None  # the app's admission layer, once found

    def on_headers_complete(self) -> None:
        if self._layer is None:  # looked up once per connection, not per request
            self._layer = find_admission(self.app)
        layer = self._layer
        busy = self.cycle is not None and not self.cycle.response_complete  # pipelined
        if layer is None or busy or not self._plain_prediction(layer.path):
            super().on_headers_complete()
            return
        self.scope["method"] = "POST"
        self.scope["path"] = layer.path
        if not layer.guards(self.scope):
            super().on_headers_complete()
            return
        if not layer.should_refuse(self.scope):
            self.scope[admission.PASSED] = True
            layer.passed += 1
            super().on_headers_complete()
            return
        delay = layer.note_refusal(self.client)
        head = admission.refusal_head(self.scope, layer.cors_origins)
        self.cycle = HeldRefusal(self, delay, head, self.parser.should_keep_alive())

    def _plain_prediction(self, path: str) -> bool:
        if self.url != path.encode() or self.parser.get_method() != b"POST":
            return False
        if self.parser.get_http_version() != "1.1" or self.expect_100_continue:
            return False
        length = next((v for k, v in self.headers if k == b"content-length"), None)
        return length is not None and length.isdigit() and int(length) <= MAX_DROPPED_BODY
