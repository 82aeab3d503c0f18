"""Following a session in Redis into the plot model: blocking walk_events, never polling.

Of a scan, the follower reads the points of the channels some page shows (and of one
channel for the progress): a channel a page starts showing is then read from its first
point. A page costs Redis and this process what it draws, not what the scan records.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import gevent
import gevent.pool
import redis

from beamshell.data import validate
from beamshell.data.errors import CorruptData
from beamshell.data.events import Event
from beamshell.data.keys import info_key, prefix_of
from beamshell.data.node import (
    ChannelNode,
    ContainerNode,
    DataNode,
    NodeNotFound,
    get_node,
    get_session_node,
)
from beamshell.errors import BeamshellError
from beamshell.plotting.model import HISTORY_SIZE, ScanModel, SessionModel

if TYPE_CHECKING:
    from beamshell.data.walk import Walker

log = logging.getLogger("beamshell.plotting")

# A running scan's info (its state) is re-read with its data, at most this often.
INFO_REFRESH_S = 0.25
# Scans that pages asked for (history, overlays) kept in memory, most recent use last.
LOADED_CACHE_SIZE = 8
# After Redis went away: first and longest wait before following again.
RETRY_FIRST_S = 0.5
RETRY_MAX_S = 10.0
# While points flow, the follower reads Redis at most this often: each XREAD then takes a
# tenth of a second of points at once (pages get at most 8 updates a second anyway), which
# costs Redis and this process far less than one read per batch the scan writes (hundreds
# a second at full speed). On a busy machine that work would land on the scan's own core.
READ_INTERVAL_S = 0.1
# Scans of these types are listed but do not take the pages' plot away from the last scan.
NOT_FOLLOWED_TYPES = frozenset({"ct"})


def _channel_meta(node: ChannelNode) -> tuple[tuple[int, ...], str, str | None]:
    if node.type == "node_ref_channel":
        return (), "ref", None
    return node.shape, node.dtype.str, node.info.get("unit")


class SessionFollower:
    """Feeds a SessionModel from a session's scan data (a greenlet; `stop()` ends it)."""

    def __init__(self, model: SessionModel, connection: redis.Redis):
        self.model = model
        self._session = get_session_node(model.session, connection=connection)
        self._redis = self._session.connection  # binary-safe (payloads are raw bytes)
        self._nodes: dict[str, DataNode] = {}  # followed scan id -> its node (info re-reads)
        self._walker: Walker | None = None
        self._greenlet: gevent.Greenlet[[], None] | None = None
        self._readers = gevent.pool.Group()  # reading ended scans' channels shown late
        self._stopped = False
        self._loaded: OrderedDict[str, ScanModel] = OrderedDict()
        self._shown: frozenset[str] | None = frozenset()  # channels pages show; None: all

    # ---- life --------------------------------------------------------------------------
    def start(self) -> None:
        self._greenlet = gevent.spawn(self._run)

    def stop(self) -> None:
        self._stopped = True
        # Readers first: waking the walker is a Redis round trip, which lets them run.
        self._readers.kill()
        if self._walker is not None:
            self._walker.stop()
        if self._greenlet is not None:
            self._greenlet.join(5)
            self._greenlet.kill()

    def _run(self) -> None:
        delay = RETRY_FIRST_S
        while not self._stopped:
            try:
                self._read_history()
                self.model.error = None
                self.model.changed.notify()
                delay = RETRY_FIRST_S
                self._follow()
            except (BeamshellError, redis.RedisError, OSError) as exc:
                message = (str(exc).splitlines() or [type(exc).__name__])[0]
                if self.model.error != message:
                    log.warning("following session %s: %s", self.model.session, message)
                self.model.error = message
                self.model.changed.notify()
            if self._stopped:
                return
            # Redis is away: wait before trying again (nothing to block on meanwhile).
            gevent.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_S)

    # ---- the history list ---------------------------------------------------------------
    def _read_history(self) -> None:
        """The session's latest scans (info only) in one pipelined read, oldest first."""
        children = [n for n in self._session.children() if n.type in ("scan", "scan_group")]
        children = children[-HISTORY_SIZE:]
        prefix = prefix_of(self._redis)  # the configuration's key prefix, if any
        pipe = self._redis.pipeline(transaction=False)
        for node in children:
            pipe.hgetall(info_key(node.db_name, prefix))

        summaries = []
        for node, raw in zip(children, pipe.execute(), strict=True):
            try:
                info = validate.info(raw, node.db_name, prefix)
            except CorruptData as exc:  # listed, and said why: the other scans still show
                log.warning("history: %s", exc)
                info = {"title": f"(unreadable info: {exc.what})"}
            scan = ScanModel(node.db_name, node.type, info)
            if node.type == "scan_group":
                scan.members = self._group_members(node)
            summaries.append(scan.summary())
        self.model.set_history(summaries)

    def _group_members(self, group: DataNode) -> list[str]:
        if not isinstance(group, ContainerNode):
            return []
        for master in group.children():
            if not isinstance(master, ContainerNode):
                continue
            for channel in master.children():
                if channel.type == "node_ref_channel" and isinstance(channel, ChannelNode):
                    return [node.db_name for node in channel.get(0, -1)]
        return []

    # ---- which channels are read ---------------------------------------------------------
    def show_channels(self, names: frozenset[str] | None) -> None:
        """Read the points of these channels (None: of every channel) from now on.

        A channel of a scan followed now (or of the live one, ended) that was not read is
        read from its first point; one that was read stays read until its scan ends.
        """
        self._shown = names
        scans = {scan.id: scan for scan in self.model.followed.values()}
        if self.model.live is not None:
            scans[self.model.live.id] = self.model.live
        for scan in scans.values():
            for name in [name for name in scan.unread if self._shows(name)]:
                self._start_reading(scan, name)

    def _shows(self, name: str) -> bool:
        return self._shown is None or name in self._shown

    def _reads_data(self, node: DataNode) -> bool:
        """The walker's data filter: read this channel's points now?"""
        scan = self.model.scan_of(node.db_name)
        if node.type != "channel" or scan is None or scan.kind != "scan":
            return True  # a group's member list, or not ours
        if scan.info.get("type") in NOT_FOLLOWED_TYPES:
            return True  # never drawn live, and a few points: read for the history's counts
        name = scan.name_of(node.db_name)
        if name is None:
            return False  # not kept (images)
        # The first scalar channel is read whatever pages show: the scan's progress.
        progress = name in scan.series and all(
            other in scan.unread for other in scan.series if other != name
        )
        if self._shows(name) or progress:
            return True
        scan.unread.add(name)
        return False

    def _start_reading(self, scan: ScanModel, name: str) -> None:
        scan.unread.discard(name)
        db_name = scan.db_name_of(name)
        walker = self._walker
        if walker is not None and walker.want_data(db_name):
            return  # the walker reads it from its first point on
        # Its scan's walk is over: every point is in Redis already.
        self._readers.spawn(self._read_ended_channel, scan, name, db_name)

    def _read_ended_channel(self, scan: ScanModel, name: str, db_name: str) -> None:
        try:
            node = get_node(db_name, connection=self._redis)
            for event, _, data in node.walk_events(wait=False):
                if event is Event.NEW_DATA:
                    scan.add_points(db_name, data.first_index, data.data)
        except (BeamshellError, redis.RedisError, OSError) as exc:
            log.warning("reading channel %s: %s", db_name, (str(exc).splitlines() or [""])[0])
            scan.unread.add(name)  # a page that shows it later tries again
        self.model.changed.notify()

    # ---- live events --------------------------------------------------------------------
    def _follow(self) -> None:
        walker = self._walker = self._session.walk_events(
            from_last=True, data_filter=self._reads_data, read_interval=READ_INTERVAL_S
        )
        if self._stopped:
            walker.stop()
        for event, node, data in walker:
            if event is Event.NEW_NODE:
                self._new_node(node)
            elif event is Event.NEW_DATA:
                self._new_data(node, data)
            elif event is Event.END_SCAN:
                self._end(node)
            self.model.changed.notify()

    def _new_node(self, node: DataNode) -> None:
        model = self.model
        if node.type in ("scan", "scan_group"):
            scan = ScanModel(node.db_name, node.type, node.info)
            model.followed[scan.id] = scan
            self._nodes[scan.id] = node
            model.record(scan)
            if node.type == "scan" and scan.info.get("type") not in NOT_FOLLOWED_TYPES:
                model.live = scan
            return
        owner = model.scan_of(node.db_name)
        if owner is None or node.type != "channel" or not isinstance(node, ChannelNode):
            return
        shape, dtype, unit = _channel_meta(node)
        if len(shape) <= 1:
            owner.add_channel(node.db_name, shape, dtype, unit)

    def _new_data(self, node: DataNode, data: Any) -> None:
        scan = self.model.scan_of(node.db_name)
        if scan is None:
            return
        if node.type == "node_ref_channel":
            for member in data.data:
                if member.db_name not in scan.members:
                    scan.members.append(member.db_name)
            self.model.record(scan)
            return
        scan.add_points(node.db_name, data.first_index, data.data)
        # Until the scan is seen RUNNING, at each batch: a page must not show it IDLE.
        running = scan.info.get("state") == "RUNNING"
        if not running or time.monotonic() - scan.info_read_at >= INFO_REFRESH_S:
            self._refresh_info(scan)

    def _refresh_info(self, scan: ScanModel) -> None:
        node = self._nodes.get(scan.id)
        if node is None:
            return
        old_state = scan.info.get("state")
        scan.info = node.info or scan.info
        scan.info_read_at = time.monotonic()
        if scan.info.get("state") != old_state:
            self.model.record(scan)

    def _end(self, node: DataNode) -> None:
        scan = self.model.followed.pop(node.db_name, None)
        self._nodes.pop(node.db_name, None)
        if scan is None:
            return
        scan.info = node.info or scan.info  # after END_SCAN: the final state
        scan.ended = True
        self.model.record(scan)
        self.model.ended.notify()

    # ---- scans a page asks for ----------------------------------------------------------
    def load(self, scan_id: str, whole: bool = True) -> ScanModel:
        """A scan of the session read whole from Redis (the live one as it is now).

        whole=False: a scan being followed is given as held, with the channels pages show.
        """
        model = self.model
        held = model.followed.get(scan_id)
        if model.live is not None and model.live.id == scan_id:
            held = model.live
        if held is not None and (not whole or not held.unread):
            return held
        if scan_id in self._loaded:
            self._loaded.move_to_end(scan_id)
            return self._loaded[scan_id]
        if not scan_id.startswith(model.session + ":"):
            raise NodeNotFound(scan_id, "this session")
        node = get_node(scan_id, connection=self._redis)
        if node.type not in ("scan", "scan_group"):
            raise NodeNotFound(scan_id, "the scans of this session")
        scan = ScanModel(node.db_name, node.type, node.info)
        scan.ended = held is None or held.ended
        if node.type == "scan_group":
            scan.members = self._group_members(node)
        else:
            self._load_channels(node, scan)
        if not scan.ended:
            return scan  # a running scan read whole: as it is now, not kept
        self._loaded[scan_id] = scan
        while len(self._loaded) > LOADED_CACHE_SIZE:
            self._loaded.popitem(last=False)
        return scan

    def _load_channels(self, node: DataNode, scan: ScanModel) -> None:
        for event, channel, data in node.walk_events(include_filter="channel", wait=False):
            if event is Event.NEW_NODE:
                shape, dtype, unit = _channel_meta(channel)
                if len(shape) <= 1:
                    scan.add_channel(channel.db_name, shape, dtype, unit)
            elif event is Event.NEW_DATA:
                scan.add_points(channel.db_name, data.first_index, data.data)
