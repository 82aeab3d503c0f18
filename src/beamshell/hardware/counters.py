"""Counters and their controllers: sampling over a count time, in SINGLE, MEAN or STATS mode."""

from __future__ import annotations

import enum
import time
from collections.abc import Sequence
from typing import Any, NamedTuple

import gevent
import numpy as np

from beamshell.errors import BeamshellError
from beamshell.hardware.attributes import StrictAttributes


class SamplingMode(enum.StrEnum):
    SINGLE = "SINGLE"  # one sample, taken when the count starts
    MEAN = "MEAN"  # the average of every sample taken during the count time
    STATS = "STATS"  # mean, standard deviation, min, max and number of samples

    @classmethod
    def parse(cls, value: SamplingMode | str) -> SamplingMode:
        if isinstance(value, cls):
            return value
        try:
            return cls[str(value).upper()]
        except KeyError:
            raise ValueError(f"unknown sampling mode {value!r} (SINGLE, MEAN or STATS)") from None


class CounterStats(NamedTuple):
    mean: float
    std: float
    min: float
    max: float
    npoints: int


class CounterReadError(BeamshellError):
    """Reading a counter failed; the message names the counter."""


class Counter(StrictAttributes):
    """A named measurement read through its controller, with a unit, dtype and shape."""

    def __init__(
        self,
        name: str,
        controller: CounterController,
        *,
        unit: str | None = None,
        dtype: Any = np.float64,
        shape: tuple[int, ...] = (),
    ):
        self.name = name  # display name: a session alias may change it
        self.config_name = name
        self.controller = controller
        self.unit = unit
        self.dtype = np.dtype(dtype)
        self.shape = tuple(shape)
        controller.add_counter(self)

    @property
    def mode(self) -> SamplingMode:
        return SamplingMode.SINGLE

    @property
    def fullname(self) -> str:
        """Unique across a session when counter names repeat: '<controller>:<counter>'."""
        return f"{self.controller.name}:{self.name}"

    @property
    def raw_read(self) -> Any:
        """One immediate reading (no count time, no scan): a float or a 1-D numpy array."""
        return self.controller.sample([self])[0]

    def _describe(self) -> str:
        unit = f", unit {self.unit}" if self.unit else ""
        shape = f", shape {self.shape}" if self.shape else ""
        return f"{self.name} ({type(self).__name__}{unit}{shape}, mode {self.mode})"

    def __repr__(self) -> str:
        return f"<{self._describe()}>"


class SamplingCounter(Counter):
    """A counter sampled repeatedly during the count time; `mode` chooses what is returned."""

    def __init__(self, *args: Any, mode: SamplingMode | str = SamplingMode.MEAN, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.mode = mode

    @property
    def mode(self) -> SamplingMode:
        return self._mode

    @mode.setter
    def mode(self, value: SamplingMode | str) -> None:
        try:
            mode = SamplingMode.parse(value)
        except ValueError as exc:
            raise ValueError(f"{self.name}: {exc}") from None
        if mode is SamplingMode.STATS and self.shape:
            raise ValueError(
                f"{self.name}: STATS mode needs a scalar counter, shape is {self.shape}"
            )
        self._mode = mode


class CounterController(StrictAttributes):
    """Reads a set of counters together; one `read_all` call per point for all of them.

    Subclasses implement `read_samples(counters)`: one immediate sample per counter.
    """

    # Seconds between samples while integrating (a sampling counter reads as it goes).
    sampling_period = 0.01
    # Controllers with the same read group (a name) read each other's counters: their
    # readings do not depend on which controller asks, so `read_all` of any of them reads
    # counters of all of them, and a scan reads them with one call per point. None: this
    # controller reads only its own counters.
    read_group: str | None = None
    _stats_cache: tuple[Sequence[Counter], list[int]] | None = None

    def __init__(self, name: str):
        self.name = name
        self._counters: dict[str, Counter] = {}
        self.count_time = 0.0

    @property
    def counters(self) -> tuple[Counter, ...]:
        return tuple(self._counters.values())

    def add_counter(self, counter: Counter) -> None:
        self._counters[counter.config_name] = counter

    # -- acquisition protocol -----------------------------------------------------------
    def prepare(self, count_time: float) -> None:
        """Called once before a series of points with the count time they will use."""
        self.count_time = count_time

    def start(self) -> None:
        """Called when acquisition starts (nothing to arm for sampling counters)."""

    def stop(self) -> None:
        """Called when acquisition ends or is aborted."""

    def read_samples(self, counters: Sequence[Counter]) -> list[Any]:
        raise NotImplementedError

    def sample(self, counters: Sequence[Counter]) -> list[Any]:
        """One immediate sample per counter; any failure becomes a CounterReadError naming them."""
        try:
            return self.read_samples(counters)
        except CounterReadError:
            raise
        except Exception as exc:
            names = ", ".join(counter.name for counter in counters)
            raise CounterReadError(f"reading {names} failed: {type(exc).__name__}: {exc}") from exc

    def _stats_positions(self, counters: Sequence[Counter]) -> list[int]:
        """Where the STATS counters are in `counters`; kept for the list a scan passes at
        every point (a scan fixes its counters' modes when it starts)."""
        cached = self._stats_cache
        if cached is not None and cached[0] is counters:
            return cached[1]
        positions = [i for i, c in enumerate(counters) if c.mode is SamplingMode.STATS]
        self._stats_cache = (counters, positions)
        return positions

    def read_all(self, counters: Sequence[Counter], count_time: float) -> list[Any]:
        """One value per counter, in order, after integrating over `count_time` seconds.

        Blocks (gevent.sleep) for the count time. SINGLE gives the first sample, MEAN the
        average of the samples, STATS a CounterStats. With count_time 0, one sample, no sleep.
        """
        if count_time <= 0:
            if count_time < 0:
                raise ValueError(f"count time must be 0 or more, got {count_time}")
            values = self.sample(counters)
            for index in self._stats_positions(counters):
                value = values[index]
                values[index] = CounterStats(value, 0.0, value, value, 1)
            return values
        deadline = time.monotonic() + count_time
        rows = [self.sample(counters)]
        if all(counter.mode is SamplingMode.SINGLE for counter in counters):
            gevent.sleep(count_time)
            return rows[0]
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            gevent.sleep(min(self.sampling_period, remaining))
            rows.append(self.sample(counters))
        return [
            _reduce(counter.mode, [row[index] for row in rows])
            for index, counter in enumerate(counters)
        ]

    def __repr__(self) -> str:
        names = ", ".join(counter.name for counter in self.counters)
        return f"<{type(self).__name__} {self.name}: {names}>"


def _reduce(mode: SamplingMode, samples: list[Any]) -> Any:
    if mode is SamplingMode.SINGLE:
        return samples[0]
    if mode is SamplingMode.MEAN:
        if isinstance(samples[0], np.ndarray):
            return np.mean(samples, axis=0)
        return sum(samples) / len(samples)
    values = np.asarray(samples, dtype=np.float64)
    return CounterStats(
        float(values.mean()),
        float(values.std()),
        float(values.min()),
        float(values.max()),
        len(samples),
    )
