"""Writer side of the scan-data model: nodes, info hashes and batched channel data in Redis.

Channel data are queued in memory and written by one background greenlet per publisher,
each write one MULTI/EXEC transaction (a batch is in Redis entirely or not at all) of at
most `batch_bytes`, at most `flush_delay` after the first pending point. Appending never
waits for Redis unless `max_pending_bytes` are queued. Every write goes through that
greenlet, so a Ctrl-C landing in the scan's greenlet never cuts a transaction in two.

Writes go through a client of their own (`writing_connection`): without a client-side
socket timeout, a busy or paused server is waited for, never given up on while it lives;
a server that is gone (connection refused or closed) fails the write at once.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections import deque
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, cast

import gevent
import gevent.event
import numpy as np
import redis

from beamshell.data import encoding
from beamshell.data.connection import describe_url
from beamshell.data.errors import BadNodeName, ChannelDataError, DataPublishError
from beamshell.data.keys import (
    CHANNEL_TYPES,
    check_node_name,
    children_key,
    data_key,
    info_key,
    node_key,
    node_keys,
    prefix_of,
)
from beamshell.data.lease import unless_ended
from beamshell.data.writing_connection import writing_client

if TYPE_CHECKING:
    from collections.abc import Mapping

    from redis.client import Pipeline
    from redis.typing import EncodableT, FieldT

    # What redis-py's hset() takes as `mapping`: its key type is invariant, so a
    # dict[str, str] is refused unless cast to it.
    _HashFields = Mapping[FieldT, EncodableT]

DEFAULT_EXPIRATION_S = 86400
DEFAULT_FLUSH_DELAY_S = 0.005
DEFAULT_BATCH_BYTES = 1 << 20  # one transaction, over all channels of the publisher
DEFAULT_MAX_PENDING_BYTES = 64 << 20  # beyond this, append() waits for Redis
# A channel's data key gets its expiration with its first batch, then again this often
# (and at the end of its scan), rather than with every batch.
EXPIRE_REFRESH_S = 60.0

_REDIS_ERRORS = (redis.RedisError, OSError)

# A channel's batch of points: (first index, count, payload).
_Batch = tuple[int, int, bytes | memoryview]

# queue_info()'s write: the fields, unless the node has ended meanwhile (its last child
# entry is END: written by this publisher, or by a reader that found its lease expired and
# ended it KILLED; a state queued before a stall must not overwrite that). Plain EVAL,
# sent with the transaction: EVALSHA would cost a round trip to check the script is loaded.
_SET_INFO_UNLESS_ENDED = (
    unless_ended("KEYS[2]")
    + """redis.call('HSET', KEYS[1], unpack(ARGV))
