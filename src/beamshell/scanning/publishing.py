"""Publishing a scan to Redis: its nodes, its channels' data in batches, its end."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import gevent
import gevent.event

from beamshell.errors import BeamshellError

if TYPE_CHECKING:
    from beamshell.scanning.scan import Scan


class ScanPublishError(BeamshellError):
    """Publishing a scan's data failed; the message names the scan and the reason."""


class ScanPublisher:
    """Creates the scan's nodes and forwards its channels' new points to a DataPublisher.

    The scan only wakes the forwarder (one Event.set per point); the forwarder greenlet runs
    whenever the scan yields and hands every new point of every channel to the DataPublisher
    as one numpy batch per channel, which writes them in pipelined transactions.
    """

    def __init__(self, scan: Scan):
        from beamshell.data.publish import DataPublisher  # lazy: only scans that publish

        self.scan = scan
        env = scan.env
        self._publisher = DataPublisher(env.redis, expiration=env.data_expiration)
        self.wake = gevent.event.Event()
        self.error: BaseException | None = None
        self._forwarder: gevent.Greenlet | None = None
        self._channels = []
        self._lease = None

    def _failure(self, exc: BaseException, what: str) -> ScanPublishError:
        return ScanPublishError(f"scan {self.scan.node_name}: {what} failed: {exc}")

    def create_nodes(self, info: dict[str, Any]) -> None:
        scan = self.scan
        publisher = self._publisher
        scan_node = scan.node_name
        try:
            publisher.create_node(scan_node, "scan", info, parent=scan.env.session_name)
            master_nodes = {}
            for device in scan.acq_chain.devices:
                if not hasattr(device, "children"):
                    continue
                parent = master_nodes.get(id(device.parent), scan_node)
                node = publisher.create_node(f"{parent}:{device.name}", "master", {}, parent=parent)
                master_nodes[id(device)] = node
            for channel in scan.channels:
                master_node = master_nodes[id(channel.master)]
                info = {"unit": channel.unit} if channel.unit else {}
                remote = publisher.create_channel(
                    f"{master_node}:{channel.name}",
                    parent=master_node,
                    dtype=channel.dtype.str,
                    shape=channel.shape,
                    info=info,
                )
                channel.set_publisher(remote.append, deferred=True)
                self._channels.append(channel)
            self._hold_lease()
        except Exception as exc:
            raise self._failure(exc, "creating its data nodes in Redis") from exc
        self._forwarder = gevent.spawn(self._forward_loop)

    def _hold_lease(self) -> None:
        """Followers end the scan KILLED if this process dies without ending it (data.lease)."""
        from beamshell.data.lease import ScanLease

        def lost() -> None:
            reason = (
                f"this process stalled for more than its {self._lease.lease_time:g} s lease, "
                "and a reader ended the scan KILLED"
            )
            self.error = ScanPublishError(f"scan {self.scan.node_name}: {reason}")

        self._lease = ScanLease(
            self.scan.env.redis, self.scan.node_name, self.scan.env.lease_time, lost
        )
        self._lease.acquire()

    def update_info(self, info: dict[str, Any]) -> None:
        if self._lease is not None and self._lease.lost:
            return  # a reader ended the scan KILLED: its node is not ours to change any more
        try:
            self._publisher.update_info(self.scan.node_name, info)
        except Exception as exc:
            raise self._failure(exc, "updating its info in Redis") from exc

    def _forward_loop(self) -> None:
        while True:
            self.wake.wait()
            self.wake.clear()
            try:
                for channel in self._channels:
                    channel.flush()
            except Exception as exc:  # noqa: BLE001  (the scan raises it at its next point)
                self.error = self._failure(exc, "publishing its data")
                return

    def check(self) -> None:
        """Raise the forwarder's error in the scan's greenlet."""
        if self.error is not None:
            raise self.error

    def finish(self, info: dict[str, Any]) -> None:
        """Every remaining point, the final info, then END_SCAN; always releases the publisher."""
        if self._forwarder is not None:
            self._forwarder.kill()
        closed = False
        try:
            self.check()
            try:
                for channel in self._channels:
                    channel.flush()
                self._publisher.update_info(self.scan.node_name, info)
                self._publisher.end_scan(self.scan.node_name)
                closed = True
                self._publisher.close()
            except Exception as exc:
                raise self._failure(exc, "publishing its end") from exc
        finally:
            if self._lease is not None:
                self._lease.release()  # after END_SCAN: a reader never sees it unleased and open
            for channel in self._channels:
                channel.set_publisher(None)
            if not closed:
                try:
                    self._publisher.close()
                except Exception:  # noqa: BLE001  (the first error is the one raised)
                    pass
