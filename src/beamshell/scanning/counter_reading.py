"""CounterReader: the slave that reads every counter of one controller once per point."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from beamshell.hardware.protocols import CounterReadout, ScanCounter
from beamshell.scanning.chain import AcquisitionSlave
from beamshell.scanning.channel import AcquisitionChannel
from beamshell.scanning.channel_block import ChannelBlock, PointValueError

STATS_SUFFIXES = ("std", "min", "max")


def is_stats_counter(counter: ScanCounter) -> bool:
    """A counter in STATS mode (`mode` is optional: a counter without one is not)."""
    return getattr(getattr(counter, "mode", None), "name", None) == "STATS"


def counter_channel_names(counter: ScanCounter) -> list[str]:
    """The channels a counter fills: its name, plus name_std/_min/_max in STATS mode."""
    names = [counter.name]
    if is_stats_counter(counter):
        names += [f"{counter.name}_{suffix}" for suffix in STATS_SUFFIXES]
    return names


class CounterReader(AcquisitionSlave):
    """Calls `controller.read_all(counters, count_time)` once per point and stores the values.

    The counters belong to `controller`, or to controllers of its read group
    (`CounterController.read_group`: simulated counters are each their own controller, and
    one call reads them all); every one of those controllers is prepared, started and
    stopped. A STATS-mode counter's CounterStats fill four channels: the mean under the
    counter's name, and `<name>_std`, `<name>_min`, `<name>_max`.

    When every counter is a plain scalar of one dtype (the common case: diodes, timers,
    simulated counters), their channels share a ChannelBlock and a point is stored with
    one numpy assignment; otherwise each counter has its own channel(s) and writer.
    """

    def __init__(
        self,
        controller: CounterReadout,
        counters: Sequence[ScanCounter],
        npoints: int | None = None,
    ):
        controllers = [controller]
        for counter in counters:
            owner = counter.controller
            if all(owner is not known for known in controllers):
                controllers.append(owner)
        name = controller.name
        if len(controllers) > 1:
            name = controller.read_group or name
        super().__init__(name)
        self.controller = controller
        self.controllers = controllers
        self.counters = list(counters)
        self.channel_of: dict[int, AcquisitionChannel] = {}  # id(counter) -> main channel
        self._writers: list[Callable[[Any], None]] = []
        self._store: Callable[[Sequence[Any]], None]
        block = self._shared_block(npoints)
        if block is not None:
            for counter, channel in zip(self.counters, block.channels, strict=True):
                self.add_channel(channel).counter = counter
                self.channel_of[id(counter)] = channel
            self._store = block.append
        else:
            for counter in self.counters:
                self._writers.append(self._make_writer(counter, npoints))
            self._store = self._write_each
        self._main_channels = [self.channel_of[id(counter)] for counter in self.counters]
        self._read_all = controller.read_all

    def _shared_block(self, npoints: int | None) -> ChannelBlock | None:
        """One block for all the counters' channels, if they are plain scalars of one dtype."""
        counters = self.counters
        if not counters or any(tuple(c.shape) != () or is_stats_counter(c) for c in counters):
            return None
        dtypes = {np.dtype(counter.dtype) for counter in counters}
        if len(dtypes) != 1:
            return None
        names = [counter.name for counter in counters]
        return ChannelBlock(names, dtypes.pop(), [c.unit for c in counters], npoints)

    def _make_writer(self, counter: ScanCounter, npoints: int | None) -> Callable[[Any], None]:
        unit, shape, dtype = counter.unit, tuple(counter.shape), counter.dtype
        main = self.add_channel(AcquisitionChannel(counter.name, dtype, shape, unit, npoints))
        main.counter = counter
        self.channel_of[id(counter)] = main
        if not is_stats_counter(counter):
            return main.put
        mean_put = main.put
        extras = [
            self.add_channel(
                AcquisitionChannel(f"{counter.name}_{suffix}", float, (), unit, npoints)
            )
            for suffix in STATS_SUFFIXES
        ]
        for channel in extras:
            channel.displayed = False  # the table shows the mean; the others are in the data
        std_put, min_put, max_put = (channel.put for channel in extras)

        def write_stats(stats: Any) -> None:
            mean_put(stats.mean)
            std_put(stats.std)
            min_put(stats.min)
            max_put(stats.max)

        return write_stats

    def prepare(self) -> None:
        count_time = self.parent.count_time if self.parent is not None else 0.0
        for controller in self.controllers:
            controller.prepare(count_time)

    def start(self) -> None:
        for controller in self.controllers:
            controller.start()

    def stop(self) -> None:
        for controller in self.controllers:
            controller.stop()

    def acquire(self, count_time: float) -> None:
        values = self._read_all(self.counters, count_time)
        if len(values) != len(self.counters):
            raise RuntimeError(
                f"controller {self.name}: read_all returned {len(values)} values "
                f"for {len(self.counters)} counters"
            )
        try:
            self._store(values)
        except PointValueError as exc:
            raise self._bad_value(values, exc.row, exc) from None
        except (ValueError, TypeError, AttributeError) as exc:
            # Stored in order: the counters before the bad one have one point more.
            last = len(self._main_channels[-1])
            index = sum(1 for channel in self._main_channels if len(channel) > last)
            raise self._bad_value(values, index, exc) from None

    def _write_each(self, values: Sequence[Any]) -> None:
        for write, value in zip(self._writers, values):  # noqa: B905  (lengths checked)
            write(value)

    def _bad_value(self, values: Sequence[Any], index: int, exc: Exception) -> ValueError:
        """The error naming the counter whose value could not be stored."""
        counter = self.counters[index]
        return ValueError(
            f"counter {counter.name}: unexpected value {values[index]!r} from "
            f"controller {self.name} ({exc})"
        )
