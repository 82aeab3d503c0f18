"""Leases of running scans: the writer renews one while its scan runs; a reader that finds a
scan whose lease expired (its process was killed) ends it KILLED, so that nothing waits forever.

A process killed with SIGKILL, or a machine that loses power, runs no handler: its scans
would stay RUNNING in Redis without END_SCAN, and every follower (listen, the writer, an
analysis script) would wait for them until the data expire. So the writer of a scan holds
a short lease, a key `<db_name>_lease` with a TTL it renews a few times per lease time,
and marks the scan's node hash `lease: <seconds>` (scans of publishers without a lease are
never touched). A reader that finds such a scan not ended and its lease key gone runs one
Lua script that, atomically and only once, sets the state KILLED with an `end_reason`
(unless a final state is there already) and appends the END event.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, cast

import redis

from beamshell.data.connection import StreamEntry, reply_text
from beamshell.data.keys import SCAN_TYPES, children_key, info_key, lease_key, node_key, prefix_of

if TYPE_CHECKING:
    from gevent import Greenlet
    from redis.client import Pipeline

log = logging.getLogger(__name__)

DEFAULT_LEASE_S = 10.0
RENEWALS_PER_LEASE = 4
LEASE_FIELD = "lease"  # in the node hash: the lease time in seconds
HOLDER_FIELD = "lease_holder"  # in the node hash: `host pid N`, for the end reason


def unless_ended(children_key: str) -> str:
    """Lua that returns 0 if a node has ended, i.e. the last entry of its children stream
    (`children_key`, a KEYS[n] of the script) is END; a script's first lines."""
    return f"""
local last = redis.call('XREVRANGE', {children_key}, '+', '-', 'COUNT', 1)
if last[1] then
  local fields = last[1][2]
  for i = 1, #fields, 2 do
    if fields[i] == 'e' and fields[i + 1] == 'end' then return 0 end
  end
end
"""


_END_IF_ABANDONED = (
    """
if redis.call('EXISTS', KEYS[4]) == 1 then return 0 end
if not redis.call('HGET', KEYS[1], 'lease') then return 0 end
"""
    + unless_ended("KEYS[3]")
    + """local state = redis.call('HGET', KEYS[2], 'state')
if state ~= '"DONE"' and state ~= '"ABORTED"' and state ~= '"KILLED"' then
  local holder = redis.call('HGET', KEYS[1], 'lease_holder') or 'its process'
  redis.call('HSET', KEYS[2], 'state', '"KILLED"', 'end_time', ARGV[1],
             'end_timestamp', ARGV[2], 'end_reason', cjson.encode(string.format(ARGV[3], holder)))
end
local ttl = redis.call('TTL', KEYS[1])
redis.call('XADD', KEYS[3], '*', 'e', 'end', 't', ARGV[2])
if ttl > 0 then redis.call('EXPIRE', KEYS[3], ttl) end
return 1
"""
)
_END_REASON = "the lease of %s expired while it was running: the process was killed"

# Renew, or take again after a stall, unless a reader has ended the scan meanwhile.
_RENEW = (
    unless_ended("KEYS[2]")
    + """redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
"""
)


def _holder() -> str:
    return f"{socket.gethostname()} pid {os.getpid()}"


