"""Groups and sequences of scans: one `scan_group` node whose `node_ref_channel` lists the scans.

A Group bundles scans that already ran. A Sequence is opened before its scans run, so a
listener sees each scan as it is added; it may also publish custom channels of its own.
Both take a scan number of the session and end like a scan (final state, then END_SCAN).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import gevent

from beamshell.errors import BeamshellError
from beamshell.scanning.channel import AcquisitionChannel
from beamshell.scanning.context import ScanEnvironment, default_environment
from beamshell.scanning.scan import FINAL_STATES, Scan, ScanState
from beamshell.text import printable

if TYPE_CHECKING:
    from beamshell.data.node import DataNode

GROUPING_MASTER = "GroupingMaster"
SCANS_CHANNEL = "scans"


class GroupError(BeamshellError):
    """A group or a sequence cannot take a scan; the message names the culprit."""


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S")


class _GroupPublication:
    """The Redis side of a group or a sequence: its node, its list of scans, its channels."""

    def __init__(self, env: ScanEnvironment, name: str, scan_info: dict[str, Any]):
        from beamshell.data.publish import DataPublisher  # lazy: only when a group is made

        redis = env.redis
        if redis is None:  # not publishing
            raise GroupError(
                f"{name}: groups of scans live in Redis, and this session does "
                "not publish scan data"
            )
        self.env = env
        self.scan_number = env.next_scan_number()
        self.db_name = env.scan_saving.scan_node_name(self.scan_number, name)
        self.start_time = time.time()
        saving = env.scan_saving.get()
        saved = saving["writer"] != "null"
        scan_info.update(
            filename=saving["filename"] if saved else None,
            save=saved,
            writer=saving["writer"],
            scan_nb=self.scan_number,
            type=name,
            session=env.session_name,
            user=env.user,
            node_name=self.db_name,
            state=ScanState.RUNNING.name,
            start_time=_now(),
            start_timestamp=self.start_time,
        )
        self.scan_info = scan_info
        self._publisher = DataPublisher(redis, expiration=env.data_expiration)
        self._publisher.create_node(self.db_name, "scan_group", scan_info, parent=env.session_name)
        from beamshell.data.lease import ScanLease

        self._lease = ScanLease(redis, self.db_name, env.lease_time)
        self._lease.acquire()
        self.master = self._publisher.create_node(
            f"{self.db_name}:{GROUPING_MASTER}", "master", {}, parent=self.db_name
        )
        self._scans = self._publisher.create_node_ref_channel(
            f"{self.master}:{SCANS_CHANNEL}", parent=self.master
        )
        self._ended = False

    def add_channel(self, channel: AcquisitionChannel) -> None:
        """Publish what `channel.emit(...)` receives under the group's master."""
        info = {"unit": channel.unit} if channel.unit else {}
        remote = self._publisher.create_channel(
            f"{self.master}:{channel.name}",
            parent=self.master,
            dtype=channel.dtype.str,
            shape=channel.shape,
            info=info,
        )
        channel.set_publisher(remote.append)

    def reference(self, scan_db_name: str) -> None:
        """Append a scan to the group's list, written at once so listeners see it now."""
        self._scans.append(scan_db_name)
        self._publisher.flush()

    def end(self, state: ScanState) -> None:
        """Final state and end time, then END_SCAN; the publisher is released in any case."""
        if self._ended:
            return
        self._ended = True
        self.scan_info.update(state=state.name, end_time=_now(), end_timestamp=time.time())
        try:
            self._publisher.update_info(
                self.db_name,
                {
                    "state": state.name,
                    "end_time": self.scan_info["end_time"],
                    "end_timestamp": self.scan_info["end_timestamp"],
                },
            )
            self._publisher.end_scan(self.db_name)
        finally:
            self._lease.release()
            self._publisher.close()

    @property
    def node(self) -> DataNode:
        from beamshell.data.node import get_node

        return get_node(self.db_name, connection=self.env.redis)


def _describe(item: Any) -> str:
    text = repr(item)
    return text if len(text) <= 60 else text[:57] + "..."


