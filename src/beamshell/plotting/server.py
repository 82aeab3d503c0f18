"""The plot server's HTTP side: the page, its static files, the event stream, scans on demand.

A page's event stream (`/events?select=1`) carries the points of the channels the page
shows only; it names them with `POST /api/view?client=ID` ({"channels": [...]}). The
follower reads from Redis the channels some page shows, and one for the progress.

A WSGI application served by gevent's pywsgi (gevent is already beamshell's concurrency
library, so the server costs no new dependency). Every request must carry the session's
token (`?token=...`); the page's own URLs carry it.
"""

from __future__ import annotations

import gzip
import hmac
import json
import logging
import mimetypes
import sys
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from importlib import resources
from typing import Any
from urllib.parse import parse_qs

from beamshell.data.errors import NodeNotFound
from beamshell.plotting.follower import SessionFollower
from beamshell.plotting.markers import MarkerCache
from beamshell.plotting.messages import PageCursor, finite, scan_data
from beamshell.plotting.model import SessionModel

log = logging.getLogger("beamshell.plotting")

# A page gets at most this many updates per second: enough to look live (>= 5 a second),
# few enough that a fast scan never floods a browser (points are batched, never dropped).
UPDATES_PER_S = 8
KEEPALIVE_S = 15.0  # an idle stream sends a comment this often (proxies, dead clients)
MAX_PAGES = 32
MAX_VIEW_BYTES = 64 * 1024  # a page's list of shown channels: names, never data
STATIC_FILES = {
    "plotly-cartesian.min.js",
    "uPlot.iife.min.js",
    "uPlot.min.css",
    "curves.js",
    "plot.js",
    "plot.css",
    "LICENSE.plotly.txt",
    "LICENSE.uPlot.txt",
    "VENDORED.txt",
}
SECURITY_HEADERS = [
    ("Referrer-Policy", "no-referrer"),  # the token must not leak to other sites
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    (
        "Content-Security-Policy",
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "frame-ancestors 'none'",
    ),
]

StartResponse = Callable[..., Any]


def _beamshell_modules() -> list[str]:
    return sorted(name for name in sys.modules if name.startswith("beamshell."))


