"""Scan: runs an acquisition chain with presets and observers (the live table, publishing);
keeps its data."""

from __future__ import annotations

import enum
import time
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, cast

import gevent
import gevent.event
import numpy as np

from beamshell.scanning import positioners, scan_peaks
from beamshell.scanning.chain import AcquisitionChain, AcquisitionMaster
from beamshell.scanning.channel import AcquisitionChannel
from beamshell.scanning.context import ScanEnvironment, default_environment
from beamshell.scanning.estimate import ScanEstimate, estimate_scan
from beamshell.scanning.observers import ScanObserver, ScanObservers
from beamshell.scanning.stopping import StopErrors, run_shielded
from beamshell.text import has_unprintable

if TYPE_CHECKING:
    from greenlet import greenlet

    from beamshell.data.node import DataNode
    from beamshell.hardware.axis import Axis
    from beamshell.scanning.group import Sequence
    from beamshell.scanning.publishing import ScanPublisher

__all__ = ["Scan", "ScanData", "ScanObserver", "ScanPreset", "ScanState"]

# A scan that never waits (count time 0) lets the others run this often: its observers
# (the table, the Redis publisher) get its new points then, and Redis's replies are read.
YIELD_INTERVAL_S = 0.002
# ... for at most this long, should some greenlet keep the event loop from going idle.
YIELD_MAX_S = 0.005


class ScanState(enum.IntEnum):
    """A scan's state. Shown by name (`ABORTED`, not `6`); compares equal to its number as
    before (`state == 6`) and is ordered (`state >= ScanState.DONE`)."""

    IDLE = 0
    PREPARING = 1
    STARTING = 2
    RUNNING = 3
    STOPPING = 4
    DONE = 5
    ABORTED = 6
    KILLED = 7

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return self.name

    def __format__(self, spec: str) -> str:
        return format(self.name, spec)


FINAL_STATES = frozenset({ScanState.DONE, ScanState.ABORTED, ScanState.KILLED})


class ScanPreset:
    """Hook around a whole scan: prepare before any device prepares, start before any device
    starts, stop after every device has stopped (also after an error or an interrupt)."""

    def prepare(self, scan: Scan) -> None:
        pass

    def start(self, scan: Scan) -> None:
        pass

    def stop(self, scan: Scan) -> None:
        pass


class ScanData(Mapping[str, np.ndarray]):
    """A scan's data: numpy arrays keyed by channel name; a counter or axis object works too."""

    def __init__(self, channels: list[AcquisitionChannel], title: str | None = None):
        self._title = title
        self.channels = channels
        self._by_name: dict[str, AcquisitionChannel] = {}
        for channel in channels:
            key = channel.name if channel.name not in self._by_name else channel.fullname
            self._by_name[key] = channel
        self._by_object = {
            id(channel.counter): channel
            for channel in channels
            if getattr(channel, "counter", None)
        }

    def _channel(self, key: Any) -> AcquisitionChannel:
        if isinstance(key, str):
            if key in self._by_name:
                return self._by_name[key]
            for channel in self._by_name.values():
                if channel.fullname == key:
                    return channel
        elif id(key) in self._by_object:
            return self._by_object[id(key)]
        elif isinstance(getattr(key, "name", None), str) and key.name in self._by_name:
            return self._by_name[key.name]
        known = ", ".join(self._by_name)
        raise KeyError(
            f"no data for {getattr(key, 'name', key)!r} in this scan (channels: {known})"
        )

    def __getitem__(self, key: Any) -> np.ndarray:
        return self._channel(key).data.copy()

    def __contains__(self, key: object) -> bool:
        try:
            self._channel(key)
        except KeyError:
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return iter(self._by_name)

    def __len__(self) -> int:
        return len(self._by_name)

    def __repr__(self) -> str:
        """Its channels with their number of points, shape, dtype and unit: a table."""
        rows = [
            [key, str(len(channel)), str(channel.shape), channel.dtype.name, channel.unit or ""]
            for key, channel in self._by_name.items()
        ]
        headers = ["channel", "points", "shape", "dtype", "unit"]
        widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]
        aligned = (0, 3, 4)  # left-aligned columns: names, dtype and unit read as words

        def line(row: list[str]) -> str:
            cells = [
                cell.ljust(width) if index in aligned else cell.rjust(width)
                for index, (cell, width) in enumerate(zip(row, widths, strict=True))
            ]
            return "  " + "  ".join(cells).rstrip()

        title = f"data of {self._title}" if self._title else "scan data"
        lines = [f"{title}: {len(rows)} channels", line(headers)]
        lines += [line(row) for row in rows]
        return "\n".join(lines)


