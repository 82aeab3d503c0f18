"""The `simulation_shutter`: opens and closes in a few tens of milliseconds, state persisted."""

from __future__ import annotations

import enum
from typing import TYPE_CHECKING

import gevent
import gevent.lock

from beamshell.hardware import config_values
from beamshell.hardware.attributes import StrictAttributes

if TYPE_CHECKING:
    from beamshell.config.settings import SimpleSetting
    from beamshell.config.static import Config, ConfigNode

DEFAULT_MOVING_TIME = 0.03  # seconds: a fast beam shutter


class ShutterState(enum.StrEnum):
    OPEN = "OPEN"
    CLOSED = "CLOSED"
    MOVING = "MOVING"


class SimulationShutter(StrictAttributes):
    """A shutter whose blade takes `moving_time` seconds to open or close."""

    def __init__(self, name: str, setting: SimpleSetting, moving_time: float = DEFAULT_MOVING_TIME):
        self.name = name
        self.config_name = name
        self.moving_time = moving_time
        self._setting = setting
        self._moving = False  # a movement of this process is in progress
        self._lock = gevent.lock.RLock()

    @property
    def _state(self) -> ShutterState:
        """MOVING during a movement, else the persisted state (shared by every process)."""
        if self._moving:
            return ShutterState.MOVING
        saved = self._setting.get()
        return ShutterState(saved) if saved in ("OPEN", "CLOSED") else ShutterState.CLOSED

    @classmethod
    def from_config(cls, node: ConfigNode, config: Config) -> SimulationShutter:
        node.check_keys(["moving_time"])
        name = config_values.required_name(node, "shutter")
        moving_time = config_values.number(
            node, "moving_time", DEFAULT_MOVING_TIME, non_negative=True
        )
        return cls(name, config.settings.value(f"shutter:{name}"), moving_time)

    @property
    def state(self) -> ShutterState:
        return self._state

    @property
    def is_open(self) -> bool:
        return self._state is ShutterState.OPEN

    @property
    def is_closed(self) -> bool:
        return self._state is ShutterState.CLOSED

    def open(self) -> None:
        """Open and return once open (at once if it already is)."""
        self._move_to(ShutterState.OPEN)

    def close(self) -> None:
        """Close and return once closed (at once if it already is)."""
        self._move_to(ShutterState.CLOSED)

    def _move_to(self, target: ShutterState) -> None:
        # One movement at a time: a second caller waits, then finds the shutter where it wants.
        with self._lock:
            if self._state is target:
                return
            self._moving = True
            try:
                gevent.sleep(self.moving_time)
                # Interrupted half way, the simulated blade falls back where it was.
                self._setting.set(target.value)
            finally:
                self._moving = False

    def __info__(self) -> str:
        return f"SHUTTER {self.name}: {self._state}  (moving time {self.moving_time * 1000:g} ms)"

    def __repr__(self) -> str:
        return f"<SimulationShutter {self.name}: {self._state}>"
