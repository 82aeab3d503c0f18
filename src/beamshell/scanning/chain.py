"""The acquisition chain: a tree of masters and slaves, its presets, and how it iterates."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Iterator
from typing import cast

import gevent

from beamshell.scanning.channel import AcquisitionChannel
from beamshell.scanning.stopping import StopErrors

__all__ = [
    "AcquisitionChain",
    "AcquisitionChannel",
    "AcquisitionDevice",
    "AcquisitionMaster",
    "AcquisitionSlave",
    "ChainIterationPreset",
    "ChainPreset",
]


class ChainIterationPreset:
    """Hook around one iteration (one point) of a top master."""

    def prepare(self) -> None:
        pass

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass


class ChainPreset:
    """Hook around a top master's prepare, start and stop; may yield per-iteration hooks."""

    def prepare(self, acq_chain: AcquisitionChain) -> None:
        pass

    def start(self, acq_chain: AcquisitionChain) -> None:
        pass

    def stop(self, acq_chain: AcquisitionChain) -> None:
        pass

    def get_iterator(self, acq_chain: AcquisitionChain) -> Iterator[ChainIterationPreset]:
        """Yield one ChainIterationPreset per iteration; the default has none."""
        return iter(())


class AcquisitionDevice:
    """Something the chain prepares, starts and always stops; it owns data channels."""

    def __init__(self, name: str):
        self.name = name
        self.channels: list[AcquisitionChannel] = []
        self.parent: AcquisitionMaster | None = None

    def add_channel(self, channel: AcquisitionChannel) -> AcquisitionChannel:
        channel.device = self
        self.channels.append(channel)
        return channel

    @property
    def top_master(self) -> AcquisitionMaster:
        device = self
        while device.parent is not None:
            device = device.parent
        # Only a master is ever at the top: slaves are added under one.
        return cast("AcquisitionMaster", device)

    def prepare(self) -> None:
        pass

    def start(self) -> None:
        pass

    def stop(self) -> None:
        pass

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}>"


class AcquisitionSlave(AcquisitionDevice):
    """Reads data when its master triggers it: `acquire(count_time)` once per point."""

    def acquire(self, count_time: float) -> None:
        raise NotImplementedError


def _capture_errors(slave: AcquisitionSlave, count_time: float) -> BaseException | None:
    # A reader greenlet returns its error instead of raising, so that the hub does not
    # print a traceback and the scan raises it from its own greenlet.
    try:
        slave.acquire(count_time)
    except Exception as exc:  # noqa: BLE001
        return exc
    return None


class AcquisitionMaster(AcquisitionDevice):
    """Drives points: a top master iterates `npoints` times (None: until stopped).

    Per point the chain calls `prepare_iteration(index)` (e.g. move motors) then
    `trigger(index)`, which records the master's own data and triggers its children.
    Slaves of one master are read concurrently when `count_time` > 0 and there are several,
    since each read blocks for the count time; otherwise sequentially in the caller's greenlet.
    """

    npoints: int | None = 1
    count_time: float = 0.0
    moves = False  # True when prepare_iteration does something (the loop skips it otherwise)

    def __init__(self, name: str):
        super().__init__(name)
        self.children: list[AcquisitionDevice] = []
        self._child_masters: list[AcquisitionMaster] = []
        self._child_slaves: list[AcquisitionSlave] = []

    def add_child(self, device: AcquisitionMaster | AcquisitionSlave) -> None:
        device.parent = self
        self.children.append(device)
        if isinstance(device, AcquisitionMaster):
            self._child_masters.append(device)
        else:
            self._child_slaves.append(device)

    def prepare_iteration(self, index: int) -> None:
        pass

    def trigger(self, index: int) -> None:
        self.trigger_children(index)

    def trigger_children(self, index: int) -> None:
        for master in self._child_masters:
            master.prepare_iteration(index)
            master.trigger(index)
        slaves = self._child_slaves
        count_time = self.count_time
        if count_time > 0 and len(slaves) > 1:
            self._acquire_concurrently(slaves, count_time)
        else:
            for slave in slaves:
                slave.acquire(count_time)

    @staticmethod
    def _acquire_concurrently(slaves: list[AcquisitionSlave], count_time: float) -> None:
        readers = [gevent.spawn(_capture_errors, slave, count_time) for slave in slaves]
        try:
            gevent.joinall(readers)
        finally:
            # Interrupted while waiting: the readers must not go on integrating.
            gevent.killall([reader for reader in readers if not reader.dead], block=True)
        for reader in readers:
            if reader.value is not None:
                raise reader.value


