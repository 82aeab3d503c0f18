"""Simulated counters (diode, gaussian peak on an axis, beam monitor, 1-D MCA), cheap to read."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from beamshell.hardware import config_values
from beamshell.hardware.axis import Axis
from beamshell.hardware.counters import (
    Counter,
    CounterController,
    CounterReadError,
    SamplingCounter,
    SamplingMode,
)

if TYPE_CHECKING:
    from beamshell.config.static import Config, ConfigNode

COMMON_KEYS = ("unit", "mode", "fault")
_gauss = random.gauss  # bound once: scalar reads must cost microseconds, not numpy calls
_FOUR_LN2 = 4 * math.log(2)


class _Settings:
    """Counts changes to any simulated counter's attributes: a read plan older than the
    count is rebuilt, so a level, noise, constant or fault set at run time applies at once."""

    revision = 0


class SimulationController(CounterController):
    """Controller of simulated counters: each sample is computed on the spot.

    Every simulated counter is its own controller's only counter; since a sample depends
    on the counter alone, any of them reads all of them (one read group). When all the
    counters read together are plain noisy diodes, a point is one loop over their levels
    and spreads (a "read plan", kept while the counters and their settings stay the same)
    instead of a method call and five attribute look-ups per counter.
    """

    read_group = "simulation"
    _plan: tuple[Sequence[Counter], int, list[tuple[float, float]] | None] | None = None

    def read_samples(self, counters: Sequence[Counter]) -> list[Any]:
        plan = self._plan
        if plan is None or plan[0] is not counters or plan[1] != _Settings.revision:
            plan = self._plan = (counters, _Settings.revision, _diode_plan(counters))
        spreads = plan[2]
        if spreads is None:
            # Only simulated counters have this read group (each is its own controller's).
            simulated = cast("Sequence[SimulatedCounter]", counters)
            return [counter.simulated_sample() for counter in simulated]
        return [level + _gauss(0.0, sigma) for level, sigma in spreads]


def _diode_plan(counters: Sequence[Counter]) -> list[tuple[float, float]] | None:
    """(level, sigma) of each counter if all are noisy diodes in working order, else None."""
    spreads = []
    for counter in counters:
        if type(counter) is not SimulationDiode or counter._fault or counter.constant is not None:
            return None
        spreads.append((counter.level, counter.noise * counter.level))
    return spreads


class SimulatedCounter(SamplingCounter):
    """Base of the simulated kinds: a fault can be injected (`fault:` key or simulate_fault)."""

    kind = "simulation"
    default_mode = SamplingMode.MEAN

    def __init__(
        self,
        name: str,
        *,
        unit: str | None = None,
        shape: tuple[int, ...] = (),
        mode: SamplingMode | str | None = None,
        fault: str | None = None,
    ):
        super().__init__(
            name,
            SimulationController(name),
            unit=unit,
            shape=shape,
            mode=mode or self.default_mode,
        )
        self._fault = fault

    @classmethod
    def _common_from_config(cls, node: ConfigNode, extra_keys: Sequence[str]) -> dict[str, Any]:
        """Check the keys and read those every simulated counter has."""
        node.check_keys((*COMMON_KEYS, *extra_keys))
        return {
            "unit": config_values.text(node, "unit"),
            "mode": config_values.choice(
                node, "mode", [mode.value for mode in SamplingMode], cls.default_mode.value
            ),
            "fault": config_values.flag_or_message(node, "fault"),
        }

    def __setattr__(self, name: str, value: Any) -> None:
        super().__setattr__(name, value)
        _Settings.revision += 1  # read plans of simulation controllers are out of date

    def simulate_fault(self, message: str = "simulated fault") -> None:
        """Make every following read fail with `message` (as a broken device would)."""
        self._fault = message

    def clear_fault(self) -> None:
        self._fault = None

    def _raise_fault(self) -> None:
        raise CounterReadError(f"{self.name}: read failed: {self._fault}")

    def simulated_sample(self) -> Any:
        raise NotImplementedError

    def _describe(self) -> str:
        fault = f", FAULT: {self._fault}" if self._fault else ""
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.name} ({self.kind}{unit}, {self._signal_text()}, mode {self.mode}{fault})"

    def _signal_text(self) -> str:
        return ""


def _noise_text(noise: float) -> str:
    return f" +- {noise * 100:g}%" if noise else ""


class SimulationDiode(SimulatedCounter):
    """Noisy values around `level`; `constant:` makes every reading exactly that value."""

    kind = "simulation_diode"

    def __init__(
        self,
        name: str,
        *,
        level: float = 100.0,
        noise: float = 0.1,
        constant: float | None = None,
        **kwargs: Any,
    ):
        super().__init__(name, **kwargs)
        self.constant = constant
        self.level = level
        self.noise = noise

    @classmethod
    def from_config(cls, node: ConfigNode, config: Config) -> SimulationDiode:
        common = cls._common_from_config(node, ("constant", "level", "noise"))
        return cls(
            config_values.required_name(node, "counter"),
            constant=config_values.number(node, "constant"),
            level=config_values.number(node, "level", 100.0),
            noise=config_values.number(node, "noise", 0.1, non_negative=True),
            **common,
        )

    def simulated_sample(self) -> float:
        if self._fault:
            self._raise_fault()
        if self.constant is not None:
            return self.constant
        return self.level + _gauss(0.0, self.noise * self.level)

    def _signal_text(self) -> str:
        if self.constant is not None:
            return f"constant {self.constant:g}"
        return f"level {self.level:g}{_noise_text(self.noise)}"


class SimulationGaussian(SimulatedCounter):
    """A gaussian peak against the user position of `axis`, plus background and noise."""

    kind = "simulation_gaussian"

    def __init__(
        self,
        name: str,
        axis: Axis,
        *,
        center: float = 0.0,
        fwhm: float = 1.0,
        height: float = 1000.0,
        background: float = 0.0,
        noise: float = 0.0,
        **kwargs: Any,
    ):
        super().__init__(name, **kwargs)
        self.axis = axis
        self.center = center
        self.fwhm = fwhm
        self.height = height
        self.background = background
        self.noise = noise

    @classmethod
    def from_config(cls, node: ConfigNode, config: Config) -> SimulationGaussian:
        common = cls._common_from_config(
            node, ("axis", "center", "fwhm", "height", "background", "noise")
        )
        if "axis" not in node:
            raise node.error("missing required key 'axis' (e.g. axis: $m1)")
        axis = node.get("axis")
        if not isinstance(axis, Axis):
            raise node.error(f"'axis' must refer to a motor axis, got {node.raw('axis')!r}", "axis")
        return cls(
            config_values.required_name(node, "counter"),
            axis,
            center=config_values.number(node, "center", 0.0),
            fwhm=config_values.number(node, "fwhm", 1.0, positive=True),
            height=config_values.number(node, "height", 1000.0),
            background=config_values.number(node, "background", 0.0),
            noise=config_values.number(node, "noise", 0.0, non_negative=True),
            **common,
        )

    @property
    def fwhm(self) -> float:
        return self._fwhm

    @fwhm.setter
    def fwhm(self, value: float) -> None:
        if not value > 0:
            raise ValueError(f"{self.name}: fwhm must be positive, got {value!r}")
        self._fwhm = float(value)
        self._exponent_scale = _FOUR_LN2 / (self._fwhm * self._fwhm)

    def peak_value(self, position: float) -> float:
        """The noise-free signal at user position `position` of the axis."""
        distance = position - self.center
        return self.background + self.height * math.exp(-self._exponent_scale * distance * distance)

    def simulated_sample(self) -> float:
        if self._fault:
            self._raise_fault()
        value = self.peak_value(self.axis.position)
        if self.noise:
            value += _gauss(0.0, self.noise * self.height)
        return value

    def _signal_text(self) -> str:
        return (
            f"peak on {self.axis.name} at {self.center:g}, fwhm {self.fwhm:g}, "
            f"height {self.height:g}{_noise_text(self.noise)}"
        )


class SimulationBeamMonitor(SimulatedCounter):
    """Beam intensity that the operator (or a test) sets: `beam.value = 0` cuts the beam."""

    kind = "simulation_beam_monitor"

    def __init__(self, name: str, *, value: float = 100.0, noise: float = 0.0, **kwargs: Any):
        super().__init__(name, **kwargs)
        self.value = value
        self.noise = noise

    @classmethod
    def from_config(cls, node: ConfigNode, config: Config) -> SimulationBeamMonitor:
        common = cls._common_from_config(node, ("value", "noise"))
        return cls(
            config_values.required_name(node, "counter"),
            value=config_values.number(node, "value", 100.0),
            noise=config_values.number(node, "noise", 0.0, non_negative=True),
            **common,
        )

    @property
    def value(self) -> float:
        return self._value

    @value.setter
    def value(self, intensity: float) -> None:
        if isinstance(intensity, bool) or not isinstance(intensity, int | float | np.number):
            raise ValueError(f"{self.name}: value must be a number, got {intensity!r}")
        if math.isnan(intensity):
            raise ValueError(f"{self.name}: value is NaN")
        self._value = float(intensity)

    def simulated_sample(self) -> float:
        if self._fault:
            self._raise_fault()
        if self.noise:
            return self._value + _gauss(0.0, self.noise * self._value)
        return self._value

    def _signal_text(self) -> str:
        return f"value {self._value:g}{_noise_text(self.noise)}"


class SimulationMca(SimulatedCounter):
    """A 1-D spectrum of `size` channels: fluorescence lines on a background, Poisson noise.

    A reading is counts, uint32 as a real MCA gives them (half the bytes of float64 to
    publish and to save); in MEAN mode it is the mean of a count's spectra, float64.
    """

    kind = "simulation_mca"
    default_mode = SamplingMode.SINGLE
    _NOISE_ROWS = 16  # precomputed noisy spectra: a read is one array copy, not a random draw

    def __init__(self, name: str, *, size: int = 1024, seed: int | None = None, **kwargs: Any):
        super().__init__(name, shape=(size,), **kwargs)
        self.size = size
        channels = np.arange(size, dtype=np.float64)
        background = 5.0 + 50.0 * np.exp(-channels / max(size / 4, 1.0))
        lines = [(0.3, 1000.0), (0.45, 400.0), (0.7, 200.0)]  # (position / size, height)
        width = max(size / 100, 1.0)
        self.expected = background + sum(
            height * np.exp(-0.5 * ((channels - where * size) / width) ** 2)
            for where, height in lines
        )
        rng = np.random.default_rng(seed)
        self._spectra = rng.poisson(self.expected, (self._NOISE_ROWS, size)).astype(np.uint32)

    @property
    def mode(self) -> SamplingMode:
        return self._mode

    @mode.setter
    def mode(self, value: SamplingMode | str) -> None:
        SamplingCounter.mode.fset(self, value)  # type: ignore[attr-defined]
        # Counts are integers; their mean over a count time is not.
        single = self._mode is SamplingMode.SINGLE
        self.dtype = np.dtype(np.uint32 if single else np.float64)

    @classmethod
    def from_config(cls, node: ConfigNode, config: Config) -> SimulationMca:
        common = cls._common_from_config(node, ("size",))
        if common["mode"] == SamplingMode.STATS.value:
            raise node.error("mode STATS needs a scalar counter; an MCA gives spectra", "mode")
        return cls(
            config_values.required_name(node, "counter"),
            size=config_values.integer(node, "size", 1024, minimum=1, maximum=1 << 20),
            **common,
        )

    def simulated_sample(self) -> np.ndarray:
        if self._fault:
            self._raise_fault()
        spectrum: np.ndarray = self._spectra[random.randrange(self._NOISE_ROWS)].copy()
        return spectrum

    def _signal_text(self) -> str:
        return f"{self.size} channels"
