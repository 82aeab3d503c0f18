"""CounterReader: the slave that reads every counter of one controller once per point."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from beamshell.scanning.chain import AcquisitionSlave
from beamshell.scanning.channel import AcquisitionChannel

STATS_SUFFIXES = ("std", "min", "max")


def is_stats_counter(counter: Any) -> bool:
    return getattr(getattr(counter, "mode", None), "name", None) == "STATS"


def counter_channel_names(counter: Any) -> list[str]:
    """The channels a counter fills: its name, plus name_std/_min/_max in STATS mode."""
    names = [counter.name]
    if is_stats_counter(counter):
        names += [f"{counter.name}_{suffix}" for suffix in STATS_SUFFIXES]
    return names


class CounterReader(AcquisitionSlave):
    """Calls `controller.read_all(counters, count_time)` once per point and stores the values.

    A STATS-mode counter's CounterStats fill four channels: the mean under the counter's
    name, and `<name>_std`, `<name>_min`, `<name>_max`.
    """

    def __init__(self, controller: Any, counters: Sequence, npoints: int | None = None):
        super().__init__(getattr(controller, "name", type(controller).__name__))
        self.controller = controller
        self.counters = list(counters)
        self.channel_of: dict[int, AcquisitionChannel] = {}  # id(counter) -> main channel
        self._writers: list[Callable[[Any], None]] = []
        for counter in self.counters:
            self._writers.append(self._make_writer(counter, npoints))
        self._read_all = controller.read_all

    def _make_writer(self, counter: Any, npoints: int | None) -> Callable[[Any], None]:
        unit = getattr(counter, "unit", None)
        shape = tuple(getattr(counter, "shape", ()) or ())
        dtype = getattr(counter, "dtype", float) or float
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
        prepare = getattr(self.controller, "prepare", None)
        if prepare is not None:
            prepare(self.parent.count_time if self.parent is not None else 0.0)

    def start(self) -> None:
        start = getattr(self.controller, "start", None)
        if start is not None:
            start()

    def stop(self) -> None:
        stop = getattr(self.controller, "stop", None)
        if stop is not None:
            stop()

    def acquire(self, count_time: float) -> None:
        values = self._read_all(self.counters, count_time)
        if len(values) != len(self._writers):
            raise RuntimeError(
                f"controller {self.name}: read_all returned {len(values)} values "
                f"for {len(self._writers)} counters"
            )
        written = 0
        try:
            for write, value in zip(self._writers, values, strict=True):
                write(value)
                written += 1
        except (ValueError, TypeError, AttributeError) as exc:
            counter = self.counters[written]
            raise ValueError(
                f"counter {counter.name}: unexpected value {values[written]!r} from "
                f"controller {self.name} ({exc})"
            ) from None
