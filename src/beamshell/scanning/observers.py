"""Scan observers: in-process consumers of a scan's state changes, data batches and end.

The live table and the Redis publisher attach to a scan through this one subscription
point, like any consumer a site writes. Data reach observers in batches, delivered by a
greenlet of their own whenever the scan lets others run, so the scan's per-point path
stays one Event check; an observer never holds the scan up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import gevent
import gevent.event
import gevent.lock
import numpy as np

if TYPE_CHECKING:
    from beamshell.scanning.channel import AcquisitionChannel
    from beamshell.scanning.scan import Scan, ScanState

__all__ = ["DataBatch", "ScanObserver"]


class ScanObserver:
    """What a scan tells its observers; override the methods you need (all optional).

    - `on_state(scan, state)`: at every state change, the final one (DONE, ABORTED,
      KILLED) included, after everything else has stopped.
    - `on_data(scan, batch)`: points acquired since the previous batch (a `DataBatch`).
    - `on_end(scan)`: the acquisition is over: devices are stopped and every point has
      been given to `on_data`; the presets' stop and the final state come after.

    Callbacks run in the scan's greenlets: keep them short (hand long work to a greenlet
    of your own). An observer that raises is reported once on the scan's output and
    detached; the scan goes on. One added with `essential=True` (the Redis publisher)
    fails the scan instead, like a failing device.
    """

    def on_state(self, scan: Scan, state: ScanState) -> None:
        pass

    def on_data(self, scan: Scan, batch: DataBatch) -> None:
        pass

    def on_end(self, scan: Scan) -> None:
        pass


class DataBatch(Mapping[str, np.ndarray]):
    """New points per channel: `batch["diode"]` (or `batch[diode]`) is a numpy array.

    The arrays are views of the scan's buffers, valid for the length of the callback: copy
    what you keep. Only channels with new points are in the batch; `first_index(key)` is
    the scan index of a channel's first new point.
    """

    def __init__(
        self,
        parts: dict[AcquisitionChannel, tuple[int, np.ndarray]],
        resolve: Callable[[Any], AcquisitionChannel],
    ):
        self.parts = parts
        self._resolve = resolve

    def _part(self, key: Any) -> tuple[int, np.ndarray]:
        try:
            return self.parts[self._resolve(key)]
        except KeyError:
            name = getattr(key, "name", key)
            raise KeyError(f"no new points of {name!r} in this batch") from None

    def __getitem__(self, key: Any) -> np.ndarray:
        return self._part(key)[1]

    def first_index(self, key: Any) -> int:
        return self._part(key)[0]

    def __iter__(self) -> Iterator[str]:
        return (channel.name for channel in self.parts)

    def __len__(self) -> int:
        return len(self.parts)

    def __contains__(self, key: object) -> bool:
        try:
            self._part(key)
        except KeyError:
            return False
        return True

    def __repr__(self) -> str:
        sizes = ", ".join(f"{c.name}: {len(v)}" for c, (_, v) in self.parts.items())
        return f"<DataBatch {sizes}>"


class _Subscription:
    __slots__ = ("observer", "essential")

    def __init__(self, observer: ScanObserver, essential: bool):
        self.observer = observer
        self.essential = essential


class ScanObservers:
    """A scan's observers, and the greenlet that delivers its data to them in batches.

    The scan calls `points_ready()` (an Event's set) after a point; the delivery greenlet
    runs when the scan next lets others run and gives every observer the points of every
    channel since the previous batch. `deliver_data()` does the same synchronously (the
    stop phase uses it so that the last points come before the end).
    """

    def __init__(self, scan: Scan, report: Callable[[str], None]):
        self._scan = scan
        self._report = report
        self._subscriptions: list[_Subscription] = []
        self.errors: list[tuple[ScanObserver, BaseException]] = []
        self._channels: list[AcquisitionChannel] = []
        self._delivered: list[int] = []
        self._ready = gevent.event.Event()
        self._delivering = gevent.lock.Semaphore()
        self._deliverer: gevent.Greenlet[[], None] | None = None
        self._data_stopped = False
        self.points_ready = self._ready.set
        self.points_pending = self._ready.is_set

    def add(self, observer: ScanObserver, essential: bool = False) -> None:
        if any(s.observer is observer for s in self._subscriptions):
            return
        self._subscriptions.append(_Subscription(observer, essential))

    def remove(self, observer: ScanObserver) -> None:
        self._subscriptions = [s for s in self._subscriptions if s.observer is not observer]

    def __iter__(self) -> Iterator[ScanObserver]:
        return iter([s.observer for s in self._subscriptions])

    # -- dispatch ----------------------------------------------------------------------
    def _call(self, method: str, *args: Any, background: bool = False) -> None:
        """Call `method` of every observer that has it; isolate the non-essential ones.

        An essential observer's error is raised to the caller, or, from a background
        greenlet, handed to the scan to fail it.
        """
        first_error: Exception | None = None
        for subscription in list(self._subscriptions):
            function = getattr(subscription.observer, method, None)
            if function is None:
                continue
            try:
                function(self._scan, *args)
            except Exception as exc:
                if not subscription.essential:
                    self._detach(subscription, method, exc)
                elif background:
                    self._scan._fail_from_background(exc)
                elif first_error is None:
                    first_error = exc  # raised after the others have been told too
        if first_error is not None:
            raise first_error

    def _detach(self, subscription: _Subscription, method: str, exc: BaseException) -> None:
        self.remove(subscription.observer)
        self.errors.append((subscription.observer, exc))
        name = type(subscription.observer).__name__
        reason = (str(exc).splitlines() or [""])[0]
        self._report(
            f"!!! scan observer {name} failed in {method} and was detached: "
            f"{type(exc).__name__}: {reason}"
        )

    def state(self, state: ScanState) -> None:
        self._call("on_state", state)

    def end(self) -> None:
        self._call("on_end")

    # -- data --------------------------------------------------------------------------
    def start_data(self, channels: list[AcquisitionChannel]) -> None:
        """Follow these channels' points from their current length on."""
        self._channels = list(channels)
        self._delivered = [len(channel) for channel in self._channels]
        self._ready.clear()
        self._data_stopped = False
        self._deliverer = gevent.spawn(self._deliver_loop)

    def _deliver_loop(self) -> None:
        while not self._data_stopped:
            self._ready.wait()
            self._ready.clear()
            self._deliver(background=True)

    def deliver_data(self) -> None:
        """Give observers every point not given yet, now, in this greenlet."""
        self._ready.clear()
        self._deliver(background=False)

    def _deliver(self, background: bool) -> None:
        with self._delivering:  # one batch at a time, in order
            if background and self._data_stopped:
                return
            parts = {}
            delivered = self._delivered
            for index, channel in enumerate(self._channels):
                count = len(channel)
                start = delivered[index]
                if count > start:
                    parts[channel] = (start, channel.data[start:count])
                    delivered[index] = count
            if parts:
                batch = DataBatch(parts, self._scan._data_view()._channel)
                self._call("on_data", batch, background=background)

    def stop_data(self) -> None:
        """After the last `deliver_data()`: the delivery greenlet ends (after a batch in
        progress, so that no observer is cut off in the middle of a call)."""
        self._data_stopped = True
        self._ready.set()
        self._deliverer = None