class AcquisitionChain:
    """Masters and slaves as a tree, and the chain presets attached to it."""

    def __init__(self) -> None:
        self.top_masters: list[AcquisitionMaster] = []
        self._presets: list[tuple[ChainPreset, AcquisitionMaster | None]] = []
        self._prepared_presets: list[ChainPreset] = []
        self._open_iterations: list[ChainIterationPreset] = []

    # -- building --------------------------------------------------------------------------
    def add(
        self, master: AcquisitionMaster, device: AcquisitionMaster | AcquisitionSlave | None = None
    ) -> None:
        """Add `device` under `master` (a new top master if it has no parent yet)."""
        if not isinstance(master, AcquisitionMaster):
            raise TypeError(f"{master!r} is not an AcquisitionMaster")
        if master.parent is None and master not in self.top_masters:
            self.top_masters.append(master)
        if device is not None:
            # A device that is neither would be accepted as a slave, then fail at the first
            # point, after the presets had opened the shutter: refused here instead.
            if not isinstance(device, AcquisitionMaster | AcquisitionSlave):
                raise TypeError(
                    f"{device!r} is neither an AcquisitionMaster nor an AcquisitionSlave"
                )
            if device in self.devices:
                raise ValueError(f"{device!r} is already in the acquisition chain")
            if device in self.top_masters:
                self.top_masters.remove(device)
            master.add_child(device)

    def add_preset(self, preset: ChainPreset, master: AcquisitionMaster | None = None) -> None:
        """Attach `preset` around `master`'s prepare/start/stop (None: every top master)."""
        if not isinstance(preset, ChainPreset):
            raise TypeError(f"add_preset: {preset!r} is not a ChainPreset")
        if master is not None and master not in self.top_masters:
            raise ValueError(f"add_preset: {master!r} is not a top master of this chain")
        self._presets.append((preset, master))

    @property
    def presets(self) -> list[ChainPreset]:
        return [preset for preset, _ in self._presets]

    @property
    def devices(self) -> list[AcquisitionDevice]:
        """Every device, each master before its children."""
        ordered: list[AcquisitionDevice] = []

        def visit(device: AcquisitionDevice) -> None:
            ordered.append(device)
            for child in device.children if isinstance(device, AcquisitionMaster) else ():
                visit(child)

        for master in self.top_masters:
            visit(master)
        return ordered

    @property
    def channels(self) -> list[AcquisitionChannel]:
        found = []
        for device in self.devices:
            master = device if isinstance(device, AcquisitionMaster) else device.parent
            for channel in device.channels:
                channel.master = master
                found.append(channel)
        return found

    def _presets_of(self, master: AcquisitionMaster | None) -> list[ChainPreset]:
        return [p for p, m in self._presets if m is None or m is master]

    def _subtree(self, master: AcquisitionMaster) -> list[AcquisitionDevice]:
        return [d for d in self.devices if d.top_master is master]

    # -- running (called by Scan) ----------------------------------------------------------
    def prepare(self) -> None:
        """Presets' prepare (in order) around each top master's devices' prepare (slaves first)."""
        self._prepared_presets = []
        self._open_iterations = []
        for master in self.top_masters:
            for preset in self._presets_of(master):
                if preset not in self._prepared_presets:
                    # Stop is owed from the moment prepare is entered (see docs/scanning.md).
                    self._prepared_presets.append(preset)
                    preset.prepare(self)
            for device in reversed(self._subtree(master)):
                device.prepare()

    def start(self) -> None:
        started: list[ChainPreset] = []
        for master in self.top_masters:
            for preset in self._presets_of(master):
                if preset not in started:
                    started.append(preset)
                    preset.start(self)
            for device in reversed(self._subtree(master)):
                device.start()

    def iterate(self, master: AcquisitionMaster, point_done: Callable[[], None]) -> None:
        """Run `master`'s iterations; `point_done()` after each complete point."""
        indices = range(master.npoints) if master.npoints is not None else itertools.count()
        iterators = [
            iter(preset.get_iterator(self))
            for preset in self._presets_of(master)
            if type(preset).get_iterator is not ChainPreset.get_iterator
        ]
        if iterators:
            self._iterate_with_presets(master, indices, iterators, point_done)
            return
        prepare_iteration = master.prepare_iteration if master.moves else None
        trigger = master.trigger
        for index in indices:
            if prepare_iteration is not None:
                prepare_iteration(index)
            trigger(index)
            point_done()

    def _iterate_with_presets(
        self,
        master: AcquisitionMaster,
        indices: Iterable[int],
        iterators: list[Iterator[ChainIterationPreset]],
        point_done: Callable[[], None],
    ) -> None:
        for index in indices:
            # The previous iteration's stop comes first: the last one's is in the stop phase.
            if self._open_iterations:
                self._finish_open_iterations()
            current = []
            for iterator in iterators:
                preset = next(iterator, None)
                if preset is not None:
                    current.append(preset)
            for preset in current:
                self._open_iterations.append(preset)
                preset.prepare()
            master.prepare_iteration(index)
            for preset in current:
                preset.start()
            master.trigger(index)
            point_done()

    def _finish_open_iterations(self) -> None:
        """Stop the previous iteration's presets (reverse order), each even if one raises.

        An interrupt arriving in one of these stops leaves that preset open: the stop phase
        calls its stop again, so that it completes. (Not run in a separate greenlet: that
        would reorder the hooks' output against the table's on every point.)
        """
        errors = StopErrors()
        while self._open_iterations:
            preset = self._open_iterations[-1]
            try:
                preset.stop()
            except Exception as exc:  # noqa: BLE001  (the others are stopped first)
                errors.errors.append((f"iteration preset {type(preset).__name__}.stop", exc))
            self._open_iterations.pop()
        if errors:
            raise errors.errors[0][1]

    def _stop_open_iterations(self, errors: StopErrors) -> None:
        while self._open_iterations:
            preset = self._open_iterations.pop()
            errors.call(f"iteration preset {type(preset).__name__}.stop", preset.stop)

    def stop(self, errors: StopErrors) -> None:
        """Stop phase: open iteration presets, every device (masters first), chain presets.

        Every call is made even if an earlier one raised; errors are collected in `errors`.
        """
        self._stop_open_iterations(errors)
        for device in self.devices:
            errors.call(f"{device.name}.stop", device.stop)
        while self._prepared_presets:
            preset = self._prepared_presets.pop()
            errors.call(f"chain preset {type(preset).__name__}.stop", preset.stop, self)

    def __repr__(self) -> str:
        lines = ["AcquisitionChain"]

        def show(device: AcquisitionDevice, depth: int) -> None:
            lines.append("  " * depth + f"└ {device.name} ({type(device).__name__})")
            for child in device.children if isinstance(device, AcquisitionMaster) else ():
                show(child, depth + 1)

        for master in self.top_masters:
            show(master, 1)
        return "\n".join(lines)
