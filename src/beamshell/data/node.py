"""Reading scan data from any process: nodes, their info, channel data and walking events.

Imports only redis, numpy, the data package and config.redis_access (and, lazily,
config.redis_server to find the server), never the shell, hardware or scanning packages.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any, TypeVar, cast

import numpy as np
import redis

from beamshell.data import encoding, validate
from beamshell.data.connection import StreamEntry, describe_url, reader_connection
from beamshell.data.errors import CorruptData, NodeNotFound
from beamshell.data.events import END_SCAN, NEW_DATA, NEW_NODE, ChannelData, Event
from beamshell.data.keys import (
    CHANNEL_TYPES,
    SCAN_TYPES,
    children_key,
    data_key,
    info_key,
    node_key,
    prefix_of,
    short_name,
)
from beamshell.data.walk import Walker

__all__ = [
    "END_SCAN",
    "NEW_DATA",
    "NEW_NODE",
    "ChannelData",
    "ChannelNode",
    "ContainerNode",
    "CorruptData",
    "DataNode",
    "Event",
    "NodeNotFound",
    "NodeRefChannelNode",
    "ScanNode",
    "SessionNode",
    "Walker",
    "get_node",
    "get_session_node",
]

_T = TypeVar("_T")


class DataNode:
    """A node of the scan-data tree: its name, type, info hash and place under its parent."""

    def __init__(
        self,
        connection: redis.Redis,
        db_name: str,
        node_type: str,
        fields: dict[str, str] | None = None,
    ):
        self._redis = connection
        self._prefix = prefix_of(connection)  # the configuration's key prefix
        self.db_name = db_name
        self.type = node_type
        self._fields = fields

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.db_name} ({self.type})>"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DataNode) and other.db_name == self.db_name

    def __hash__(self) -> int:
        return hash(self.db_name)

    @property
    def name(self) -> str:
        """The last part of db_name (`diode` for `demo:tmp:scans:12_loopscan:timer:diode`)."""
        return short_name(self.db_name)

    @property
    def connection(self) -> redis.Redis:
        return self._redis

    @property
    def fields(self) -> dict[str, str]:
        """The node's own hash (type, parent, dtype, shape), read once."""
        if self._fields is None:
            self._fields = _read_fields(self._redis, self.db_name)
        return self._fields

    @property
    def info(self) -> dict[str, Any]:
        """The node's info hash, read afresh from Redis at each access."""
        key = info_key(self.db_name, self._prefix)
        with validate.wrong_type_reported(self._redis, {key: (self.db_name, "hash")}):
            raw = self._redis.hgetall(key)
        return validate.info(raw, self.db_name, self._prefix)

    @property
    def parent(self) -> DataNode | None:
        """The parent node (a scan's parent is its session), None for a session."""
        parent_name = self.fields.get("parent")
        return get_node(parent_name, connection=self._redis) if parent_name else None

    def exists(self) -> bool:
        """False once the node's keys have expired (or before it was created)."""
        return bool(self._redis.exists(node_key(self.db_name, self._prefix)))

    def node_for(self, db_name: str, node_type: str | None = None) -> DataNode:
        """A node of the same Redis (type read from Redis unless given)."""
        return get_node(db_name, connection=self._redis, node_type=node_type)

    # ---- walking -----------------------------------------------------------------------

    def walk(
        self,
        include_filter: str | Iterable[str] | None = None,
        exclude_children: str | Iterable[str] | None = None,
        wait: bool = True,
        timeout: float | None = None,
    ) -> Walker:
        """Iterate over the nodes below this one (children in creation order, depth first).

        With wait=True, the iteration then blocks for new nodes until stopped (see Walker).
        """
        return Walker(
            self, include_filter, exclude_children, wait, timeout=timeout, nodes_only=True
        )

    def walk_from_last(
        self,
        include_filter: str | Iterable[str] | None = None,
        exclude_children: str | Iterable[str] | None = None,
        wait: bool = True,
        timeout: float | None = None,
    ) -> Walker:
        """Like walk(), starting at the newest child (the last scan of a session)."""
        return Walker(
            self,
            include_filter,
            exclude_children,
            wait,
            timeout=timeout,
            nodes_only=True,
            from_last=True,
        )

    def walk_events(
        self,
        include_filter: str | Iterable[str] | None = None,
        exclude_children: str | Iterable[str] | None = None,
        wait: bool = True,
        from_last: bool = False,
        stop_on_end: bool = False,
        timeout: float | None = None,
        after: bytes | str | None = None,
        data_filter: Callable[[DataNode], bool] | None = None,
        read_interval: float = 0.0,
    ) -> Walker:
        """Iterate over (event, node, data): what exists now, then (wait=True) live events.

        NEW_NODE and NEW_DATA are given for nodes whose type passes include_filter (None: all);
        END_SCAN for every scan or group reached. NEW_DATA's data is a ChannelData. Stop with
        `walker.stop()` (from any greenlet or thread), `stop_on_end=True` (after this node's
        END_SCAN), or `timeout` (seconds without any event). A channel for which
        `data_filter(node)` is False is announced, its data read only once
        `walker.want_data(db_name)` asks for it (then from its first point). With
        `read_interval`, live reads are at least that many seconds apart while data flow,
        each taking what was written meanwhile (see Walker).
        """
        return Walker(
            self,
            include_filter,
            exclude_children,
            wait,
            timeout=timeout,
            from_last=from_last,
            stop_on_end=stop_on_end,
            after=after,
            data_filter=data_filter,
            read_interval=read_interval,
        )