class Group:
    """Bundle scans that already ran: `Group(s1, s2, 57, node, title=..., scan_info=...)`.

    Each item is a Scan that has terminated, a scan's data node, or a scan number of this
    session whose data are still in Redis. Everything is checked before the group takes its
    scan number, so a wrong item leaves nothing behind.
    """

    NAME = "group_of_scans"

    def __init__(
        self,
        *scans: Any,
        title: str | None = None,
        scan_info: dict[str, Any] | None = None,
        env: ScanEnvironment | None = None,
    ):
        self.env = env if env is not None else default_environment()
        if not scans:
            raise GroupError("Group: give at least one scan (Scan object, data node or number)")
        db_names = [self._db_name_of(item, index) for index, item in enumerate(scans, 1)]
        info = dict(scan_info or {})
        info["title"] = title or info.get("title") or self.NAME
        info["npoints"] = len(db_names)
        self._publication = _GroupPublication(self.env, self.NAME, info)
        try:
            for db_name in db_names:
                self._publication.reference(db_name)
        except BaseException:
            self._publication.end(ScanState.ABORTED)
            raise
        self._publication.end(ScanState.DONE)
        self.scans = db_names

    @property
    def scan_info(self) -> dict[str, Any]:
        return self._publication.scan_info

    @property
    def scan_number(self) -> int:
        return self._publication.scan_number

    @property
    def node(self) -> DataNode:
        return self._publication.node

    @property
    def state(self) -> ScanState:
        return ScanState[self.scan_info["state"]]

    def _db_name_of(self, item: Any, index: int) -> str:
        if isinstance(item, Scan):
            if item.state not in FINAL_STATES:
                raise GroupError(
                    f"Group: item {index}, scan {item.name} "
                    f"(number {item.scan_number}), has not terminated "
                    f"(state {item.state.name})"
                )
            if not self.env.publishing or item.node_name is None:
                raise GroupError(f"Group: item {index}, scan {item.name}, was not published")
            return item.node_name
        if isinstance(item, bool) or not (isinstance(item, int | str) or hasattr(item, "db_name")):
            raise GroupError(
                f"Group: item {index} is {_describe(item)} "
                f"({type(item).__name__}); give Scan objects, scan data nodes "
                "or scan numbers"
            )
        if isinstance(item, int):
            return self._db_name_of_number(item, index)
        node: DataNode = item
        if isinstance(item, str):
            from beamshell.data.errors import NodeNotFound
            from beamshell.data.node import get_node

            try:
                node = get_node(item, connection=self.env.redis)
            except NodeNotFound:
                raise GroupError(
                    f"Group: item {index}, node {item}, is not in Redis "
                    "(expired, or never published)"
                ) from None
        if not node.exists() or node.type != "scan":
            raise GroupError(
                f"Group: item {index}, node {node.db_name}, is not a scan in Redis "
                "(expired, or never published)"
            )
        return node.db_name

    def _db_name_of_number(self, number: int, index: int) -> str:
        from beamshell.data.node import get_session_node

        session = get_session_node(self.env.session_name, connection=self.env.redis)
        node: DataNode  # walk() yields nodes (no events asked for)
        for node in session.walk(include_filter="scan", wait=False):
            if node.info.get("scan_nb") == number:
                return node.db_name
        raise GroupError(
            f"Group: item {index}, scan number {number}, is not in Redis "
            f"for session {self.env.session_name} (expired, or never run)"
        )

    def __repr__(self) -> str:
        return (
            f"Group(number={self.scan_number}, scans={len(self.scans)}, "
            f"state={self.scan_info['state']}, node={self._publication.db_name})"
        )


class SequenceContext:
    """What `with seq.sequence_context() as scan_seq:` gives: `add` and `add_and_run`."""

    def __init__(self, sequence: Sequence, publication: _GroupPublication):
        self._sequence = sequence
        self._publication = publication
        self.scans: list[Scan] = []

    def add(self, scan: Scan) -> None:
        """Add a scan prepared with run=False (run it later in the block) or one that ran."""
        if not isinstance(scan, Scan):
            raise GroupError(f"Sequence.add: {_describe(scan)} is not a Scan")
        if scan in self.scans:
            raise GroupError(
                f"Sequence.add: scan {scan.name} (number {scan.scan_number}) "
                "is already in the sequence"
            )
        # A scan that has not run gets its number and node now, so that a listener sees it
        # in the sequence before its first point.
        db_name = scan.prepare_node()
        self._publication.reference(db_name)
        self.scans.append(scan)
        scan.sequence = self._sequence  # its scans may run side by side

    def add_and_run(self, scan: Scan) -> None:
        """Add a scan that has not run and run it here: its table prints, its errors raise."""
        if isinstance(scan, Scan) and scan.state is not ScanState.IDLE:
            raise GroupError(
                f"Sequence.add_and_run: scan {scan.name} (number "
                f"{scan.scan_number}) has already run; use add()"
            )
        self.add(scan)
        scan.run()

    def unfinished(self) -> list[Scan]:
        return [scan for scan in self.scans if scan.state not in FINAL_STATES]