class ScanLease:
    """The lease a writer holds on one scan (or group) node while it runs.

    `acquire()` marks the node as leased and takes the lease; a greenlet renews it
    RENEWALS_PER_LEASE times per lease time; `release()` (after END_SCAN) gives it up. A
    process stalled longer than the lease time takes it again, unless a reader has ended the
    scan KILLED meanwhile: then `lost` becomes True and `on_lost()` is called.
    """

    def __init__(
        self,
        client: redis.Redis,
        db_name: str,
        lease_time: float = DEFAULT_LEASE_S,
        on_lost: Callable[[], None] | None = None,
    ):
        if not lease_time > 0:
            raise ValueError(f"scan lease time must be > 0 seconds, not {lease_time!r}")
        self._redis = client
        self.db_name = db_name
        self._prefix = prefix_of(client)  # the configuration's key prefix
        self.key = lease_key(db_name, self._prefix)
        self.lease_time = float(lease_time)
        self._on_lost = on_lost
        self._holder = _holder()
        self._renewer: Greenlet[[], None] | None = None
        self._released = False
        self.lost = False

    def __repr__(self) -> str:
        return f"<ScanLease {self.db_name} {self.lease_time:g} s>"

    @property
    def _ms(self) -> int:
        return max(1, int(self.lease_time * 1000))

    def acquire(self) -> None:
        """Mark the node as leased and take the lease, in one transaction; start renewing."""
        pipe = self._redis.pipeline(transaction=True)
        self.queue_acquire(pipe)
        pipe.execute()
        self.start_renewing()

    def queue_acquire(self, pipe: Pipeline) -> None:
        """Add marking the node and taking the lease to a transaction of the caller's (the one
        creating the node, after its creation); call `start_renewing()` once it is written."""
        pipe.set(self.key, self._holder, px=self._ms)
        pipe.hset(
            node_key(self.db_name, self._prefix),
            mapping={LEASE_FIELD: f"{self.lease_time:g}", HOLDER_FIELD: self._holder},
        )

    def start_renewing(self) -> None:
        import gevent  # the writer runs under gevent; readers of this module need not

        self._renewer = gevent.spawn(self._renew_forever)

    def release(self, pipe: Pipeline | None = None) -> None:
        """Stop renewing and drop the lease (after the scan's END_SCAN). With `pipe`, the
        drop is added to that transaction (the one writing END_SCAN, after it) instead of
        sent at once; a later `release()` then sends nothing."""
        if self._renewer is not None:
            self._renewer.kill(block=False)
            self._renewer = None
        if self._released:
            return
        self._released = True
        if pipe is not None:
            pipe.delete(self.key)
            return
        try:
            self._redis.delete(self.key)
        except (redis.RedisError, OSError):
            pass  # it expires by itself; readers then see the END_SCAN, or end the scan

    def _renew_forever(self) -> None:
        import gevent

        interval = self.lease_time / RENEWALS_PER_LEASE
        renew = self._redis.register_script(_RENEW)
        keys = [self.key, children_key(self.db_name, self._prefix)]
        while True:
            gevent.sleep(interval)
            try:
                renewed = renew(keys=keys, args=[self._holder, self._ms])
            except (redis.RedisError, OSError) as exc:
                # Redis itself is gone: the publisher reports that; try again next time.
                log.debug("renewing the lease of %s failed: %s", self.db_name, exc)
                continue
            if not renewed:
                self.lost = True
                log.error(
                    "scan %s: its lease expired (this process stalled for more than %g s) "
                    "and a reader ended it KILLED",
                    self.db_name,
                    self.lease_time,
                )
                if self._on_lost is not None:
                    self._on_lost()
                return


def end_abandoned(client: redis.Redis, db_names: Iterable[str]) -> list[str]:
    """End KILLED (with END_SCAN) those of these scans or groups whose lease expired.

    Scans without a lease mark, already ended, or whose lease is alive are left alone.
    Returns the names ended here (another reader may have ended one first: not counted).
    """
    names = list(db_names)
    if not names:
        return []
    now = time.time()
    end_time = json.dumps(time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(now)))
    script = client.register_script(_END_IF_ABANDONED)
    pipe = client.pipeline(transaction=False)
    prefix = prefix_of(client)
    for name in names:
        keys = [
            node_key(name, prefix),
            info_key(name, prefix),
            children_key(name, prefix),
            lease_key(name, prefix),
        ]
        script(keys=keys, args=[end_time, repr(now), _END_REASON], client=pipe)
    ended = [name for name, done in zip(names, pipe.execute(), strict=True) if done]
    for name in ended:
        log.warning("scan %s: its lease expired while it was running; ended it KILLED", name)
    return ended


def end_abandoned_in_session(client: redis.Redis, session_name: str) -> list[str]:
    """end_abandoned() over every scan and group of a session (a session opening does this)."""
    key = children_key(session_name, prefix_of(client))
    entries = cast(list[StreamEntry], client.xrange(key))
    scans = [
        reply_text(fields[b"db"], "replace")
        for _, fields in entries
        if fields.get(b"e") == b"new" and reply_text(fields.get(b"t", b""), "replace") in SCAN_TYPES
    ]
    return end_abandoned(client, scans)
