"""Publishing a scan to Redis: its nodes, then as an observer its states, data and end."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from beamshell.errors import BeamshellError
from beamshell.scanning.chain import AcquisitionMaster
from beamshell.scanning.observers import DataBatch, ScanObserver

if TYPE_CHECKING:
    from redis import Redis

    from beamshell.data.lease import ScanLease
    from beamshell.data.publish import ChannelPublisher
    from beamshell.scanning.channel import AcquisitionChannel
    from beamshell.scanning.scan import Scan, ScanState


class ScanPublishError(BeamshellError):
    """Publishing a scan's data failed; the message names the scan and the reason."""


class ScanPublisher(ScanObserver):
    """Creates the scan's nodes, then follows the scan as its essential observer.

    Each data batch is queued on a DataPublisher, whose background greenlet writes it in
    pipelined transactions while the scan goes on; a write that fails (Redis gone) fails
    the scan at once through `Scan._fail_from_background`. At the final state: every
    remaining point, the final info, then END_SCAN. After its first error the publisher
    stays silent: that error is the one the scan raises.
    """

    def __init__(self, scan: Scan):
        from beamshell.data.publish import DataPublisher  # lazy: only scans that publish

        self.scan = scan
        env = scan.env
        # Made by Scan.prepare_node, once the scan has its node name, when the session publishes.
        self._redis = cast("Redis", env.redis)
        self._node_name = cast(str, scan.node_name)
        # No delay: the scan's batches already gather the points of a few milliseconds.
        self._publisher = DataPublisher(
            self._redis,
            expiration=env.data_expiration,
            flush_delay=0,
            on_failure=self._failed_in_background,
        )
        self._remotes: dict[AcquisitionChannel, ChannelPublisher] = {}
        self.error: ScanPublishError | None = None
        self._lease: ScanLease | None = None

    def _failure(self, exc: BaseException, what: str) -> ScanPublishError:
        if self.error is None:
            self.error = ScanPublishError(f"scan {self.scan.node_name}: {what} failed: {exc}")
        return self.error

    def create_nodes(self, info: dict[str, Any]) -> None:
        try:
            with self._publisher.together() as transaction:  # one round trip for it all
                self._create_tree(info)
                lease = self._new_lease()
                lease.queue_acquire(transaction)
            self._lease = lease
            lease.start_renewing()
        except Exception as exc:
            raise self._failure(exc, "creating its data nodes in Redis") from exc

    def _create_tree(self, info: dict[str, Any]) -> None:
        scan = self.scan
        publisher = self._publisher
        scan_node = self._node_name
        publisher.create_node(scan_node, "scan", info, parent=scan.env.session_name)
        channels_of: dict[int, list[AcquisitionChannel]] = {}
        for channel in scan.channels:
            channels_of.setdefault(id(channel.master), []).append(channel)
        # Each master's own channels right after it, before its sub-masters: a reader walking
        # depth first meets the scanned axis before the counters of the timer below it, so a
        # live plot never takes a time for the x axis while the axis is still on its way.
        master_nodes: dict[int, str] = {}
        for device in scan.acq_chain.devices:
            if not isinstance(device, AcquisitionMaster):
                continue
            parent = master_nodes.get(id(device.parent), scan_node)
            node = publisher.create_node(f"{parent}:{device.name}", "master", {}, parent=parent)
            master_nodes[id(device)] = node
            for channel in channels_of.get(id(device), ()):
                self._remotes[channel] = publisher.create_channel(
                    f"{node}:{channel.name}",
                    parent=node,
                    dtype=channel.dtype.str,
                    shape=channel.shape,
                    info={"unit": channel.unit} if channel.unit else {},
                )

    def _new_lease(self) -> ScanLease:
        """Followers end the scan KILLED if this process dies without ending it (data.lease)."""
        from beamshell.data.lease import ScanLease

        lease_time = self.scan.env.lease_time

        def lost() -> None:
            reason = (
                f"this process stalled for more than its {lease_time:g} s lease, "
                "and a reader ended the scan KILLED"
            )
            self._failed_in_background(reason)

        return ScanLease(self._redis, self._node_name, lease_time, lost)

    def update_info(self, info: dict[str, Any]) -> None:
        if self.error is not None:
            return
        if self._lease is not None and self._lease.lost:
            return  # a reader ended the scan KILLED: its node is not ours to change any more
        try:
            self._publisher.update_info(self._node_name, info)
        except Exception as exc:
            raise self._failure(exc, "updating its info in Redis") from exc

    # -- as an observer --------------------------------------------------------------------
    def on_state(self, scan: Scan, state: ScanState) -> None:
        from beamshell.scanning.scan import FINAL_STATES

        if state in FINAL_STATES:
            self._finish(scan._public_info())
        elif self.error is None and not (self._lease is not None and self._lease.lost):
            # Not waited for: written with the next points, in order (see queue_info).
            try:
                self._publisher.queue_info(self._node_name, {"state": state.name})
            except Exception as exc:
                raise self._failure(exc, "updating its info in Redis") from exc

    def on_data(self, scan: Scan, batch: DataBatch) -> None:
        if self.error is not None:
            return
        remotes = self._remotes
        try:
            for channel, (_, values) in batch.parts.items():
                remote = remotes.get(channel)
                if remote is not None:
                    remote.append(values)
        except Exception as exc:
            raise self._failure(exc, "publishing its data") from exc

    def _failed_in_background(self, reason: BaseException | str) -> None:
        """The DataPublisher's writer failed, or the lease was lost: the scan stops now."""
        if self.error is None:
            if isinstance(reason, str):
                error = self.error = ScanPublishError(f"scan {self.scan.node_name}: {reason}")
            else:
                error = self._failure(reason, "publishing its data")
            self.scan._fail_from_background(error)

    def _finish(self, info: dict[str, Any]) -> None:
        """Every remaining point, the final info, then END_SCAN; always releases the publisher."""
        try:
            if self.error is not None:
                # Raised again (the same error, so reported once): a failure in the
                # background after the acquisition has reached nobody yet.
                raise self.error
            try:
                # The data, then these, then the lease dropped in the same transaction: a
                # reader never sees the scan unleased and not ended.
                release = self._lease.release if self._lease is not None else None
                self._publisher.end_scan(self._node_name, info, then=release)
                self._publisher.close()
            except Exception as exc:
                raise self._failure(exc, "publishing its end") from exc
        finally:
            if self._lease is not None:
                # Stops renewing; drops the lease now only if END_SCAN was never attempted.
                self._lease.release()
            self._publisher.close(flush=False)  # nothing left, or nothing more to try