class Sequence:
    """Scans run (or added) inside `with seq.sequence_context() as scan_seq:` as one group."""

    NAME = "sequence_of_scans"

    def __init__(
        self,
        title: str | None = None,
        scan_info: dict[str, Any] | None = None,
        env: ScanEnvironment | None = None,
    ):
        self.env = env if env is not None else default_environment()
        self._scan_info = dict(scan_info or {})
        self._scan_info["title"] = title or self._scan_info.get("title") or self.NAME
        self.custom_channels: dict[str, AcquisitionChannel] = {}
        self._publication: _GroupPublication | None = None
        self._context: SequenceContext | None = None
        self.state = ScanState.IDLE

    @property
    def scan_info(self) -> dict[str, Any]:
        return self._publication.scan_info if self._publication else self._scan_info

    @property
    def scan_number(self) -> int | None:
        return self._publication.scan_number if self._publication else None

    @property
    def node(self) -> DataNode:
        if self._publication is None:
            raise GroupError(
                "Sequence.node: the sequence has not started (enter seq.sequence_context() first)"
            )
        return self._publication.node

    @property
    def scans(self) -> list[Scan]:
        return list(self._context.scans) if self._context else []

    def add_custom_channel(self, channel: AcquisitionChannel) -> None:
        """Publish an extra channel with the sequence (call before sequence_context)."""
        if not isinstance(channel, AcquisitionChannel):
            raise GroupError(
                f"Sequence.add_custom_channel: {_describe(channel)} is not an AcquisitionChannel"
            )
        if self._publication is not None:
            raise GroupError(
                "Sequence.add_custom_channel: the sequence has started; add "
                "channels before entering sequence_context()"
            )
        if channel.name in self.custom_channels or channel.name == SCANS_CHANNEL:
            raise GroupError(f"Sequence.add_custom_channel: a channel '{channel.name}' exists")
        self.custom_channels[channel.name] = channel

    @contextlib.contextmanager
    def sequence_context(self) -> Iterator[SequenceContext]:
        if self._publication is not None:
            raise GroupError("Sequence: a sequence runs once; create a new Sequence")
        self._publication = _GroupPublication(self.env, self.NAME, self._scan_info)
        self.state = ScanState.RUNNING
        self._context = SequenceContext(self, self._publication)
        out = self.env.stream
        try:
            for channel in self.custom_channels.values():
                self._publication.add_channel(channel)
            if self.env.display:
                print(
                    f"\nSequence {self.scan_number} {time.ctime(self._publication.start_time)} "
                    f"{self.env.session_name} user = {self.env.user}\n{printable(str(self.scan_info['title']))}",
                    file=out,
                    flush=True,
                )
            yield self._context
            unfinished = self._context.unfinished()
            if unfinished:
                names = ", ".join(
                    f"{scan.name} (number {scan.scan_number}, state {scan.state.name})"
                    for scan in unfinished
                )
                raise GroupError(
                    f"Sequence {self.scan_number}: leaving the sequence with "
                    f"scans that have not terminated: {names}"
                )
            self.state = ScanState.DONE
        except gevent.GreenletExit:
            self.state = ScanState.KILLED
            raise
        except BaseException:
            self.state = ScanState.ABORTED
            raise
        finally:
            for channel in self.custom_channels.values():
                channel.set_publisher(None)
            self._publication.end(self.state)
            if self.env.display:
                took = time.time() - self._publication.start_time
                print(
                    f"Sequence {self.scan_number} {self.state.name}, "
                    f"{len(self._context.scans)} scans, took {_duration(took)}",
                    file=out,
                    flush=True,
                )

    def __repr__(self) -> str:
        number = self.scan_number if self.scan_number is not None else "-"
        return f"Sequence(number={number}, state={self.state.name}, scans={len(self.scans)})"


def _duration(seconds: float) -> str:
    from datetime import timedelta

    return str(timedelta(seconds=seconds))
