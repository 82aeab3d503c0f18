"""Walking a node's subtree: what exists now, then live events read with a blocking XREAD.

Every node with children owns a stream of "new" entries (its children, in creation order)
and, for scans and groups, a final "end" entry; every channel owns a stream of data batches
whose entry ID is the batch's first point index. A walker remembers the last entry ID it
has seen on each stream it watches: it first reads each stream from the start (depth
first, so a scan's nodes and data come before the next scan), then blocks in one XREAD on
all watched streams, each read from its last ID. So a reader that starts in the middle of
a scan gets every point exactly once and in order, and never polls.

A reader that draws some channels only (the plot server) gives a `data_filter`: a channel
it refuses is announced but its stream is not read, until `want_data()` asks for it; its
points then come from the first one, in order, like any other channel's. A reader that
needs no more than a few updates a second gives a `read_interval`: while data flow, its
reads are that far apart and each takes every batch written meanwhile, rather than one
read per batch (a scan at full speed writes hundreds a second).
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, cast

import redis

from beamshell.data import validate
from beamshell.data.connection import (
    StreamEntry,
    StreamReply,
    describe_url,
    reply_text,
    stream_replies,
)
from beamshell.data.events import ChannelData, Event
from beamshell.data.keys import (
    CHANNEL_TYPES,
    SCAN_TYPES,
    children_key,
    data_key,
    node_key,
    prefix_of,
    wake_key,
)
from beamshell.data.lease import end_abandoned

if TYPE_CHECKING:
    from redis.typing import KeyT, StreamIdT

    from beamshell.data.node import ChannelNode, DataNode

_CHUNK = 512  # stream entries per XRANGE while catching up
_WAKE_TTL_S = 60
# A follower blocks in XREAD for at most this long per call, then asks again. Each call is
# answered by the server (data, or nil when the slice ends), so silence is never mistaken
# for a dead server: only a missing answer within the client's socket timeout is a failure.
BLOCK_SLICE_S = 1.0
_MAX_SEQ = 2**64 - 1
log = logging.getLogger(__name__)
_TOP_TYPES = frozenset({"session", *SCAN_TYPES})

WalkEvent = tuple[Event, "DataNode", Any]
# A new node's own hash and the first chunk of its stream (None: not watched).
_Prefetched = tuple[validate.RawFields, list[StreamEntry] | None]


def _types(spec: str | Iterable[str] | None) -> frozenset[str] | None:
    if spec is None:
        return None
    if isinstance(spec, str):
        return frozenset({spec})
    types = frozenset(spec)
    if not all(isinstance(t, str) for t in types):
        raise TypeError(f"node type filter must be a type name or a list of them, not {spec!r}")
    return types


def _entry_id(raw: bytes | str) -> tuple[int, int]:
    text = raw.decode() if isinstance(raw, bytes) else raw
    ms, _, seq = text.partition("-")
    return int(ms), int(seq or 0)


def _before(raw: bytes | str) -> str:
    """The stream ID just before `raw`, so that reading after it includes `raw`."""
    ms, seq = _entry_id(raw)
    return f"{ms}-{seq - 1}" if seq else f"{ms - 1}-{_MAX_SEQ}"


def _says_stop(fields: validate.RawFields) -> bool:
    """A wake-up entry from stop() (want_data() writes another), whatever the decoding."""
    return b"stop" in fields or "stop" in fields


def _block_slice(client: redis.Redis) -> float:
    """Seconds one XREAD may block: well inside the client's socket timeout, if it has one."""
    timeout = client.connection_pool.connection_kwargs.get("socket_timeout")
    if not timeout:
        return BLOCK_SLICE_S
    return max(0.001, min(BLOCK_SLICE_S, float(timeout) / 2))