class Scan:
    """One run of an acquisition chain.

    `run()` executes in the calling greenlet (a Ctrl-C there aborts the scan; a Sequence can
    run scans one after the other in its own greenlet). Before running, `prepare_node()`
    gives the scan its number and data node name, so that a group can reference it.
    """

    def __init__(
        self,
        chain: AcquisitionChain,
        name: str = "scan",
        scan_info: dict[str, Any] | None = None,
        save: bool = True,
        env: ScanEnvironment | None = None,
        display: bool | None = None,
    ):
        if not isinstance(chain, AcquisitionChain):
            raise TypeError(f"Scan: chain must be an AcquisitionChain, got {chain!r}")
        if not chain.top_masters:
            raise ValueError("Scan: the acquisition chain has no master")
        if not isinstance(name, str) or not name or ":" in name or _breaks_a_word(name):
            raise ValueError(
                f"Scan: name must be a word without ':', spaces or control characters, got {name!r}"
            )
        self.env = env if env is not None else default_environment()
        self.acq_chain = chain
        self.name = name
        self.scan_info: dict[str, Any] = dict(scan_info or {})
        self.scan_info.setdefault("title", name)
        self.scan_info.setdefault("type", name)
        self.save = bool(save)
        self.display = self.env.display if display is None else bool(display)
        self.channels: list[AcquisitionChannel] = chain.channels
        self.npoints_done = 0
        self.start_time: float | None = None
        self.end_time: float | None = None
        self._presets: list[ScanPreset] = []
        self._prepared_presets: list[ScanPreset] = []
        self._cleanups: list[tuple[str, Callable[[], None]]] = []
        self._observers = ScanObservers(self, self._report)
        self._state = ScanState.IDLE
        self._started = False
        self._scan_number: int | None = None
        self._node_name: str | None = None
        self._reader_node: DataNode | None = None
        self._publisher: ScanPublisher | None = None
        self._data: ScanData | None = None
        self._acquiring = False  # run() is preparing, starting or iterating (not stopping)
        self._background_error: BaseException | None = None
        self._deferred_interrupts: list[BaseException] = []
        self._done = gevent.event.Event()
        self._estimate: ScanEstimate | None = None
        self.sequence: Sequence | None = None  # the Sequence this scan was added to, if any
        # Where a relative scan's axes go back at its end (its time estimate counts that move).
        self.return_positions: dict[Axis, float] = {}
        # The greenlet running run(): the main greenlet too, which is no gevent.Greenlet.
        self._runner: greenlet | None = None

    # -- description ----------------------------------------------------------------------
    @property
    def state(self) -> ScanState:
        return self._state

    @property
    def title(self) -> str:
        return str(self.scan_info.get("title", self.name))

    @property
    def scan_number(self) -> int | None:
        return self._scan_number

    @property
    def npoints(self) -> int:
        """Points expected (0: until stopped)."""
        if "npoints" in self.scan_info:
            return int(self.scan_info["npoints"] or 0)
        counts = [m.npoints for m in self.acq_chain.top_masters]
        return 0 if None in counts else max(cast("list[int]", counts))

    @property
    def elapsed(self) -> float:
        if self.start_time is None:
            return 0.0
        return (self.end_time or time.time()) - self.start_time

    @property
    def node_name(self) -> str | None:
        """The scan's data node name (db_name), once `prepare_node()` or `run()` gave it one."""
        return self._node_name

    @property
    def node(self) -> DataNode | str | None:
        """The scan's node in Redis (a reader node) when publishing; else its db_name."""
        if self._node_name is None:
            return None
        if not self.env.publishing or self._publisher is None:
            return self._node_name
        if self._reader_node is None:
            from beamshell.data.node import get_node

            self._reader_node = get_node(self._node_name, connection=self.env.redis)
        return self._reader_node

    @property
    def elapsed_time_channel(self) -> AcquisitionChannel | None:
        return next((c for c in self.channels if c.role == "elapsed_time"), None)

    def get_data(self) -> ScanData:
        return ScanData(self.channels, title=self._label())

    def _label(self) -> str:
        number = f" {self._scan_number}" if self._scan_number is not None else ""
        return f"scan{number} '{self.title}'"

    @property
    def data_file(self) -> str | None:
        """The file the scan's data are saved in (`scan_info["filename"]`), once saving exists."""
        filename = self.scan_info.get("filename")
        return str(filename) if filename and self.save else None

    def _data_view(self) -> ScanData:
        """One ScanData kept for the observers' batches (they look channels up by key)."""
        if self._data is None or self._data.channels is not self.channels:
            self._data = ScanData(self.channels)
        return self._data

    def __repr__(self) -> str:
        """`Scan 12 'loopscan 10 0.1' DONE, 10/10 points, data /tmp/scans/demo/data.h5`."""
        points = f"{self.npoints_done}/{self.npoints}" if self.npoints else f"{self.npoints_done}"
        text = f"{self._label().capitalize()} {self._state.name}, {points} points"
        if self.data_file:
            text += f", data {self.data_file}"
        return text

    # -- configuration ----------------------------------------------------------------------
    def add_preset(self, preset: ScanPreset) -> None:
        if not isinstance(preset, ScanPreset):
            raise TypeError(f"add_preset: {preset!r} is not a ScanPreset")
        if self._started:
            raise RuntimeError(f"add_preset: scan '{self.name}' has already started")
        self._presets.append(preset)

    def add_cleanup(self, label: str, function: Callable[[], None]) -> None:
        """Run `function` at the very end of the stop phase (after presets' stop), always."""
        self._cleanups.append((label, function))

    def add_observer(self, observer: ScanObserver, essential: bool = False) -> None:
        """Subscribe `observer` to this scan's state changes, data batches and end (see
        `ScanObserver`). An essential observer's error fails the scan; any other observer
        that raises is reported once and detached. Adding the same observer again does
        nothing."""
        self._observers.add(observer, essential)

    def remove_observer(self, observer: ScanObserver) -> None:
        self._observers.remove(observer)

    @property
    def observer_errors(self) -> list[tuple[ScanObserver, BaseException]]:
        """Observers detached because they raised, with their error (traceback included)."""
        return list(self._observers.errors)

    def add_state_callback(self, callback: Callable[[Scan, ScanState], None]) -> None:
        """`callback(scan, state)` at every state change: an observer with only `on_state`."""
        self.add_observer(_StateCallback(callback))

    def abort(self, timeout: float | None = None) -> bool:
        """From another greenlet: interrupt the running scan as Ctrl-C would (devices stopped,
        presets' stop called, state ABORTED) and wait until it has ended; False on timeout."""
        runner = self._runner
        if runner is None or self._done.is_set():
            return True
        if runner is gevent.getcurrent():
            raise RuntimeError(f"scan '{self.name}': abort() from its own greenlet")
        gevent.kill(runner, KeyboardInterrupt)
        return self._done.wait(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until the scan has ended (DONE, ABORTED or KILLED); False on timeout."""
        return self._done.wait(timeout)

    @property
    def runner(self) -> greenlet | None:
        """The greenlet running (or that ran) `run()`; None before it started."""
        return self._runner

    def prepare_node(self) -> str:
        """Give the scan its number and data node name, and when publishing create its nodes
        in Redis (state IDLE), so that a group can reference it before it runs. Idempotent;
        returns the node name."""
        env = self.env
        if self._node_name is None:
            self.channels = self.acq_chain.channels  # devices may have been added since
            self._scan_number = env.next_scan_number()
            self._node_name = env.scan_saving.scan_node_name(self._scan_number, self.name)
            saving = env.scan_saving.get()
            saved = self.save and saving["writer"] != "null"
            self.scan_info.update(
                scan_nb=self._scan_number,
                session=env.session_name,
                user=env.user,
                filename=saving["filename"] if saved else None,
                save=saved,
                writer=saving["writer"],
                node_name=self._node_name,
                state=self._state.name,
            )
            self.scan_info["plotselect"] = scan_peaks.selected_counters(self)
            self._estimate = estimate_scan(self)
            if self._estimate is not None:
                self.scan_info["estimated_time"] = self._estimate.total
        if env.publishing and self._publisher is None:
            from beamshell.scanning.publishing import ScanPublisher

            publisher = ScanPublisher(self)
            publisher.create_nodes(self._public_info())
            self._publisher = publisher
            self.add_observer(publisher, essential=True)  # Redis failing fails the scan
        return self._node_name

    # -- alignment and time (beamshell.scanning.scan_peaks, beamshell.scanning.estimate) --------
    def peak(self, counter: Any = None, axis: Any = None) -> Any:
        """Position of the counter's maximum ({axis: position} when several axes moved)."""
        return scan_peaks.find(self, "peak", counter, axis).value

    def trough(self, counter: Any = None, axis: Any = None) -> Any:
        """Position of the counter's minimum."""
        return scan_peaks.find(self, "trough", counter, axis).value

    def com(self, counter: Any = None, axis: Any = None) -> Any:
        """Centre of mass of the counter, background subtracted."""
        return scan_peaks.find(self, "com", counter, axis).value

    def cen(self, counter: Any = None, axis: Any = None) -> Any:
        """(centre, fwhm) of the counter's peak at half maximum."""
        return scan_peaks.find(self, "cen", counter, axis).value

    def fwhm(self, counter: Any = None, axis: Any = None) -> Any:
        """Full width at half maximum of the counter's peak."""
        return scan_peaks.find(self, "fwhm", counter, axis).value

    def estimate(self) -> ScanEstimate | None:
        """How long the scan takes: the estimate made when it took its number, else (a scan
        not started) one made now from where the axes are. None when it cannot be known."""
        return self._estimate if self._estimate is not None else estimate_scan(self)

    def time_left(self) -> float | None:
        """Seconds left while the scan runs (from the estimate and the pace so far)."""
        if self._estimate is None or self.start_time is None:
            return None
        return self._estimate.time_left(self.npoints_done, self.elapsed)

    # -- running ------------------------------------------------------------------------------
    def run(self) -> None:
        """Run the scan in this greenlet; on any error or interrupt stop everything, re-raise."""
        if self._started:
            raise RuntimeError(
                f"scan '{self.name}' has already run (state {self._state.name}): create a new one"
            )
        self.env.check_no_other_scan(self)  # before anything: no number is taken
        self._started = True
        self._runner = gevent.getcurrent()
        self.env.running_scans.append(self)
        try:
            self._run()
        finally:
            self.env.running_scans.remove(self)

    def _run(self) -> None:
        error: BaseException | None = None
        self._acquiring = True
        try:
            self._begin()
            self._acquire()
        except BaseException as exc:  # noqa: BLE001  (interrupts too: everything is stopped)
            error = exc
        finally:
            self._acquiring = False
        stop_errors = run_shielded(self._stop_sequence, self._deferred_interrupts, error)
        if stop_errors is None:  # the stop sequence died between two of its steps
            self._observers.stop_data()
            self._state = ScanState.ABORTED
            self.scan_info["state"] = self._state.name
            if self.env.current_scan is self:
                self.env.current_scan = None
            self._done.set()
        self._raise_outcome(error, stop_errors)

    def _raise_outcome(self, error: BaseException | None, stop_errors: StopErrors | None) -> None:
        failures = list(stop_errors.errors) if stop_errors else []
        raised = error
        if raised is None and failures:
            raised = failures.pop(0)[1]
        if raised is None and self._deferred_interrupts:
            raised = self._deferred_interrupts[0]
        if raised is None:
            return
        for what, exc in failures:
            if exc is not raised:
                raised.add_note(f"while stopping the scan, {what} also failed: {exc!r}")
        raise raised

    def _set_state(self, state: ScanState) -> None:
        self._state = state
        self.scan_info["state"] = state.name
        self._observers.state(state)

    def _report(self, line: str) -> None:
        """One line for the operator, on the scan's output (an observer detached...)."""
        stream = self.env.stream
        stream.write(line + "\n")
        stream.flush()

    def _fail_from_background(self, error: BaseException) -> None:
        """An essential observer failed in another greenlet (Redis lost while writing): the
        scan fails at once, as if the error had been raised in its own greenlet, wherever it
        is waiting (a count, a move, a preset). After the acquisition, the observer raises
        the error itself in the stop phase."""
        if self._background_error is None:
            self._background_error = error
            gevent.get_hub().loop.run_callback(self._raise_background_error, error)

    def _raise_background_error(self, error: BaseException) -> None:
        # Checked when delivered, not when scheduled: the acquisition may have ended since.
        runner = self._runner
        if self._acquiring and runner is not None and not runner.dead:
            runner.throw(error)

    def _begin(self) -> None:
        env = self.env
        self.start_time = time.time()
        started = {
            "start_time": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(self.start_time)),
            "start_timestamp": self.start_time,
        }
        self.scan_info.update(started)
        started["positioners"] = positioners.record(self.scan_info, env.axes(), "start")
        env.scans.append(self)
        env.current_scan = self
        npoints = self.npoints
        if npoints:
            for channel in self.channels:
                channel.reserve(npoints)
        publisher = self._publisher  # created by a group before the scan ran, else None
        self.prepare_node()
        if self.display:
            from beamshell.scanning.display import ScanDisplay

            self.add_observer(ScanDisplay(self))
        if publisher is not None:  # else the nodes were created with the start time in their info
            publisher.update_info(started)

    def _public_info(self) -> dict[str, Any]:
        return {key: value for key, value in self.scan_info.items() if _is_plain(value)}

    def _acquire(self) -> None:
        self._set_state(ScanState.PREPARING)
        for preset in self._presets:
            # Stop is owed from the moment prepare is entered (see docs/scanning.md).
            self._prepared_presets.append(preset)
            preset.prepare(self)
        self.acq_chain.prepare()
        self._set_state(ScanState.STARTING)
        for preset in self._prepared_presets:
            preset.start(self)
        self.acq_chain.start()
        self._observers.start_data(self.channels)
        self._set_state(ScanState.RUNNING)
        point_done = self._point_done_function()
        masters = self.acq_chain.top_masters
        if len(masters) == 1:
            self.acq_chain.iterate(masters[0], point_done)
        else:
            self._iterate_concurrently(masters, point_done)

    def _iterate_concurrently(
        self, masters: list[AcquisitionMaster], point_done: Callable[[], None]
    ) -> None:
        runners = [gevent.spawn(_capture, self.acq_chain.iterate, m, point_done) for m in masters]
        try:
            gevent.joinall(runners)
        finally:
            gevent.killall([runner for runner in runners if not runner.dead], block=True)
        for runner in runners:
            if runner.value is not None:
                raise runner.value

    def _point_done_function(self) -> Callable[[], None]:
        """The per-point bookkeeping, specialised once so the per-point path stays short.

        After a point the observers' delivery greenlet is woken (once per batch: an Event
        set) and gets the new points when the scan next lets others run, which a counting
        scan does while it integrates. A scan that never waits (count time 0) lets them run
        every YIELD_INTERVAL_S; it does not after points where they already ran, so that
        hooks and the table interleave the same way every run.
        """
        points_ready = self._observers.points_ready
        points_pending = self._observers.points_pending
        monotonic = time.monotonic
        next_yield = monotonic() + YIELD_INTERVAL_S

        def point_done() -> None:
            nonlocal next_yield
            self.npoints_done += 1
            if not points_pending():
                points_ready()  # the previous batch went out: this point starts the next
                next_yield = monotonic() + YIELD_INTERVAL_S
            elif monotonic() >= next_yield:
                _let_others_run()
                next_yield = monotonic() + YIELD_INTERVAL_S

        return point_done

    def _stop_sequence(self, error: BaseException | None) -> StopErrors:
        """Everything after the acquisition, in its own greenlet (see Scan.run)."""
        errors = StopErrors()
        env = self.env
        observers = self._observers
        errors.call("setting state STOPPING", self._set_state, ScanState.STOPPING)
        # The table catches up with the last points before the stop output.
        errors.call("handing the last points to the observers", observers.deliver_data)
        errors.call("letting the table catch up", gevent.sleep, 0)
        self.acq_chain.stop(errors)
        errors.call("handing the last points to the observers", observers.deliver_data)
        observers.stop_data()
        errors.call("ending the acquisition for the observers", observers.end)
        while self._prepared_presets:
            preset = self._prepared_presets.pop()
            errors.call(f"scan preset {type(preset).__name__}.stop", preset.stop, self)
        for label, cleanup in reversed(self._cleanups):
            errors.call(label, cleanup)
        interrupts = ([error] if error is not None else []) + self._deferred_interrupts
        if any(isinstance(exc, gevent.GreenletExit) for exc in interrupts):
            final = ScanState.KILLED
        elif interrupts or errors:
            final = ScanState.ABORTED
        else:
            final = ScanState.DONE
        self.end_time = time.time()
        self.scan_info["end_time"] = time.strftime(
            "%Y-%m-%dT%H:%M:%S", time.localtime(self.end_time)
        )
        self.scan_info["end_timestamp"] = self.end_time
        self.scan_info["npoints_done"] = self.npoints_done
        errors.call(
            "recording the axes' positions",
            lambda: positioners.record(self.scan_info, env.axes(), "end"),
        )
        # The publisher writes the end of the scan in Redis at the final state.
        errors.call("setting the final state", self._set_state, final)
        if self.env.current_scan is self:
            self.env.current_scan = None
        self._done.set()
        return errors