return 1
"""
)


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


class ChannelPublisher:
    """Queues the points of one numeric channel until its publisher writes them."""

    node_type = "channel"

    def __init__(
        self, publisher: DataPublisher, db_name: str, dtype: np.dtype, shape: tuple[int, ...]
    ):
        self.publisher = publisher
        self.db_name = db_name
        self.dtype = dtype
        self.shape = shape
        self.written = 0  # points confirmed in Redis
        # Point arrays, or db_names (str) for a node_ref_channel: hence Any.
        self._pending: deque[Any] = deque()
        self._pending_count = 0
        self._next_index = 0  # index of the first pending point
        self._point_bytes = max(1, dtype.itemsize * int(np.prod(shape, dtype=np.int64)))
        self._expire_due = 0.0  # monotonic time the data key's expiration is next set
        self._ended = False

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.db_name} {self.dtype} {self.shape}>"

    @property
    def npoints(self) -> int:
        """Points appended so far (written or pending)."""
        return self._next_index + self._pending_count

    def append(self, values: Any) -> None:
        """Queue points: an array of shape (n, *shape), or one point of shape `shape`.

        The array is kept as given until written (no copy): do not change it meanwhile.
        """
        self.publisher._check_usable()
        if self._ended:
            raise ChannelDataError(f"channel '{self.db_name}': its scan has ended")
        points = encoding.as_points(values, self.dtype, self.shape, f"channel '{self.db_name}'")
        if len(points):
            self._queue(points, len(points), len(points) * self._point_bytes)

    def _queue(self, item: Any, count: int, nbytes: int) -> None:
        self._pending.append(item)
        self._pending_count += count
        self.publisher._note_pending(nbytes)

    def _encode(self, items: list[np.ndarray]) -> bytes | memoryview:
        return encoding.encode_points(items)

    def _take(self, budget: int) -> _Batch | None:
        """The oldest pending points, about `budget` bytes of them (one point at least), as
        (first index, count, payload); the rest stays pending."""
        if not self._pending_count:
            return None
        wanted = max(1, budget // self._point_bytes)
        items, count = [], 0
        while self._pending and count < wanted:
            item = self._pending[0]
            if count + len(item) > wanted:
                cut = wanted - count
                items.append(item[:cut])
                self._pending[0] = item[cut:]
                count = wanted
                break
            items.append(self._pending.popleft())
            count += len(item)
        batch = (self._next_index, count, self._encode(items))
        self._next_index += count
        self._pending_count -= count
        self.publisher._pending_bytes -= count * self._point_bytes
        return batch


class NodeRefChannelPublisher(ChannelPublisher):
    """A channel whose points are db_names of other nodes (a group's list of scans)."""

    node_type = "node_ref_channel"

    def __init__(self, publisher: DataPublisher, db_name: str):
        super().__init__(publisher, db_name, np.dtype(object), ())

    def append(self, refs: Any) -> None:
        """Queue one reference or a list of them: db_names, or objects with a `db_name`."""
        self.publisher._check_usable()
        if self._ended:
            raise ChannelDataError(f"channel '{self.db_name}': its scan has ended")
        items = refs if isinstance(refs, list | tuple) else [refs]
        names = []
        for item in items:
            name = item if isinstance(item, str) else getattr(item, "db_name", None)
            if not isinstance(name, str) or not name:
                raise ChannelDataError(
                    f"channel '{self.db_name}': {item!r} is neither a db_name nor a node"
                )
            names.append(name)
        for name in names:
            self._queue(name, 1, len(name))

    def _take(self, budget: int) -> tuple[int, int, bytes] | None:
        """Every pending reference (a group lists a few scans: no need to split)."""
        if not self._pending_count:
            return None
        items, self._pending = list(self._pending), deque()
        count, self._pending_count = self._pending_count, 0
        batch = (self._next_index, count, encoding.encode_refs(items))
        self._next_index += count
        self.publisher._pending_bytes -= sum(len(name) for name in items)
        return batch


class DataPublisher:
    """Creates scan-data nodes in Redis and publishes their channel data in batches."""

    def __init__(
        self,
        redis_client: redis.Redis,
        expiration: float | None = DEFAULT_EXPIRATION_S,
        flush_delay: float = DEFAULT_FLUSH_DELAY_S,
        batch_bytes: int = DEFAULT_BATCH_BYTES,
        max_pending_bytes: int = DEFAULT_MAX_PENDING_BYTES,
        on_failure: Callable[[DataPublishError], None] | None = None,
    ):
        """`on_failure(error)` is called (in the background writer) when a write fails, so
        that the owner learns it at once rather than at its next call."""
        if expiration is not None and expiration <= 0:
            raise ValueError(f"scan data expiration must be > 0 seconds or None, not {expiration}")
        self._redis = writing_client(redis_client)
        self._prefix = prefix_of(redis_client)  # the configuration's key prefix
        self.url = describe_url(redis_client)
        self.expiration = int(expiration) if expiration is not None else None
        self.flush_delay = flush_delay
        self.batch_bytes = batch_bytes
        self.max_pending_bytes = max_pending_bytes
        self._on_failure = on_failure
        self._nodes: dict[str, str] = {}  # db_name -> type, for nodes created here
        self._created_at: dict[str, float] = {}  # db_name -> time.monotonic() of its creation
        # queue_info()'s encoded fields: written before points.
        self._pending_info: list[tuple[str, dict[str, str]]] = []
        self._channels: list[ChannelPublisher] = []
        self._pending_bytes = 0
        self._has_pending = gevent.event.Event()
        self._flush_now = gevent.event.Event()
        self._written = gevent.event.Event()  # set after each write (or its failure)
        self._writing = False
        self._flusher: gevent.Greenlet[[], None] | None = None
        self._first_pending_time = 0.0
        self._error: DataPublishError | None = None
        self._error_reported = False
        self._closed = False
        # The transaction of a `together()` block, while it is open.
        self._together: Pipeline | None = None

    def __repr__(self) -> str:
        return f"<DataPublisher {self.url} expiration={self.expiration}>"

    # ---- nodes -------------------------------------------------------------------------

    def create_node(
        self,
        db_name: str,
        node_type: str,
        info: dict[str, Any] | None = None,
        parent: str | None = None,
    ) -> str:
        """Create a container node (session, scan, scan_group, master...); return its db_name."""
        if node_type in CHANNEL_TYPES:
            raise BadNodeName(f"node '{db_name}': create channels with create_channel()")
        self._create(db_name, node_type, info, parent, {})
        return db_name

    def create_channel(
        self,
        db_name: str,
        parent: str,
        dtype: Any = "float64",
        shape: tuple[int, ...] = (),
        info: dict[str, Any] | None = None,
    ) -> ChannelPublisher:
        """Create a numeric channel node; its points have `dtype` and `shape` (() for scalars)."""
        where = f"channel '{db_name}'"
        np_dtype = encoding.checked_dtype(dtype, where)
        try:
            np_shape = tuple(int(n) for n in shape)
        except (TypeError, ValueError):
            raise ChannelDataError(f"{where}: bad shape {shape!r}") from None
        if any(n < 0 for n in np_shape):
            raise ChannelDataError(f"{where}: bad shape {shape!r}")
        fields = {"dtype": np_dtype.str, "shape": json.dumps(list(np_shape))}
        self._create(db_name, "channel", info, parent, fields)
        channel = ChannelPublisher(self, db_name, np_dtype, np_shape)
        self._channels.append(channel)
        return channel

    def create_node_ref_channel(
        self, db_name: str, parent: str, info: dict[str, Any] | None = None
    ) -> NodeRefChannelPublisher:
        """Create a channel whose points are db_names of other nodes (e.g. a group's scans)."""
        fields = {"dtype": encoding.REF_DTYPE, "shape": "[]"}
        self._create(db_name, "node_ref_channel", info, parent, fields)
        channel = NodeRefChannelPublisher(self, db_name)
        self._channels.append(channel)
        return channel

    def update_info(self, db_name: str, info: dict[str, Any]) -> None:
        """Set (merge) fields of a node's info hash."""
        self._check_usable()
        encoded = encoding.encode_info(info, f"node '{db_name}'")
        if not encoded:
            return
        with self._transaction(f"info of '{db_name}'") as pipe:
            pipe.hset(info_key(db_name, self._prefix), mapping=cast("_HashFields", encoded))
            self._expire(pipe, info_key(db_name, self._prefix), node_key(db_name, self._prefix))

    def queue_info(self, db_name: str, info: dict[str, Any]) -> None:
        """Set (merge) fields of a node's info without waiting for Redis: they are written by
        the background writer, in order, in its next transaction (before the points in it),
        or by `flush()` or `end_scan()`; not if the node has ended by then (a reader ended
        it KILLED). A failure is reported as a failed write of points."""
        self._check_usable()
        encoded = encoding.encode_info(info, f"node '{db_name}'")
        if encoded:
            self._pending_info.append((db_name, encoded))
            self._note_pending(0)

    @contextlib.contextmanager
    def together(self) -> Iterator[Pipeline]:
        """Node creations and info updates of the block go to Redis in one transaction when
        it ends (a scan creates its nodes with one round trip, not one per node). Yields
        that transaction's pipeline: commands of the caller's own added to it (a lease)
        are written with the nodes, after them."""
        if self._together is not None:  # nested: part of the enclosing block
            yield self._together
            return
        self._check_usable()
        self._together = self._redis.pipeline(transaction=True)
        try:
            yield self._together
            pipe, self._together = self._together, None
            with _Transaction(self, "nodes and info", pipe):
                pass
        finally:
            if self._together is not None:
                self._together.reset()
                self._together = None

    def end_scan(
        self,
        db_name: str,
        info: dict[str, Any] | None = None,
        then: Callable[[Pipeline], None] | None = None,
    ) -> None:
        """Write every pending point, then `info` (merged into the node's info) and the
        END_SCAN event of `db_name` (scan or group), in one transaction; `then(pipeline)`
        may add commands of its own after END_SCAN in that transaction (a lease's release)."""
        encoded = encoding.encode_info(info or {}, f"node '{db_name}'")
        self.flush()
        # Keys created less than a refresh period ago still have (almost) their whole
        # expiration, like a data key between refreshes: only older ones are renewed.
        renew_before = time.monotonic() - EXPIRE_REFRESH_S
        subtree = [
            n
            for n in self._nodes
            if (n == db_name or n.startswith(db_name + ":"))
            and self._created_at.get(n, 0.0) <= renew_before
        ]
        for channel in self._channels:
            if channel.db_name.startswith(db_name + ":"):
                channel._ended = True
        # A long-lived publisher (a sequence of scans) writes only channels still running.
        self._channels = [channel for channel in self._channels if not channel._ended]
        with self._transaction(f"end of '{db_name}'") as pipe:
            if encoded:
                pipe.hset(info_key(db_name, self._prefix), mapping=cast("_HashFields", encoded))
            pipe.xadd(children_key(db_name, self._prefix), {b"e": b"end", b"t": str(time.time())})
            # A scan may last longer than the expiration: every key of it restarts its clock.
            for name in subtree:
                self._expire(pipe, *node_keys(name, self._nodes[name], self._prefix))
            self._expire(pipe, children_key(db_name, self._prefix))
            if then is not None:
                then(pipe)

    def flush(self) -> None:
        """Write every pending point now and wait until Redis has them."""
        self._check_usable()
        while (
            self._pending_bytes or self._pending_info or self._writing or self._has_pending.is_set()
        ):
            self._ensure_flusher()
            self._flush_now.set()
            self._has_pending.set()
            self._wait_for_a_write()
        self._check_usable()

    def close(self, flush: bool = True) -> None:
        """Write what is pending (unless `flush` is False) and stop the background writer.

        Raises an error of Redis only if it was never raised before, so that close() in a
        `finally` does not hide the error that ended the scan. With flush=False nothing is
        written, nothing is raised: what is pending is dropped.
        """
        if self._closed:
            return
        try:
            if flush and self._error is None:
                self.flush()
        finally:
            self._closed = True
            if self._flusher is not None:
                self._flusher.kill(block=False)
            if flush and self._error is not None and not self._error_reported:
                self._error_reported = True
                raise self._error

    # ---- internals ---------------------------------------------------------------------

    def _create(
        self,
        db_name: str,
        node_type: str,
        info: dict[str, Any] | None,
        parent: str | None,
        fields: dict[str, str],
    ) -> None:
        self._check_usable()
        check_node_name(db_name, parent)
        if not isinstance(node_type, str) or not node_type:
            raise BadNodeName(f"node '{db_name}': bad node type {node_type!r}")
        if parent is None and node_type != "session":
            raise BadNodeName(f"node '{db_name}': only a session node has no parent")
        if db_name in self._nodes and parent is not None:
            raise BadNodeName(f"node '{db_name}' was already created")
        encoded = encoding.encode_info(info or {}, f"node '{db_name}'")
        session = parent if parent is not None and ":" not in parent else None
        self._check_new_node(db_name, parent, session is not None)
        with self._transaction(f"node '{db_name}'") as pipe:
            if session is not None:
                pipe.hset(
                    node_key(session, self._prefix), mapping={"type": "session", "parent": ""}
                )
                if self.expiration is not None:
                    # Entries are time-stamped: drop those of scans expired long ago.
                    oldest_ms = int((time.time() - self.expiration) * 1000)
                    pipe.xtrim(children_key(session, self._prefix), minid=f"{max(oldest_ms, 0)}-0")
                self._expire(pipe, node_key(session, self._prefix))
            pipe.hset(
                node_key(db_name, self._prefix),
                mapping=cast("_HashFields", {"type": node_type, "parent": parent or "", **fields}),
            )
            if encoded:
                pipe.hset(info_key(db_name, self._prefix), mapping=cast("_HashFields", encoded))
            self._expire(pipe, node_key(db_name, self._prefix), info_key(db_name, self._prefix))
            if parent is not None:
                entry: dict[FieldT, EncodableT] = {b"e": b"new", b"db": db_name, b"t": node_type}
                pipe.xadd(children_key(parent, self._prefix), entry)
                self._expire(pipe, children_key(parent, self._prefix))
        self._nodes[db_name] = node_type
        self._created_at[db_name] = time.monotonic()

    def _check_new_node(self, db_name: str, parent: str | None, parent_is_session: bool) -> None:
        """One round trip: the node must be new and its parent (unless a session) must exist.

        Not for the child of a node this publisher created: that node was new, so is its
        subtree (a scan's masters and channels cost no round trip each)."""
        if parent is not None and parent in self._nodes:
            return
        try:
            pipe = self._redis.pipeline(transaction=False)
            pipe.exists(node_key(db_name, self._prefix))
            pipe.exists(
                node_key(parent, self._prefix) if parent else node_key(db_name, self._prefix)
            )
            exists, parent_exists = pipe.execute()
        except _REDIS_ERRORS as exc:
            raise self._fail(exc, f"node '{db_name}'") from None
        if exists and parent is not None:  # a session node is shared by all its scans
            raise BadNodeName(f"node '{db_name}' exists already in Redis at {self.url}")
        if parent and not parent_is_session and parent not in self._nodes and not parent_exists:
            raise BadNodeName(f"parent node '{parent}' of '{db_name}' does not exist")

    def _expire(self, pipe: Pipeline, *keys: str) -> None:
        if self.expiration is not None:
            for key in keys:
                pipe.expire(key, self.expiration)

    def _transaction(self, what: str) -> contextlib.AbstractContextManager[Pipeline]:
        if self._together is not None:
            return contextlib.nullcontext(self._together)  # written when the block ends
        return _Transaction(self, what)

    def _fail(self, exc: BaseException, what: str) -> DataPublishError:
        if self._error is None:
            self._error = DataPublishError(self.url, _reason(exc), what)
        return self._error

    def _check_usable(self) -> None:
        if self._error is not None:
            self._error_reported = True
            raise self._error
        if self._closed:
            raise ChannelDataError(f"data publisher for {self.url} is closed")

    def _ensure_flusher(self) -> None:
        if self._error is None and (self._flusher is None or self._flusher.dead):
            self._flusher = gevent.spawn(self._run_flusher)

    def _wait_for_a_write(self) -> None:
        """Wait until the background writer has finished a transaction (or failed)."""
        self._written.clear()
        if self._error is None:
            self._written.wait()
        self._check_usable()

    def _note_pending(self, nbytes: int) -> None:
        self._pending_bytes += nbytes
        if not self._has_pending.is_set():
            self._first_pending_time = time.monotonic()
            self._has_pending.set()
            self._ensure_flusher()
        if self._pending_bytes >= self.batch_bytes:
            self._flush_now.set()  # a full transaction is ready: no need to wait for more
            while self._pending_bytes > self.max_pending_bytes:
                self._wait_for_a_write()  # Redis is behind: bounded memory, so wait

    def _run_flusher(self) -> None:
        while True:
            self._has_pending.wait()
            # The first pending point waits at most flush_delay; a full batch goes at once.
            remaining = self._first_pending_time + self.flush_delay - time.monotonic()
            if remaining > 0 and not self._flush_now.is_set():
                self._flush_now.wait(timeout=remaining)
            try:
                self._write_pending()
            except DataPublishError as error:
                self._written.set()
                if self._on_failure is not None:
                    self._on_failure(error)
                return  # kept in self._error, raised to the owner on its next call

    def _write_pending(self) -> None:
        """Write one transaction of at most about `batch_bytes` of pending points.

        What does not fit stays pending and goes in the next transaction, at once.
        """
        self._flush_now.clear()
        self._writing = True
        try:
            channels = [channel for channel in self._channels if channel._pending_count]
            budget = max(1, self.batch_bytes // max(1, len(channels)))
            # Each has points pending, so each gives a batch.
            batches = [(channel, cast(_Batch, channel._take(budget))) for channel in channels]
            infos, self._pending_info = self._pending_info, []
            if self._pending_bytes > 0:
                self._flush_now.set()  # the rest is due already
            else:
                self._pending_bytes = 0
                self._has_pending.clear()
            self._first_pending_time = time.monotonic()
            if (batches or infos) and self._error is None:
                npoints = sum(batch[1] for _, batch in batches)
                parts = [f"info of '{infos[0][0]}'"] if infos else []
                if batches:
                    parts.append(f"{npoints} point{'s' if npoints != 1 else ''} of scan data")
                what = " and ".join(parts)
                now = time.monotonic()
                with self._transaction(what) as pipe:
                    for db_name, encoded in infos:
                        key = info_key(db_name, self._prefix)
                        pairs = [item for pair in encoded.items() for item in pair]
                        ended_by = children_key(db_name, self._prefix)
                        pipe.eval(_SET_INFO_UNLESS_ENDED, 2, key, ended_by, *pairs)
                        self._expire(pipe, key, node_key(db_name, self._prefix))
                    for channel, (first, count, payload) in batches:
                        key = data_key(channel.db_name, self._prefix)
                        fields: dict[FieldT, EncodableT] = {
                            encoding.FIRST_INDEX: first,
                            encoding.COUNT: count,
                            encoding.PAYLOAD: payload,
                        }
                        # The entry ID is the batch's first index: readers seek by index.
                        pipe.xadd(key, fields, id=f"{first}-1")
                        if self.expiration is not None and now >= channel._expire_due:
                            pipe.expire(key, self.expiration)
                            channel._expire_due = now + min(EXPIRE_REFRESH_S, self.expiration / 2)
                for channel, (_, count, _) in batches:
                    channel.written += count
        finally:
            self._writing = False
            self._written.set()


class _Transaction:
    """A MULTI/EXEC pipeline whose Redis errors become one DataPublishError."""

    def __init__(self, publisher: DataPublisher, what: str, pipe: Pipeline | None = None):
        self.publisher = publisher
        self.what = what
        self.pipe = pipe if pipe is not None else publisher._redis.pipeline(transaction=True)

    def __enter__(self) -> Pipeline:
        return self.pipe

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> Literal[False]:
        if exc_type is not None:
            self.pipe.reset()
            return False
        try:
            self.pipe.execute()
        except _REDIS_ERRORS as error:
            raise self.publisher._fail(error, self.what) from None
        finally:
            self.pipe.reset()
        return False