class ContainerNode(DataNode):
    """A node with children: session, scan, scan_group, acquisition master."""

    def children(self) -> list[DataNode]:
        """Existing children in creation order (expired ones left out)."""
        key = children_key(self.db_name, self._prefix)
        with validate.wrong_type_reported(self._redis, {key: (self.db_name, "stream")}):
            entries = cast(list[StreamEntry], self._redis.xrange(key))
        names = []
        for entry_id, fields in entries:
            kind, name, node_type = validate.child_entry(
                fields, self.db_name, entry_id, self._prefix
            )
            if kind == "new":
                names.append((name, node_type))
        pipe = self._redis.pipeline(transaction=False)
        for name, _ in names:
            pipe.hgetall(node_key(name, self._prefix))
        expected = {node_key(name, self._prefix): (name, "hash") for name, _ in names}
        with validate.wrong_type_reported(self._redis, expected):
            replies = pipe.execute()
        return [
            make_node(self._redis, name, node_type, validate.node_fields(raw, name, self._prefix))
            for (name, node_type), raw in zip(names, replies, strict=True)
            if raw
        ]


class SessionNode(ContainerNode):
    """The root of one session's scans; exists even before its first scan."""


class ScanNode(ContainerNode):
    """A scan or a group of scans; END_SCAN marks its end."""


class ChannelNode(DataNode):
    """A channel: points of one dtype and shape, indexed from 0."""

    # The node hash is read once, so its checked dtype and shape are kept too.
    @functools.cached_property
    def dtype(self) -> np.dtype:
        return validate.channel_dtype(self.fields, self.db_name, self._prefix)

    @functools.cached_property
    def shape(self) -> tuple[int, ...]:
        return validate.channel_shape(self.fields, self.db_name, self._prefix)

    @functools.cached_property
    def point_bytes(self) -> int | None:
        """Bytes of one point in a payload (None: payloads are JSON)."""
        return self.dtype.itemsize * int(np.prod(self.shape, dtype=np.int64))

    def _read_data(self, call: Callable[[str], _T]) -> _T:
        key = data_key(self.db_name, self._prefix)
        with validate.wrong_type_reported(self._redis, {key: (self.db_name, "stream")}):
            return call(key)

    @property
    def unit(self) -> str | None:
        return self.info.get("unit")

    def __len__(self) -> int:
        last = cast(
            list[StreamEntry], self._read_data(lambda key: self._redis.xrevrange(key, count=1))
        )
        if not last:
            return 0
        # The same checks as get(): a batch that get() would refuse is not counted either.
        first, _, counts = validate.batches(last, self.db_name, self.point_bytes, self._prefix)
        return first + counts[0]

    def get(self, from_index: int, to_index: int | None = None) -> Any:
        """Points from_index..to_index inclusive (to_index=-1: to the end); one point if None."""
        if not isinstance(from_index, int | np.integer) or from_index < 0:
            raise ValueError(f"channel '{self.db_name}': bad from_index {from_index!r}")
        single = to_index is None
        stop = from_index if single else to_index
        if not isinstance(stop, int | np.integer) or stop < -1:
            raise ValueError(f"channel '{self.db_name}': bad to_index {to_index!r}")

        def read(key: str) -> list[Any]:
            pipe = self._redis.pipeline(transaction=False)
            pipe.xrevrange(key, max=f"{from_index}-1", min="-", count=1)  # the batch holding it
            pipe.xrange(key, min=f"{from_index}-1", max="+" if stop == -1 else f"{stop}-1")
            return pipe.execute()

        holding, following = self._read_data(read)
        entries = holding + [e for e in following if not holding or e[0] != holding[0][0]]
        values = self.decode(entries) if entries else self.empty()
        first = validate.batch_span(entries[0], self.db_name, self._prefix)[0] if entries else 0
        if first > from_index:
            raise CorruptData(
                self.db_name,
                data_key(self.db_name, self._prefix),
                f"points {from_index}..{first - 1} are missing (the first batch starts at {first})",
            )
        start = max(from_index - first, 0)
        end = len(values) if stop == -1 else stop - first + 1
        selected = values[start:end] if end > start else values[0:0]
        if single:
            if not len(selected):
                raise IndexError(
                    f"channel '{self.db_name}': no point {from_index} (it has {len(self)})"
                )
            return selected[0]
        return selected

    def empty(self) -> Any:
        return np.empty((0, *self.shape), dtype=self.dtype)

    def decode(self, entries: list[StreamEntry]) -> Any:
        """Points of consecutive stream entries, as one (n, *shape) array (each entry checked)."""
        _, payloads, _ = validate.batches(entries, self.db_name, self.point_bytes, self._prefix)
        return encoding.decode_points(payloads, self.dtype, self.shape)