class _StateCallback(ScanObserver):
    """`add_state_callback`'s observer."""

    def __init__(self, callback: Callable[[Scan, ScanState], None]):
        self._callback = callback

    def on_state(self, scan: Scan, state: ScanState) -> None:
        self._callback(scan, state)


def _let_others_run() -> None:
    """One full turn of the event loop: the other greenlets run, then sockets are polled.

    gevent.sleep(0) alone lets the other greenlets run but polls sockets only after many
    such turns, so a reply from Redis would wait; idle() returns once the loop has polled
    and found nothing more to do.
    """
    # The stub wants an exception; gevent documents False: the timeout ends the block silently.
    with gevent.Timeout(YIELD_MAX_S, False):  # type: ignore[arg-type]
        gevent.idle()


def _capture(function: Callable[..., object], *args: Any) -> BaseException | None:
    try:
        function(*args)
    except Exception as exc:  # noqa: BLE001  (raised again in the scan's greenlet)
        return exc
    return None


def _breaks_a_word(name: str) -> bool:
    """Whitespace or control characters: they would break names in line-oriented output."""
    return any(char.isspace() for char in name) or has_unprintable(name)


def _is_plain(value: Any) -> bool:
    """JSON-friendly values only go to Redis (never objects, never pickles)."""
    if value is None or isinstance(value, bool | int | float | str):
        return True
    if isinstance(value, list | tuple):
        return all(_is_plain(item) for item in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_plain(v) for k, v in value.items())
    return False
