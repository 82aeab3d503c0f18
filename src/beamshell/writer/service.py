"""The writer of one session: follows its scans in Redis and keeps each one's file complete.

Started late or restarted, it first goes through every scan still in Redis and completes
the entries that are missing or incomplete; then it follows new scans live. A file that
cannot be written (permission, full disk, missing directory) is reported to the session's
shells through Redis and retried until it works, while the data wait in Redis.
"""

from __future__ import annotations

import datetime
import logging
import os
import time
from pathlib import Path

import gevent
import gevent.event
import redis

from beamshell.data import writer_status
from beamshell.data.connection import describe_url
from beamshell.data.keys import node_key, prefix_of
from beamshell.data.node import DataNode, get_session_node
from beamshell.data.walk import Walker
from beamshell.errors import RedisUnreachable
from beamshell.writer.scan_entry import EntryWriter, scan_destination

log = logging.getLogger(__name__)

RETRY_FIRST_S = 2.0
RETRY_MAX_S = 60.0
RECONNECT_MAX_S = 5.0
SCAN_TYPES = ["scan", "scan_group"]


def kept_until(connection: redis.Redis, db_name: str, now: float | None = None) -> str:
    """When a scan's data leave Redis, in words an operator reads at a glance."""
    ttl = connection.ttl(node_key(db_name, prefix_of(connection)))
    if ttl is None or ttl == -2:
        return "scan data already gone from Redis"
    if ttl == -1:
        return "scan data kept in Redis (no expiry)"
    now = time.time() if now is None else now
    when = datetime.datetime.fromtimestamp(now + ttl)
    today = datetime.datetime.fromtimestamp(now).date()
    if when.date() == today:
        day = "today"
    elif when.date() == today + datetime.timedelta(days=1):
        day = "tomorrow"
    else:
        day = when.strftime("%Y-%m-%d")
    return f"scan data kept in Redis until {when:%H:%M} {day}"


def describe_os_error(exc: OSError, path: Path) -> str:
    """`cannot write <file>: <reason>` in one line (h5py's messages are long)."""
    where = exc.filename or path
    if exc.errno:
        reason = os.strerror(exc.errno)
    else:
        reason = (str(exc).splitlines() or [type(exc).__name__])[0]
    return f"cannot write {where}: {reason}"


class WriterService:
    """Follows session `session` on `connection` and writes its files until stopped."""

    def __init__(self, session: str, connection: redis.Redis, voice: writer_status.WriterVoice):
        self.session = session
        self.connection = connection
        self.voice = voice
        self._tasks: dict[str, gevent.Greenlet[[EntryWriter], None]] = {}
        self._done: set[str] = set()
        self._in_error: set[str] = set()  # the last said of them, by any writer: an error
        self._walker: Walker | None = None
        self._stopped = gevent.event.Event()

    # ---- life ----------------------------------------------------------------------------------
    def run(self) -> None:
        """Follow the session until stop(); survive Redis going away and coming back."""
        heartbeat = gevent.spawn(self._heartbeat)
        delay = 0.1
        try:
            while not self._stopped.is_set():
                try:
                    self._follow_session()
                    delay = 0.1
                except RedisUnreachable as exc:
                    if self._stopped.is_set():
                        break
                    log.warning("Redis lost (%s); waiting for it", exc)
                    self._drop_tasks()
                    self._stopped.wait(delay)  # the server is gone: nothing to block on
                    delay = min(delay * 2, RECONNECT_MAX_S)
        finally:
            heartbeat.kill()
            self._drop_tasks()

    def stop(self) -> None:
        self._stopped.set()
        if self._walker is not None:
            self._walker.stop()

    def _heartbeat(self) -> None:
        while not self._stopped.wait(writer_status.HEARTBEAT_S):
            try:
                if not self.voice.renew():
                    log.error("another writer took session '%s' over: stopping", self.session)
                    self.stop()
            except (redis.RedisError, OSError) as exc:
                log.warning("claim not renewed: %s", exc)

    def _drop_tasks(self) -> None:
        gevent.killall(list(self._tasks.values()), block=True)
        self._tasks.clear()

    # ---- scans ---------------------------------------------------------------------------------
    def _follow_session(self) -> None:
        try:
            self._in_error |= writer_status.scans_in_error(self.connection, self.session)
        except (redis.ConnectionError, redis.TimeoutError) as exc:
            raise RedisUnreachable(describe_url(self.connection), str(exc)) from None
        session = get_session_node(self.session, connection=self.connection)
        self._walker = session.walk(include_filter=SCAN_TYPES, wait=True)
        for node in self._walker:
            try:
                self._consider(node)
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                raise RedisUnreachable(describe_url(self.connection), str(exc)) from None

    def _consider(self, node: DataNode) -> None:
        if node.db_name in self._tasks or node.db_name in self._done:
            return
        if scan_destination(node.info) is None:
            self._done.add(node.db_name)  # save=False, or writer null: nothing to write
            return
        entry = EntryWriter(node)
        if entry.is_complete():
            self._done.add(node.db_name)
            if node.db_name in self._in_error:  # completed by a writer killed before it said so
                self._report_saved(entry, recovered=True)
            return
        log.info("writing %s to %s", node.db_name, entry.path)
        self._tasks[node.db_name] = gevent.spawn(self._write_until_saved, entry)

    def _report_saved(self, entry: EntryWriter, recovered: bool) -> None:
        """Say that an entry is complete: 'recovered' if an error was said about it before."""
        where = f"{entry.dataset_file}::/{entry.entry_name}"
        log.info("scan %s saved in %s", entry.scan_nb, where)
        self.voice.report(
            writer_status.RECOVERED if recovered else writer_status.SAVED,
            f"scan {entry.scan_nb} saved in {where}",
            scan=entry.node.db_name,
            filename=str(entry.dataset_file),
            entry=entry.entry_name,
        )
        self._in_error.discard(entry.node.db_name)

    def _write_until_saved(self, entry: EntryWriter) -> None:
        node = entry.node
        delay = RETRY_FIRST_S
        reported: str | None = None
        try:
            while True:
                try:
                    entry.write()
                    break
                except OSError as exc:
                    message = describe_os_error(exc, entry.path)
                    message += "; " + kept_until(self.connection, node.db_name)
                    if message != reported:
                        log.error("scan %s: %s", entry.scan_nb, message)
                        self.voice.report(
                            writer_status.ERROR,
                            message,
                            scan=node.db_name,
                            filename=str(entry.dataset_file),
                        )
                        reported = message
                    self._stopped.wait(delay)  # a file system does not signal recovery
                    delay = min(delay * 2, RETRY_MAX_S)
                    entry = EntryWriter(node)
            self._report_saved(entry, recovered=bool(reported) or node.db_name in self._in_error)
            self._done.add(node.db_name)
        except (RedisUnreachable, redis.ConnectionError, redis.TimeoutError) as exc:
            log.warning("scan %s: Redis lost while writing (%s)", node.db_name, exc)
        except Exception as exc:  # noqa: BLE001  (one scan's bug must not stop the others)
            log.exception("scan %s: not saved", node.db_name)
            self.voice.report(
                writer_status.ERROR,
                f"scan {entry.scan_nb} not saved: {type(exc).__name__}: {exc}",
                scan=node.db_name,
                filename=str(entry.dataset_file),
            )
        finally:
            self._tasks.pop(node.db_name, None)
