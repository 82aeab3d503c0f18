"""`beamshell listen`: print one line per scan-data event of a session, as scans happen.

It starts where an operator expects: a finished last scan is named, not replayed as if it
happened now; a scan still running is caught up with lines marked `replay` (the time
column would lie), then followed live; a session without scans is said to have none.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, TextIO, cast

import numpy as np
import redis

from beamshell.config.redis_access import mask_secrets
from beamshell.data.connection import StreamEntry, describe_url, explain_failure, reply_text
from beamshell.data.events import ChannelData, Event
from beamshell.data.keys import children_key, prefix_of
from beamshell.data.node import DataNode, SessionNode, get_session_node
from beamshell.data.walk import Walker
from beamshell.errors import BeamshellError

REPLAY = "replay"
_FINAL_STATES = frozenset({"DONE", "ABORTED", "KILLED"})
_NEWEST_CHILDREN = 512


def _clock() -> str:
    now = time.time()
    return time.strftime("%H:%M:%S", time.localtime(now)) + f".{int(now % 1 * 1000):03d}"


def _last_value(data: ChannelData) -> str:
    last = data.data[-1]
    if isinstance(last, DataNode):
        return f"last={last.db_name}"
    if isinstance(last, np.ndarray) and last.shape:
        return f"last shape {last.shape}"
    return f"last={last.item() if isinstance(last, np.generic) else last!r}"


def format_event(event: Event, node: DataNode, data: Any, replay: bool = False) -> str:
    """One line: time (or `replay` for what happened before listening), event, node db_name,
    and what is new."""
    when = f"{REPLAY:<12}" if replay else _clock()
    line = f"{when} {event.value:<8} {node.db_name}"
    if event is Event.NEW_NODE:
        started = node.info.get("start_time") if replay and node.type == "scan" else None
        return f"{line} ({node.type}, started {started})" if started else f"{line} ({node.type})"
    if event is Event.NEW_DATA:
        return f"{line} [{data.first_index}..{data.last_index}] {_last_value(data)}"
    state = node.info.get("state")  # read after END_SCAN: the final state
    return f"{line} state={state}" if state is not None else line


def _stop_when_set(stop_event: Any, walker: Walker) -> None:
    """Stop the walker once `stop_event` (a gevent or threading Event) is set."""

    def wait_then_stop() -> None:
        stop_event.wait()
        walker.stop()

    import gevent.event

    if isinstance(stop_event, gevent.event.Event):
        import gevent

        gevent.spawn(wait_then_stop)
    else:
        threading.Thread(target=wait_then_stop, daemon=True, name="listen-stop").start()


def _describe_scan(node: DataNode, info: dict[str, Any]) -> str:
    number = info.get("scan_nb")
    title = info.get("title")
    what = " ".join(str(part) for part in (number, f"'{title}'" if title else None) if part)
    return what or node.db_name


def _start(session: SessionNode) -> tuple[str, dict[str, Any]]:
    """Where to start following, and the line that says so: (status line, walk_events options)."""
    client = session.connection
    name = session.db_name
    key = children_key(name, prefix_of(client))
    newest = cast(list[StreamEntry], client.xrevrange(key, count=_NEWEST_CHILDREN))
    last = next(
        ((entry_id, fields) for entry_id, fields in newest if fields.get(b"e") == b"new"), None
    )
    if last is None:
        return f"session '{name}' has no scans yet: waiting for its first scan", {}
    entry_id, fields = last
    node = session.node_for(reply_text(fields[b"db"]), reply_text(fields[b"t"]))
    info = node.info
    state = info.get("state")
    what = _describe_scan(node, info)
    if state not in _FINAL_STATES and info:
        return (
            f"scan {what} of session '{name}' is running (started {info.get('start_time')}): "
            f"its events so far are marked '{REPLAY}', then live",
            {"from_last": True},
        )
    ended = f", ended {info['end_time']}" if info.get("end_time") else ""
    return (
        f"last scan of session '{name}': {what} {state or 'expired'}{ended}: "
        "waiting for the next scan",
        {"after": entry_id},
    )


def run_listen(
    session_name: str,
    redis_url: str | None = None,
    out: TextIO = sys.stdout,
    stop_event: Any = None,
) -> int:
    """Print the session's events, from its running scan or the next one on, until Ctrl-C or
    `stop_event`.

    Returns the exit status: 0 when stopped, 1 (message on stderr) if Redis cannot be used.
    """
    session = None
    try:
        session = get_session_node(session_name, redis_url=redis_url)
        status, options = _start(session)
        walker = session.walk_events(**options)
        if stop_event is not None:
            _stop_when_set(stop_event, walker)
        url = describe_url(session.connection)
        print(f"listening to session '{session_name}' at {url} (Ctrl-C to stop)", file=out)
        print(status, file=out)
        out.flush()
        # Only a scan running when listening began is caught up (replayed); one that began
        # after the status line, even before the walker's first read, is news.
        catching_up = bool(options.get("from_last"))
        for event, node, data in walker:
            replay = catching_up and not walker.live
            out.write(format_event(event, node, data, replay=replay) + "\n")
            out.flush()
    except KeyboardInterrupt:
        return 0
    except (BeamshellError, ValueError) as exc:
        print(f"beamshell listen: {mask_secrets(str(exc))}", file=sys.stderr)
        return 1
    except redis.RedisError as exc:  # a command refused by the server's ACL, say
        shown = explain_failure(session.connection, exc) if session is not None else None
        print(f"beamshell listen: {mask_secrets(str(shown or exc))}", file=sys.stderr)
        return 1
    return 0
