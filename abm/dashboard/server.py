"""Serving the dashboard: Solara's Starlette app in this process, behind a guard.

``abm dashboard`` runs uvicorn in its own process (no child process), so SIGTERM or Ctrl+C stops
the server, its page sessions and their threads together, and the port is free when it exits.
:class:`Guard` wraps Solara's app and enforces, for every request and websocket handshake:

- the ``Host`` header names the address the server is bound to (:func:`host_allowed`), so a
  web page elsewhere cannot reach it through a DNS name rebound to this machine;
- an ``Origin`` header, if present (browsers always send one on a websocket handshake and a
  POST), names the same host and port as ``Host``: another site's page cannot drive a session;
- Solara's internals page (``/resourcez``) is not served;
- at most ``max_sessions`` pages are open at once (each page holds its own run in memory):
  one more is refused with a page saying so.

A page's session is released when the page closes (Solara's close beacon), or
:data:`PAGE_LINGER` after its connection dropped without one; each release is followed by a
garbage collection and ``malloc_trim``, so the server's memory returns to the system.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import html
import ipaddress
import os
import re
import socket
import sys
import threading
import warnings
from collections import Counter
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

from abm.errors import InputError

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

APP = "abm.dashboard.app"
SOURCE_ENV = "ABM_DASHBOARD_SOURCE"  # the scenario file or run folder the served page opens
PAGE_LINGER = "60s"  # a page whose connection dropped keeps its session this long (a reconnect)
SHUTDOWN_GRACE_S = 2  # open websockets are closed after this long when the server stops
RELEASE_DELAY_S = 1.5  # after a session closes (Solara collects garbage after 1 s)
LOOPBACK_NAMES = frozenset({"localhost", "127.0.0.1", "::1"})
WILDCARDS = frozenset({"0.0.0.0", "::", ""})
INTERNALS = ("/resourcez",)  # Solara's internals: threads, kernels, memory, CPU of the server
KERNEL_SOCKET = re.compile(r"/jupyter/api/kernels/([^/]+)/")
NOT_PAGES = ("/static/", "/_solara/", "/jupyter/", "/readyz")
# No usage reports over the network, no "runs on Solara" banner, no version check on PyPI: the
# page needs no outside address. Set before solara is imported (its settings read them then).
SOLARA_ENV = {"SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False", "SOLARA_THEME_SHOW_BANNER": "False",
              "SOLARA_MODE": "production", "SOLARA_KERNEL_CULL_TIMEOUT": PAGE_LINGER}


def host_name(header: str) -> str:
    """The host name of a ``Host`` header value (``name:port`` or ``[v6]:port``), lower case."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1:].split("]", 1)[0]
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True


def host_allowed(name: str, bound: str, extra: frozenset[str] = frozenset()) -> bool:
    """Whether a request naming host ``name`` may reach a server bound to ``bound``.

    Bound to a loopback address: the loopback names (``localhost``, ``127.0.0.1``, ``::1``).
    Bound to one address: that address. Bound to every interface (``0.0.0.0``, ``::``): any IP
    address (an address cannot be rebound to another machine, a DNS name can) and
    ``localhost``. Names in ``extra`` (``--allow-host``) are allowed in every case.
    """
    name = name.lower()
    bound = bound.lower()
    if name in extra:
        return True
    if bound in LOOPBACK_NAMES:
        return name in LOOPBACK_NAMES
    if bound in WILDCARDS:
        return name == "localhost" or _is_ip(name)
    return name == bound


def origin_allowed(origin: str | None, host_header: str) -> bool:
    """Whether an ``Origin`` header is this server's own: absent (not a browser), or
    ``http(s)://`` and exactly the host and port of the request's ``Host`` header."""
    if origin is None:
        return True
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc.lower() == host_header.lower()


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


async def _respond(send: Send, status: int, body: str, content_type: str = "text/plain") -> None:
    data = body.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", f"{content_type}; charset=utf-8".encode()),
                            (b"content-length", str(len(data)).encode()),
                            (b"cache-control", b"no-store")]})
    await send({"type": "http.response.body", "body": data})


def full_page(max_sessions: int) -> str:
    """The page shown instead of the dashboard when ``max_sessions`` pages are open."""
    return ("<!doctype html><title>Dashboard full</title><div class='dashboard-full' "
            "style='font-family:sans-serif;margin:3em'><h2>The dashboard is full</h2><p>It "
            f"serves at most {max_sessions} page{'s' if max_sessions != 1 else ''} at once "
            f"(abm dashboard --max-sessions {max_sessions}), and that many are open. Close one "
            "of them, then reload this page. A page closed without saying so (a lost "
            f"connection) is released after {html.escape(PAGE_LINGER)}.</p></div>")


