"""`beamshell listen`: print one line per scan-data event of a session, as scans happen."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, TextIO

import numpy as np
import redis

from beamshell.config.redis_access import mask_secrets
from beamshell.data.connection import describe_url, explain_failure
from beamshell.data.events import ChannelData, Event
from beamshell.data.node import DataNode, get_session_node
from beamshell.data.walk import Walker
from beamshell.errors import BeamshellError


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


def format_event(event: Event, node: DataNode, data: Any) -> str:
    """One line: time, event, node db_name, and what is new."""
    line = f"{_clock()} {event.value:<8} {node.db_name}"
    if event is Event.NEW_NODE:
        return f"{line} ({node.type})"
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


def run_listen(
    session_name: str,
    redis_url: str | None = None,
    out: TextIO = sys.stdout,
    stop_event: Any = None,
) -> int:
    """Print the session's events, from its newest scan on, until Ctrl-C or `stop_event`.

    Returns the exit status: 0 when stopped, 1 (message on stderr) if Redis cannot be used.
    """
    session = None
    try:
        session = get_session_node(session_name, redis_url=redis_url)
        walker = session.walk_events(from_last=True)
        if stop_event is not None:
            _stop_when_set(stop_event, walker)
        url = describe_url(session.connection)
        print(f"listening to session '{session_name}' at {url} (Ctrl-C to stop)", file=out)
        out.flush()
        for event, node, data in walker:
            out.write(format_event(event, node, data) + "\n")
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