class NodeRefChannelNode(ChannelNode):
    """A channel whose points are other nodes (a group's scans); get() returns nodes."""

    @property
    def dtype(self) -> np.dtype:
        return np.dtype(object)

    @property
    def shape(self) -> tuple[int, ...]:
        return ()

    @property
    def point_bytes(self) -> int | None:
        return None

    def empty(self) -> list[DataNode]:
        return []

    def decode(self, entries: list[StreamEntry]) -> list[DataNode]:
        _, payloads, counts = validate.batches(entries, self.db_name, None, self._prefix)
        names = validate.refs(payloads, counts, self.db_name, self._prefix)
        # A group may list a scan before the scan has created its node (run=False).
        return get_nodes(names, connection=self._redis, missing_type="scan")


_CLASSES: dict[str, type[DataNode]] = {
    "session": SessionNode,
    **{t: ScanNode for t in SCAN_TYPES},
    "channel": ChannelNode,
    "node_ref_channel": NodeRefChannelNode,
}
assert CHANNEL_TYPES <= _CLASSES.keys()


def make_node(
    connection: redis.Redis, db_name: str, node_type: str, fields: dict[str, str] | None = None
) -> DataNode:
    """The node object for a type (unknown types are containers, like acquisition masters)."""
    return _CLASSES.get(node_type, ContainerNode)(connection, db_name, node_type, fields)


def _read_fields(connection: redis.Redis, db_name: str) -> dict[str, str]:
    key = node_key(db_name, prefix_of(connection))
    with validate.wrong_type_reported(connection, {key: (db_name, "hash")}):
        raw = connection.hgetall(key)
    if not raw:
        raise NodeNotFound(db_name, describe_url(connection))
    return validate.node_fields(raw, db_name, prefix_of(connection))


def get_node(
    db_name: str,
    redis_url: str | None = None,
    connection: redis.Redis | None = None,
    node_type: str | None = None,
) -> DataNode:
    """The node named `db_name`; NodeNotFound if it does not exist (or expired)."""
    client = reader_connection(redis_url, connection)
    if node_type is not None:
        return make_node(client, db_name, node_type)
    fields = _read_fields(client, db_name)
    return make_node(client, db_name, fields["type"], fields)


def get_nodes(
    db_names: list[str],
    redis_url: str | None = None,
    connection: redis.Redis | None = None,
    missing_type: str | None = None,
) -> list[DataNode]:
    """Nodes for several names in one round trip.

    A name not (or no longer) in Redis raises NodeNotFound, unless `missing_type` is given:
    then it gives a node of that type whose own hash is read when first needed.
    """
    client = reader_connection(redis_url, connection)
    pipe = client.pipeline(transaction=False)
    prefix = prefix_of(client)
    for name in db_names:
        pipe.hgetall(node_key(name, prefix))
    with validate.wrong_type_reported(client, {node_key(n, prefix): (n, "hash") for n in db_names}):
        replies = pipe.execute()
    nodes = []
    for name, raw in zip(db_names, replies, strict=True):
        if not raw:
            if missing_type is None:
                raise NodeNotFound(name, describe_url(client))
            nodes.append(make_node(client, name, missing_type))
            continue
        fields = validate.node_fields(raw, name, prefix)
        nodes.append(make_node(client, name, fields["type"], fields))
    return nodes


def get_session_node(
    session_name: str, redis_url: str | None = None, connection: redis.Redis | None = None
) -> SessionNode:
    """The root node of a session's scans (usable before the session's first scan)."""
    if not isinstance(session_name, str) or not session_name or ":" in session_name:
        raise ValueError(f"bad session name {session_name!r}: a name without ':' is needed")
    client = reader_connection(redis_url, connection)
    return SessionNode(client, session_name, "session", {"type": "session", "parent": ""})
