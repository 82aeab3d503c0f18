"""The file writer's voice in Redis: its claim on a session, its state, and its events.

The writer of a session holds a short-lived claim key (renewed by its heartbeat), so a
second writer, on this machine or another one, never writes the same session's files at
once; when the writer dies its claim expires. It appends what happened (a scan saved, an
error, a recovery) to a capped stream that the session's shells follow with a blocking
XREAD: that is how an operator hears "cannot write ...: Permission denied".
"""

from __future__ import annotations

import json
import os
import socket
import time
from typing import TYPE_CHECKING, Any, cast

import redis

from beamshell.data.connection import StreamEntry, reply_text, stream_replies
from beamshell.data.keys import prefix_of

if TYPE_CHECKING:
    from redis.typing import EncodableT, FieldT

CLAIM_TTL_S = 10.0
HEARTBEAT_S = 2.0
EVENTS_MAXLEN = 1000
BLOCK_SLICE_S = 1.0

SAVED = "saved"
ERROR = "error"
RECOVERED = "recovered"
STARTED = "started"
STOPPED = "stopped"


def claim_key(session: str, prefix: str = "") -> str:
    return f"{prefix}beamshell:writer:{session}"


def events_key(session: str, prefix: str = "") -> str:
    return f"{prefix}beamshell:writer:{session}:events"


class WriterClaimed(Exception):
    """Another writer holds the session's claim."""

    def __init__(self, session: str, owner: dict[str, Any]):
        self.owner = owner
        who = f"on {owner.get('host', '?')} (pid {owner.get('pid', '?')})"
        super().__init__(f"a writer already runs for session '{session}' {who}")


class WriterVoice:
    """The writer's side: claim the session, renew the claim, report events."""

    def __init__(self, connection: redis.Redis, session: str, **description: Any):
        self._redis = connection
        self.session = session
        self._claim = claim_key(session, prefix_of(connection))
        self._events = events_key(session, prefix_of(connection))
        self.owner = {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started": time.time(),
            **description,
        }
        self._token = json.dumps(self.owner, sort_keys=True)

    def claim(self) -> None:
        """Take the session's claim, or raise WriterClaimed naming the holder.

        A claim left by a writer of this machine that is dead (kill -9) is taken over at
        once; one from another machine expires within CLAIM_TTL_S.
        """
        key = self._claim
        ttl_ms = int(CLAIM_TTL_S * 1000)
        if self._redis.set(key, self._token, nx=True, px=ttl_ms):
            return
        with self._redis.pipeline(transaction=True) as pipe:
            try:
                pipe.watch(key)  # type: ignore[no-untyped-call]  # unannotated in redis-py
                current = pipe.get(key)
                owner = _decode_owner(current)
                if (
                    current is not None
                    and reply_text(current) != self._token
                    and not _dead_here(owner)
                ):
                    raise WriterClaimed(self.session, owner)
                pipe.multi()
                pipe.set(key, self._token, px=ttl_ms)
                pipe.execute()
            except redis.WatchError:  # another writer moved first
                raise WriterClaimed(self.session, _decode_owner(self._redis.get(key))) from None

    def renew(self) -> bool:
        """Extend the claim; False if it was lost (expired and taken by another writer)."""
        pipe = self._redis.pipeline(transaction=True)
        key = self._claim
        pipe.get(key)
        pipe.pexpire(key, int(CLAIM_TTL_S * 1000))
        current, _ = pipe.execute()
        if current is None:
            # Expired (the writer was stopped, or Redis restarted): take it again if free.
            return bool(self._redis.set(key, self._token, nx=True, px=int(CLAIM_TTL_S * 1000)))
        return reply_text(current) == self._token

    def release(self) -> None:
        current = self._redis.get(self._claim)
        if current is not None and reply_text(current) == self._token:
            self._redis.delete(self._claim)

    def report(self, kind: str, message: str = "", **fields: Any) -> None:
        """Append one event (kind, message, scan, filename, ...) for the shells to read."""
        entry = {"kind": kind, "message": message, "time": time.time(), **fields}
        encoded: dict[FieldT, EncodableT] = {key: json.dumps(value) for key, value in entry.items()}
        self._redis.xadd(self._events, encoded, maxlen=EVENTS_MAXLEN, approximate=True)


def _decode_owner(raw: bytes | str | None) -> dict[str, Any]:
    if raw is None:
        return {}
    try:
        owner = json.loads(reply_text(raw))
    except ValueError:
        return {}
    return owner if isinstance(owner, dict) else {}


def _dead_here(owner: dict[str, Any]) -> bool:
    """True if the claim's owner was a process of this machine that no longer runs."""
    pid = owner.get("pid")
    if owner.get("host") != socket.gethostname() or not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:  # a killed child not yet reaped by its parent is a zombie: dead too
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False


def writer_owner(connection: redis.Redis, session: str) -> dict[str, Any] | None:
    """Who writes the session's files now (host, pid, started), or None if no writer runs."""
    raw = connection.get(claim_key(session, prefix_of(connection)))
    return _decode_owner(raw) if raw is not None else None


def last_event_id(connection: redis.Redis, session: str) -> str:
    """The ID of the newest event, to follow only what comes after it."""
    key = events_key(session, prefix_of(connection))
    newest = cast(list[StreamEntry], connection.xrevrange(key, count=1))
    return reply_text(newest[0][0]) if newest else "0-0"


def scans_in_error(connection: redis.Redis, session: str) -> set[str]:
    """Scans (db names) whose newest event is an error: no writer has said since that they
    were saved. A writer that starts reports their recovery (the stream is capped: cheap)."""
    newest: dict[str, str] = {}
    entries = cast(list[StreamEntry], connection.xrange(events_key(session, prefix_of(connection))))
    for _, fields in entries:
        text = {reply_text(key): reply_text(value) for key, value in fields.items()}
        try:
            kind = json.loads(text.get("kind", '""'))
            scan = json.loads(text.get("scan", '""'))
        except ValueError:
            continue  # not written by a writer: ignored, never evaluated
        if isinstance(scan, str) and scan and isinstance(kind, str):
            newest[scan] = kind
    return {scan for scan, kind in newest.items() if kind == ERROR}


def read_events(
    connection: redis.Redis, session: str, after: str, block_s: float | None = BLOCK_SLICE_S
) -> list[tuple[str, dict[str, Any]]]:
    """Events after ID `after`; with `block_s`, wait up to that long for the first one.

    A follower calls this in a loop: each call blocks on the server for one slice (well
    inside the client's socket timeout), never polls.
    """
    block = None if block_s is None else max(1, int(block_s * 1000))
    reply = connection.xread({events_key(session, prefix_of(connection)): after}, block=block)
    events = []
    for _, entries in stream_replies(reply):
        for entry_id, fields in entries:
            decoded = {}
            for key, value in fields.items():
                try:
                    decoded[reply_text(key)] = json.loads(reply_text(value))
                except ValueError:
                    decoded[reply_text(key)] = reply_text(value)  # shown as text, never evaluated
            events.append((reply_text(entry_id), decoded))
    return events