class Guard:
    """ASGI middleware in front of Solara's app: host and origin checks, no internals page,
    a cap on open pages (see the module docstring).

    Args:
        app: the wrapped ASGI app.
        bound: the address the server listens on (``--host``).
        max_sessions: the most pages open at once.
        live: the ids of the sessions (Solara kernels) alive now, open or lingering.
        extra_hosts: further host names to accept (``--allow-host``).
    """

    def __init__(self, app: ASGIApp, bound: str, max_sessions: int,
                 live: Callable[[], set[str]], extra_hosts: frozenset[str] = frozenset()) -> None:
        self.app = app
        self.bound = bound
        self.max_sessions = max_sessions
        self.live = live
        self.extra_hosts = extra_hosts
        self.connecting: Counter[str] = Counter()  # sessions whose websocket is open or opening

    def sessions(self) -> set[str]:
        """Sessions alive now: Solara's kernels and websockets not yet attached to one."""
        return self.live() | {k for k, n in self.connecting.items() if n > 0}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):  # lifespan
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        host = headers.get("host", "")
        websocket = scope["type"] == "websocket"
        path = scope.get("path", "")
        problem, status = None, 403
        if not host_allowed(host_name(host), self.bound, self.extra_hosts):
            problem, status = f"host {host!r} is not this dashboard's address", 400
        elif (websocket or scope.get("method") not in ("GET", "HEAD")) and not origin_allowed(
                headers.get("origin"), host):
            problem = f"origin {headers.get('origin')!r} is not this dashboard's page"
        elif path.rstrip("/") in INTERNALS:
            problem, status = "not found", 404
        if problem is not None:
            if websocket:
                await send({"type": "websocket.close", "code": 1008})
            else:
                await _respond(send, status, problem + "\n")
            return
        kernel = KERNEL_SOCKET.match(path) if websocket else None
        if kernel:
            await self._session(kernel.group(1), scope, receive, send)
            return
        if (scope.get("method") == "GET" and not path.startswith(NOT_PAGES)
                and "text/html" in headers.get("accept", "")
                and len(self.sessions()) >= self.max_sessions):
            await _respond(send, 503, full_page(self.max_sessions), "text/html")
            return
        await self.app(scope, receive, send)

    async def _session(self, kernel_id: str, scope: Scope, receive: Receive, send: Send) -> None:
        """A page's websocket: refused if it would open one session more than allowed."""
        sessions = self.sessions()
        if kernel_id not in sessions and len(sessions) >= self.max_sessions:
            await send({"type": "websocket.close", "code": 1013})  # try again later
            return
        self.connecting[kernel_id] += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.connecting[kernel_id] -= 1
            if self.connecting[kernel_id] <= 0:
                del self.connecting[kernel_id]


def release_memory() -> None:
    """Collect garbage, then hand the C heap's free pages back to the system (glibc's
    ``malloc_trim``; nothing elsewhere): Python frees a closed session's objects, but glibc
    keeps the pages in its per-thread arenas unless asked."""
    gc.collect()
    libc = ctypes.util.find_library("c")
    if libc and sys.platform.startswith("linux"):
        trim = getattr(ctypes.CDLL(libc), "malloc_trim", None)
        if trim is not None:
            trim(0)


def _release_later() -> None:
    timer = threading.Timer(RELEASE_DELAY_S, release_memory)
    timer.daemon = True
    timer.start()


def _limit_arenas(arenas: int = 2) -> None:
    """Cap glibc's malloc arenas: each Solara session runs in its own threads, and each new
    thread would otherwise get an arena of its own that fragments and is never returned."""
    libc = ctypes.util.find_library("c")
    if libc and sys.platform.startswith("linux"):
        mallopt = getattr(ctypes.CDLL(libc), "mallopt", None)
        if mallopt is not None:
            mallopt(-8, arenas)  # M_ARENA_MAX


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``.

    Raises:
        InputError: naming ``--port`` or ``--host`` if the address is taken or not this
            machine's.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        field = "--port" if exc.errno == 98 else "--host"  # EADDRINUSE
        raise InputError("abm dashboard", field,
                         f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def serve(source: str | None, host: str, port: int, max_sessions: int,
          extra_hosts: frozenset[str] = frozenset()) -> None:
    """Serve the dashboard on ``host:port`` until SIGTERM or SIGINT (Ctrl+C).

    Args:
        source: the scenario file or run folder every page opens (checked by the caller;
            None: the shipped default scenario).
        host: the address to listen on.
        port: the port.
        max_sessions: the most pages open at once.
        extra_hosts: further host names the ``Host`` header may name.
    """
    sock = bind(host, port)
    os.environ.update(SOLARA_ENV, SOLARA_APP=APP, SERVER_NAME=host, SERVER_PORT=str(port))
    os.environ[SOURCE_ENV] = source or ""
    # Solara warns in 12 lines on every page load over plain http that its session cookie
    # falls back to SameSite=Lax; that is what a dashboard on this machine wants.
    warnings.filterwarnings("ignore", "Cookies with samesite=none require https",
                            UserWarning)
    _limit_arenas()
    import solara.server.kernel_context as kernel_context
    import solara.server.settings as settings
    import solara.server.starlette
    import uvicorn
    from solara.lifecycle import on_kernel_start

    # as SOLARA_ENV says, should solara have been imported before (its settings read then)
    settings.main.mode = "production"
    settings.telemetry.mixpanel_enable = False
    settings.theme.show_banner = False
    settings.kernel.cull_timeout = PAGE_LINGER
    on_kernel_start(lambda: _release_later)  # each session, when it closes
    app = Guard(solara.server.starlette.app, host, max_sessions,
                lambda: set(kernel_context.contexts), extra_hosts)
    config = uvicorn.Config(app, log_level="warning", log_config=None, loop="asyncio",
                            proxy_headers=False, timeout_graceful_shutdown=SHUTDOWN_GRACE_S)
    uvicorn.Server(config).run(sockets=[sock])