class Walker:
    """An iterable over a subtree's nodes or events; iterate it once.

    Stop it with `stop()` from anywhere (inside the loop, another greenlet, another thread):
    a blocked XREAD is woken at once through a private stream. `stop_on_end` stops after the
    first END_SCAN given; `timeout` ends the iteration after that many seconds without any
    Redis activity. With wait=False the iteration ends after what exists now. `after` (an
    entry ID of the root's children stream) starts after that child: only later ones come.
    `live` is False while the walker gives what existed when it started, True afterwards.
    `data_filter(channel node)`, asked when a channel is found (after its NEW_NODE was given):
    False leaves its data unread until `want_data(db_name)`. With `read_interval` (seconds),
    a live read waits until that long after the previous one answered: what was written
    meanwhile comes in one reply (one NEW_DATA per channel); the first batch after a quiet
    spell still comes at once, and a stop() ends the iteration at the pause's end at worst.
    """

    def __init__(
        self,
        root: DataNode,
        include_filter: str | Iterable[str] | None = None,
        exclude_children: str | Iterable[str] | None = None,
        wait: bool = True,
        *,
        timeout: float | None = None,
        nodes_only: bool = False,
        from_last: bool = False,
        stop_on_end: bool = False,
        after: bytes | str | None = None,
        data_filter: Callable[[DataNode], bool] | None = None,
        read_interval: float = 0.0,
    ):
        if not isinstance(read_interval, int | float) or not read_interval >= 0:
            raise ValueError(f"read_interval must be seconds >= 0, not {read_interval!r}")
        self.root = root
        self._after = after
        self.live = False
        self._include = _types(include_filter)
        exclude = _types(exclude_children) or frozenset()
        if self._include is not None and self._include <= _TOP_TYPES:
            # Only scans or groups wanted: no need to read inside them.
            exclude |= SCAN_TYPES
        self._exclude = exclude
        self._wait = wait
        self._timeout = timeout
        self._nodes_only = nodes_only
        self._from_last = from_last
        self._stop_on_end = stop_on_end
        self._read_interval = read_interval
        self._answered_at = -float("inf")  # when the last live read was answered
        self._redis: redis.Redis = root.connection
        self._streams: dict[str, bytes | str] = {}  # watched key -> last entry ID seen
        self._owners: dict[str, tuple[DataNode, bool]] = {}  # key -> (node, descend?)
        self._data_filter = data_filter
        self._unread: dict[str, DataNode] = {}  # channels found whose data was refused
        self._wanted: set[str] = set()  # of those, the ones asked for since (want_data)
        self._want_lock = threading.Lock()  # want_data() may come from another thread
        self._prefix = prefix_of(self._redis)
        self._wake_key = wake_key(uuid.uuid4().hex, self._prefix)
        self._wake_seen: bytes | str = "0-0"  # the last wake-up read (want_data's, not stop's)
        self._started = False
        self._finished = False
        self._stopped = False
        self._next_lease_check = 0.0
        self._lease_checks = True

    def __iter__(self) -> Iterator[Any]:
        if self._started:
            raise RuntimeError("a walker can be iterated only once; call walk() again")
        self._started = True
        events = self._run()
        if self._nodes_only:
            return (node for _, node, _ in events)
        return events

    def stop(self) -> None:
        """End the iteration; safe from the loop body, another greenlet or another thread."""
        self._stopped = True
        self._wake(b"stop")

    def want_data(self, db_name: str) -> bool:
        """Read from now on the data of a channel `data_filter` refused, from its first point.

        True if its points will come; False if this walker holds no such channel (never
        found, read already, or its scan has ended: then its data is all in Redis to read)
        or does not wait for new data. Safe from the loop body, another greenlet or another
        thread.
        """
        with self._want_lock:
            if not self._wait or self._finished or db_name not in self._unread:
                return False
            self._wanted.add(db_name)
        self._wake(b"want")
        return True

    def _wake(self, why: bytes) -> None:
        """Interrupt the walker's blocking read (its private stream gets an entry)."""
        if self._started and not self._finished:
            try:
                pipe = self._redis.pipeline(transaction=False)
                pipe.xadd(self._wake_key, {why: b"1"})
                pipe.expire(self._wake_key, _WAKE_TTL_S)
                pipe.execute()
            except redis.RedisError:
                pass  # the walker's own read fails too and ends the iteration

    # ---- the iteration -----------------------------------------------------------------

    def _run(self) -> Iterator[WalkEvent]:
        try:
            yield from self._until_stopped(self._discover_root())
            self.live = True
            while self._wait and not self._stopped:
                yield from self._until_stopped(self._read_wanted())
                self._pause_between_reads()
                reply = self._read_live()
                if reply is None:
                    return
                self._answered_at = time.monotonic()
                yield from self._until_stopped(self._handle_reply(reply))
        except redis.ResponseError as exc:
            # WRONGTYPE from a read over many streams: name the key that is not a stream.
            watched = {key: (owner.db_name, "stream") for key, (owner, _) in self._owners.items()}
            with validate.wrong_type_reported(self._redis, watched):
                raise exc from None
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            from beamshell.errors import RedisUnreachable

            reason = (str(exc).splitlines() or [type(exc).__name__])[0]
            raise RedisUnreachable(
                describe_url(self._redis), reason, "scan data reading interrupted"
            ) from None
        finally:
            self._finished = True
            try:
                self._redis.delete(self._wake_key)
            except redis.RedisError:
                pass

    def _until_stopped(self, events: Iterator[WalkEvent]) -> Iterator[WalkEvent]:
        for event in events:
            yield event
            if self._stopped:
                return

    def _included(self, node_type: str) -> bool:
        return self._include is None or node_type in self._include

    def _discover_root(self) -> Iterator[WalkEvent]:
        root = self.root
        if root.type in CHANNEL_TYPES:
            if not self._nodes_only:
                yield from self._watch(data_key(root.db_name, self._prefix), root, descend=False)
            return
        key = children_key(root.db_name, self._prefix)
        start: bytes | str = "0-0" if self._after is None else self._after
        if self._from_last and self._after is None:
            newest = cast(list[StreamEntry], self._redis.xrevrange(key, count=_CHUNK))
            for entry_id, fields in newest:
                if fields.get(b"e") == b"new":
                    start = _before(entry_id)
                    break
        yield from self._watch(key, root, descend=True, start=start)

    def _stream_for(self, db_name: str, node_type: str) -> tuple[str, bool] | None:
        """The stream to watch for a node, and whether to descend into its children."""
        if node_type in CHANNEL_TYPES:
            if not self._nodes_only and self._included(node_type):
                return data_key(db_name, self._prefix), False
            return None
        descend = node_type not in self._exclude
        # Not descending into a scan: still watch its own stream, for its END_SCAN.
        if descend or (not self._nodes_only and node_type in SCAN_TYPES):
            return children_key(db_name, self._prefix), descend
        return None

    def _prefetch(self, children: list[tuple[str, str]]) -> dict[str, _Prefetched]:
        """Own hash and first chunk of stream of several new nodes, in one round trip."""
        pipe = self._redis.pipeline(transaction=False)
        plan = []
        for db_name, node_type in children:
            watch = self._stream_for(db_name, node_type)
            pipe.hgetall(node_key(db_name, self._prefix))
            if watch is not None:
                pipe.xrange(watch[0], min="0-0", count=_CHUNK)
            plan.append((db_name, watch is not None))
        expected = {}
        for db_name, node_type in children:
            expected.update(validate.node_keys_expected(db_name, node_type, self._prefix))
        with validate.wrong_type_reported(self._redis, expected):
            replies = iter(pipe.execute())
        return {name: (next(replies), next(replies) if watched else None) for name, watched in plan}

    def _discover(
        self, db_name: str, node_type: str, prefetched: _Prefetched | None = None
    ) -> Iterator[WalkEvent]:
        """A child found in its parent's stream: announce it, then read what it holds."""
        if prefetched is None:
            prefetched = self._prefetch([(db_name, node_type)])[db_name]
        raw_fields, first_chunk = prefetched
        if not raw_fields:
            return  # expired since its parent listed it
        node = self.root.node_for(db_name, node_type)
        node._fields = validate.node_fields(raw_fields, db_name, self._prefix)
        if self._included(node_type):
            yield (Event.NEW_NODE, node, None)
        watch = self._stream_for(db_name, node_type)
        if watch is None:
            return
        if self._data_filter is not None and node_type in CHANNEL_TYPES:
            # Its first chunk came with its hash (no round trip between a master's channels,
            # so a reader sees them all at once): dropped if the filter refuses the data.
            if not self._data_filter(node):
                self._unread[db_name] = node
                return
        key, descend = watch
        yield from self._watch(key, node, descend, first_chunk=first_chunk)

    def _read_wanted(self) -> Iterator[WalkEvent]:
        """The channels asked for with want_data(): their data so far, then watched."""
        while True:
            with self._want_lock:
                if not self._wanted:
                    return
                node = self._unread.pop(self._wanted.pop(), None)
            if node is not None:
                yield from self._watch(data_key(node.db_name, self._prefix), node, descend=False)

    def _watch(
        self,
        key: str,
        node: DataNode,
        descend: bool,
        start: bytes | str = "0-0",
        first_chunk: list[StreamEntry] | None = None,
    ) -> Iterator[WalkEvent]:
        self._streams[key] = start
        self._owners[key] = (node, descend)
        yield from self._catch_up(key, first_chunk)

    def _catch_up(self, key: str, entries: list[StreamEntry] | None = None) -> Iterator[WalkEvent]:
        """Everything in a watched stream after its last seen entry, chunk by chunk."""
        while key in self._streams:
            if entries is None:
                reply = self._redis.xrange(key, min=self._streams[key], count=_CHUNK)
                entries = cast(list[StreamEntry], reply)
            yield from self._handle(key, entries)
            if len(entries) < _CHUNK:
                return  # the stream's end (for now): what comes later, XREAD gets
            entries = None

    def _pause_between_reads(self) -> None:
        """With a read_interval, wait until that long after the last answer.

        A plain sleep: cooperative where gevent patched `time` (beamshell's processes), and
        harmless in a thread of its own. A stop() meanwhile ends the iteration after it.
        """
        remaining = self._answered_at + self._read_interval - time.monotonic()
        if remaining > 0:
            time.sleep(remaining)

    def _read_live(self) -> list[StreamReply] | None:
        """Block until some watched stream grows; None on timeout or when nothing can grow.

        The wait is cut into server-side blocks shorter than the client's socket timeout
        (redis-py gives every client one), so a quiet hour is many answered XREADs, and a
        server that stops answering is still told apart from a session where nothing happens.
        """
        if not self._streams:
            return None
        streams: dict[KeyT, StreamIdT] = {key: last for key, last in self._streams.items()}
        streams[self._wake_key] = self._wake_seen
        slice_s = _block_slice(self._redis)
        deadline = None if self._timeout is None else time.monotonic() + self._timeout
        while not self._stopped:
            self._end_abandoned_scans(slice_s)
            block_s = slice_s
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                block_s = min(block_s, remaining)
            reply = stream_replies(self._redis.xread(streams, block=max(1, int(block_s * 1000))))
            if reply:
                return reply
        return []

    def _end_abandoned_scans(self, every: float) -> None:
        """About once per block slice: end the watched scans whose writer died (see lease).

        Their END entry is then read like any other, so the walker gives END_SCAN and a
        follower never waits for a scan whose process was killed.
        """
        now = time.monotonic()
        if not self._lease_checks or now < self._next_lease_check:
            return
        self._next_lease_check = now + every
        scans = [
            node.db_name
            for key, (node, _) in self._owners.items()
            if node.type in SCAN_TYPES and key == children_key(node.db_name, self._prefix)
        ]
        if not scans:
            return
        try:
            end_abandoned(self._redis, scans)
        except redis.ResponseError as exc:  # a read-only Redis user, no scripting
            log.warning("cannot end scans whose writer died (%s); not trying again", exc)
            self._lease_checks = False

    def _handle_reply(self, reply: list[StreamReply]) -> Iterator[WalkEvent]:
        by_key = [(reply_text(key), entries) for key, entries in reply]
        for key, entries in by_key:
            if key == self._wake_key:
                if self._stopped or any(_says_stop(fields) for _, fields in entries):
                    self._stopped = True
                    return
                self._wake_seen = entries[-1][0]  # want_data(): read at the loop's next turn
        by_key = [item for item in by_key if item[0] != self._wake_key]
        # Data before structure, and deeper structure before shallower: an END read in the
        # same reply as its data comes after them, and before a scan that began after it
        # (listed in the session's stream) is discovered.
        by_key.sort(key=lambda item: self._reply_order(item[0]))
        for key, entries in by_key:
            yield from self._handle(key, entries)

    def _reply_order(self, key: str) -> tuple[bool, int]:
        owner = self._owners.get(key)
        if owner is None:
            return (True, 0)
        node, descend = owner
        return (descend, -node.db_name.count(":"))

    def _handle(self, key: str, entries: list[StreamEntry]) -> Iterator[WalkEvent]:
        if key not in self._streams:
            return  # unwatched meanwhile (its scan ended)
        last = _entry_id(self._streams[key])
        entries = [entry for entry in entries if _entry_id(entry[0]) > last]
        if not entries:
            return
        node, descend = self._owners[key]
        if node.type in CHANNEL_TYPES:
            # make_node() gives channel types a ChannelNode; every entry is checked (a bad
            # one raises CorruptData).
            data = cast("ChannelNode", node).decode(entries)
            first_index = validate.batch_span(entries[0], node.db_name, self._prefix)[0]
            self._streams[key] = entries[-1][0]
            yield (Event.NEW_DATA, node, ChannelData(first_index, data))
            return
        parsed = [
            (entry_id, validate.child_entry(fields, node.db_name, entry_id, self._prefix))
            for entry_id, fields in entries
        ]
        children = [(name, kind) for _, (event, name, kind) in parsed if descend and event == "new"]
        prefetched = self._prefetch(children) if children else {}
        for entry_id, (event, name, child_type) in parsed:
            if key not in self._streams:
                return
            self._streams[key] = entry_id
            if event == "new" and descend:
                yield from self._discover(name, child_type, prefetched[name])
            elif event == "end":
                yield from self._end(node)

    def _start_wanted_below(self, prefix: str) -> None:
        """Watch from their first point the channels below `prefix` that were asked for.

        The scan's end drains them with the others: a want_data() that said True is never
        lost, however late before the end it came. (Called with the want lock held.)
        """
        for name in [name for name in self._wanted if name.startswith(prefix)]:
            self._wanted.discard(name)
            node = self._unread.pop(name, None)
            if node is not None:
                key = data_key(name, self._prefix)
                self._streams[key] = "0-0"
                self._owners[key] = (node, False)

    def _end(self, node: DataNode) -> Iterator[WalkEvent]:
        """A scan ended: give what is left of its subtree, then END_SCAN, then forget it."""
        prefix = node.db_name + ":"

        def below(key: str) -> bool:
            return self._owners[key][0].db_name.startswith(prefix)

        drained: set[str] = set()
        # The end marker is written after the last data: everything is in Redis now.
        while True:
            with self._want_lock:
                self._start_wanted_below(prefix)
                todo = [k for k in self._streams if below(k) and k not in drained]
                if not todo:  # nothing left to read: want_data() says False from now on
                    for name in [name for name in self._unread if name.startswith(prefix)]:
                        del self._unread[name]
                    break
            pipe = self._redis.pipeline(transaction=False)
            for key in todo:
                pipe.xrange(key, min=self._streams[key], count=_CHUNK)
            for key, entries in zip(todo, pipe.execute(), strict=True):
                drained.add(key)
                yield from self._catch_up(key, entries)
        for key in [k for k in self._streams if below(k) or self._owners[k][0] is node]:
            del self._streams[key]
            del self._owners[key]
        if not self._nodes_only:
            # Stopped before the event is given: nothing read after it comes out.
            self._stopped = self._stopped or self._stop_on_end
            yield (Event.END_SCAN, node, None)
