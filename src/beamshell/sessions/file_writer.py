"""The session's side of the file writer: make sure one runs, and relay what it reports.

The writer is its own detached process (`python -m beamshell.writer`), one per session,
that outlives the shell. Opening a session starts it unless one already holds the
session's claim in Redis; a greenlet of the session then follows the writer's events in
Redis and prints its errors and recoveries as one line each.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

import gevent
import redis

from beamshell.config.daemon import DaemonLaunch, DaemonStartError, session_daemon
from beamshell.config.redis_access import REDIS_URL_ENV
from beamshell.data import writer_status
from beamshell.errors import BeamshellError

AUTOSTART_ENV = "BEAMSHELL_WRITER_AUTOSTART"  # "0": never start a writer from a session

log = logging.getLogger(__name__)


class FileWriterLink:
    """Starts the session's writer if needed; prints what it reports."""

    def __init__(
        self, session_name: str, config_dir: Path, connection: redis.Redis, redis_url: str
    ):
        self.session_name = session_name
        self.config_dir = Path(config_dir)
        self._redis = connection
        self._redis_url = redis_url
        self._daemon = session_daemon("writer", session_name, self.config_dir)
        self._greenlets: list[gevent.Greenlet[..., None]] = []
        self._launch: _Launch | None = None

    def owner(self) -> dict[str, Any] | None:
        try:
            return writer_status.writer_owner(self._redis, self.session_name)
        except (redis.RedisError, OSError):
            return None

    def state(self) -> str:
        """ "running", "starting" (launched by this session, not ready yet) or "not running"."""
        if self.owner() is not None:
            return "running"
        if self._launch is not None and not self._launch.ready():
            return "starting"
        return "not running"

    def describe(self) -> str:
        owner = self.owner()
        if owner is None:
            return self.state()
        return f"running, pid {owner.get('pid')} on {owner.get('host')}"

    def ensure_running(self, writer_setting: str) -> str:
        """Start the writer unless one runs; return the line for the session's load report."""
        if writer_setting == "null":
            return "Writer: none (SCAN_SAVING.writer is null): scans are not saved to files"
        owner = self.owner()
        if owner is not None:
            return f"Writer: running (pid {owner.get('pid')} on {owner.get('host')})"
        if os.environ.get(AUTOSTART_ENV) == "0":
            return (
                f"Writer: not running ({AUTOSTART_ENV}=0): start it with "
                f"'beamshell writer start -s {self.session_name}'"
            )
        try:
            # The writer follows the session's own Redis (given in the environment, never
            # on its command line, which other users may read).
            env = dict(os.environ, **{REDIS_URL_ENV: self._redis_url})
            launch = self._daemon.spawn(env=env)
        except OSError as exc:
            return f"ERROR writer: cannot start ({exc})"
        self._launch = _Launch(launch)
        self._greenlets.append(self._launch.greenlet)
        return f"Writer: starting (pid {launch.pid}, log {self._daemon.log_file})"

    def follow(self) -> None:
        """Print the writer's errors and recoveries from now on (until close())."""
        after = writer_status.last_event_id(self._redis, self.session_name)  # now, not later
        self._greenlets.append(gevent.spawn(self._follow, after))

    def _follow(self, after: str) -> None:
        while True:
            try:
                events = writer_status.read_events(self._redis, self.session_name, after)
            except (redis.RedisError, OSError, BeamshellError) as exc:
                # Redis went away: the session reports that by itself; listen again later.
                log.info("not following the writer's events: %s", exc)
                gevent.sleep(1.0)
                continue
            for event_id, event in events:
                after = event_id
                kind = event.get("kind")
                if kind == writer_status.ERROR:
                    _say(f"!!! writer: {event.get('message')}")
                elif kind == writer_status.RECOVERED:
                    _say(f"writer: {event.get('message')}")

    def close(self) -> None:
        gevent.killall(self._greenlets)
        self._greenlets = []


class _Launch:
    """A writer this session started: it reports a failed start above the prompt."""

    def __init__(self, launch: DaemonLaunch):
        self._launch = launch
        self.greenlet = gevent.spawn(self._wait)

    def ready(self) -> bool:
        return self.greenlet.dead

    def _wait(self) -> None:
        try:
            self._launch.wait_ready()
        except DaemonStartError as exc:
            _say(f"!!! writer: {exc}")


def _say(line: str) -> None:
    print(line, file=sys.stdout, flush=True)