class PlotApp:
    """The WSGI application of one session's plot server."""

    def __init__(self, model: SessionModel, follower: SessionFollower, token: str):
        self.model = model
        self.follower = follower
        self._token = token
        self._pages: dict[str, PageCursor] = {}  # client id -> what that page was sent
        self._static_cache: dict[tuple[str, bool], bytes] = {}
        self._marker_cache = MarkerCache()

    # ---- WSGI --------------------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        query = parse_qs(environ.get("QUERY_STRING", ""))
        given = (query.get("token") or [""])[0]
        if not hmac.compare_digest(given.encode(), self._token.encode()):
            return self._plain(
                start_response,
                "403 Forbidden",
                "This plot page needs its token: open the URL that `beamshell plot status` "
                "or plot_page() prints.\n",
            )
        method = environ.get("REQUEST_METHOD", "GET")
        path = environ.get("PATH_INFO", "/")
        if path == "/api/view":
            if method != "POST":
                return self._plain(start_response, "405 Method Not Allowed", "POST only\n")
            return self._view(start_response, environ, (query.get("client") or [""])[0])
        if method not in ("GET", "HEAD"):
            return self._plain(start_response, "405 Method Not Allowed", "GET only\n")
        if path == "/":
            return self._index(start_response)
        if path.startswith("/static/"):
            gzip_ok = "gzip" in environ.get("HTTP_ACCEPT_ENCODING", "")
            return self._static(start_response, path[len("/static/") :], gzip_ok)
        if path == "/events":
            return self._events(start_response, select=bool(query.get("select")))
        if path == "/api/scan":
            return self._scan(start_response, (query.get("id") or [""])[0])
        if path == "/api/markers":
            return self._markers(start_response, query)
        if path == "/api/health":
            return self._json(start_response, self.health())
        return self._plain(start_response, "404 Not Found", f"no such page: {path}\n")

    def health(self) -> dict[str, Any]:
        """The server's own state (also proves which modules the process imported)."""
        live = self.model.live
        return {
            "session": self.model.session,
            "pages": len(self._pages),
            "live": live.id if live is not None else None,
            # Of the live scan, the channels whose points are not read (no page shows them).
            "unread": sorted(live.unread) if live is not None else [],
            "error": self.model.error,
            "history": len(self.model.history),
            "beamshell_modules": _beamshell_modules(),
        }

    # ---- responses ---------------------------------------------------------------------
    @staticmethod
    def _plain(start_response: StartResponse, status: str, text: str) -> list[bytes]:
        body = text.encode()
        start_response(
            status,
            [
                ("Content-Type", "text/plain; charset=utf-8"),
                ("Content-Length", str(len(body))),
                ("Cache-Control", "no-store"),
                *SECURITY_HEADERS,
            ],
        )
        return [body]

    @staticmethod
    def _json(start_response: StartResponse, payload: Any) -> list[bytes]:
        body = json.dumps(finite(payload), separators=(",", ":"), allow_nan=False).encode()
        start_response(
            "200 OK",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(body))),
                ("Cache-Control", "no-store"),
                *SECURITY_HEADERS,
            ],
        )
        return [body]

    def _index(self, start_response: StartResponse) -> list[bytes]:
        html = _read_static("index.html").decode()
        html = html.replace("{{TOKEN}}", _html_escape(self._token))
        body = html.replace("{{SESSION}}", _html_escape(self.model.session)).encode()
        start_response(
            "200 OK",
            [
                ("Content-Type", "text/html; charset=utf-8"),
                ("Content-Length", str(len(body))),
                ("Cache-Control", "no-store"),
                *SECURITY_HEADERS,
            ],
        )
        return [body]

    def _static(self, start_response: StartResponse, name: str, gzip_ok: bool) -> list[bytes]:
        if name not in STATIC_FILES:
            return self._plain(start_response, "404 Not Found", f"no such file: {name}\n")
        compress = gzip_ok and name.endswith((".js", ".css"))
        key = (name, compress)
        body = self._static_cache.get(key)
        if body is None:
            body = _read_static(name)
            if compress:
                body = gzip.compress(body, compresslevel=6)
            self._static_cache[key] = body
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or name.endswith(".js"):
            content_type += "; charset=utf-8"
        headers = [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-cache"),
            *SECURITY_HEADERS,
        ]
        if compress:
            headers += [("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")]
        start_response("200 OK", headers)
        return [body]

    def _scan(self, start_response: StartResponse, scan_id: str) -> list[bytes]:
        try:
            scan = self.follower.load(scan_id)
        except NodeNotFound:
            return self._plain(
                start_response, "404 Not Found", f"no scan '{scan_id}' in this session (expired?)\n"
            )
        return self._json(start_response, scan_data(scan))

    def _markers(self, start_response: StartResponse, query: dict[str, list[str]]) -> list[bytes]:
        first = {key: (values or [""])[0] for key, values in query.items()}
        counters = [c for c in first.get("counters", "").split(",") if c]
        try:
            scan = self.follower.load(first.get("id", ""), whole=False)
            markers = self._marker_cache.markers(
                scan, first.get("x", ""), counters, first.get("monitor") or None
            )
        except NodeNotFound:
            return self._plain(start_response, "404 Not Found", "no such scan (expired?)\n")
        except KeyError as exc:
            return self._plain(start_response, "404 Not Found", f"{exc.args[0]}\n")
        except ImportError:  # an installation without beamshell.analysis: no markers
            return self._plain(start_response, "404 Not Found", "no peak analysis here\n")
        return self._json(start_response, markers)

    def _view(
        self, start_response: StartResponse, environ: dict[str, Any], client_id: str
    ) -> list[bytes]:
        """A page says which channels it shows: its stream sends only theirs from now on."""
        cursor = self._pages.get(client_id)
        if cursor is None:
            return self._plain(start_response, "404 Not Found", "no such page (reconnected?)\n")
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = -1
        if not 0 < length <= MAX_VIEW_BYTES:
            return self._plain(start_response, "400 Bad Request", "expected a JSON body\n")
        try:
            channels = json.loads(environ["wsgi.input"].read(length))["channels"]
        except (ValueError, KeyError, TypeError):
            channels = None
        if not (isinstance(channels, list) and all(isinstance(c, str) for c in channels)):
            return self._plain(
                start_response, "400 Bad Request", 'expected {"channels": [names]}\n'
            )
        cursor.show_channels(channels)
        self._read_shown_channels()
        self.model.changed.notify()  # the page's stream sends the new channels now
        return self._json(start_response, {"channels": sorted(set(channels))})

    def _events(self, start_response: StartResponse, select: bool) -> Iterator[bytes]:
        if len(self._pages) >= MAX_PAGES:
            return iter(
                self._plain(
                    start_response, "503 Service Unavailable", f"more than {MAX_PAGES} pages open\n"
                )
            )
        start_response(
            "200 OK",
            [
                ("Content-Type", "text/event-stream"),
                ("Cache-Control", "no-store"),
                ("X-Accel-Buffering", "no"),
                *SECURITY_HEADERS,
            ],
        )
        return self._stream(uuid.uuid4().hex, select)

    def _stream(self, client_id: str, select: bool) -> Iterator[bytes]:
        """One page's updates: wait for a change, send what it lacks, a few times a second."""
        cursor = PageCursor(self.model, client_id, select)
        self._pages[client_id] = cursor
        self._read_shown_channels()
        log.info("page %s connected (%d open)", client_id[:8], len(self._pages))
        try:
            yield b"retry: 2000\n\n"
            interval = 1.0 / UPDATES_PER_S
            while True:
                changed = self.model.changed.current()  # before reading: no change is missed
                ended = self.model.ended.current()
                started = time.monotonic()
                events = cursor.updates()
                if events:
                    yield b"".join(events)
                elif not changed.wait(KEEPALIVE_S):
                    yield b": keepalive\n\n"
                    continue
                # Batch what arrives during the interval into the next update; but a scan's
                # end (its final state and last points, which the operator waits for) goes
                # at once.
                rest = interval - (time.monotonic() - started)
                if rest > 0:
                    ended.wait(rest)
        finally:
            self._pages.pop(client_id, None)
            self._read_shown_channels()
            log.info("page %s left (%d open)", client_id[:8], len(self._pages))

    def _read_shown_channels(self) -> None:
        """The follower reads the channels some page shows (all, if a stream takes all)."""
        shown: set[str] = set()
        for cursor in self._pages.values():
            if cursor.shown is None:
                self.follower.show_channels(None)
                return
            shown |= cursor.shown
        self.follower.show_channels(frozenset(shown))


def _read_static(name: str) -> bytes:
    return resources.files("beamshell.plotting").joinpath("static", name).read_bytes()


def _html_escape(text: str) -> str:
    import html

    return html.escape(text, quote=True)
