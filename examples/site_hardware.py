"""Real hardware for beamshell, as a site writes it: a picoammeter and a stepper controller.

Both instruments speak a line protocol over TCP (`SocketLink`): a command, a one-line answer.
`LoopbackLink` answers in this process as the instruments would, to try the classes without
hardware. The type check (`make typecheck`) checks this file against
`beamshell.hardware.protocols`; tests/hardware/test_site_example.py runs scans with it.

Configuration (the root __init__.yml lists `packages: [site_hardware]`, and this file's
directory is on PYTHONPATH):

    - name: pico
      class: site_hardware.Picoammeter
      host: pico.bl01            # "loopback": no hardware
      counters:
        - {name: i0, unit: nA}
    - name: stage
      class: site_hardware.StepperController
      host: stepper.bl01
      axes:
        - {name: sx, velocity: 2, acceleration: 20, steps_per_unit: 200, unit: mm}
"""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

from beamshell.hardware.axis import Axis, AxisState
from beamshell.hardware.counters import Counter, CounterController, SamplingCounter
from beamshell.hardware.motor_controller import MotorControllerBase
from beamshell.hardware.protocols import CounterReadout, MotorController

if TYPE_CHECKING:
    from beamshell.config.static import Config, ConfigNode

PORT = 5025  # the instruments' command port
POLL_S = 0.02  # how often a moving axis asks its controller whether it has arrived


class Link(Protocol):
    """One instrument's command channel."""

    def query(self, command: str) -> str: ...


class SocketLink:
    """A line protocol over TCP (gevent makes the socket cooperative in beamshell)."""

    def __init__(self, host: str, port: int = PORT, timeout: float = 2.0):
        self._socket = socket.create_connection((host, port), timeout=timeout)
        self._reader = self._socket.makefile("r", encoding="ascii", newline="\n")

    def query(self, command: str) -> str:
        self._socket.sendall(command.encode("ascii") + b"\n")
        return self._reader.readline().strip()


class LoopbackLink:
    """Answers like the instruments, without hardware: currents, and motors that move at
    their set speed (in steps per second)."""

    def __init__(self) -> None:
        self._position: dict[str, float] = {}
        self._move: dict[str, tuple[float, float, float, float]] = {}  # from, to, t0, speed
        self._speed: dict[str, float] = {}

    def query(self, command: str) -> str:
        verb, *args = command.split()
        now = time.monotonic()
        if verb == "READ?":  # a current in nA that depends on nothing but time
            return f"{100.0 + 5.0 * (now % 1.0):.6f}"
        motor = args[0]
        here = self._where(motor, now)
        if verb == "POS?":
            return f"{here:.3f}"
        if verb == "STATE?":
            return "MOVING" if motor in self._move else "READY"
        if verb == "SPEED":
            self._speed[motor] = float(args[1])
        elif verb == "MOVE":
            speed = self._speed.get(motor, 1000.0)
            self._move[motor] = (here, float(args[1]), now, speed)
        elif verb in ("STOP", "ABORT"):
            self._position[motor] = here
            self._move.pop(motor, None)
        elif verb == "SETPOS":
            self._position[motor] = float(args[1])
        return "OK"

    def _where(self, motor: str, now: float) -> float:
        move = self._move.get(motor)
        if move is None:
            return self._position.get(motor, 0.0)
        start, target, t0, speed = move
        travelled = speed * (now - t0)
        if travelled >= abs(target - start):
            self._position[motor] = target
            del self._move[motor]
            return target
        return start + travelled * (1 if target > start else -1)


def connect(node: ConfigNode) -> Link:
    host = str(node.raw("host") or "")
    if not host:
        raise node.error("'host' is required (the instrument's address, or 'loopback')", "host")
    if host == "loopback":
        return LoopbackLink()
    return SocketLink(host, int(node.raw("port") or PORT))


class Picoammeter(CounterController):
    """Currents read with `READ? <channel>`; the base class integrates over the count time."""

    def __init__(self, name: str, link: Link):
        super().__init__(name)
        self.link = link

    @classmethod
    def from_config(cls, node: ConfigNode, config: Config) -> Picoammeter:
        node.check_keys(["host", "port", "counters"])
        controller = cls(str(node.raw("name")), connect(node))
        for item in node.children("counters"):
            item.check_keys(["unit"])
            SamplingCounter(str(item.name), controller, unit=item.raw("unit"))
        return controller

    def get_object(self, name: str) -> Counter:
        """A counter of this controller (the configuration asks for each one by name)."""
        return next(counter for counter in self.counters if counter.config_name == name)

    def read_samples(self, counters: Sequence[Counter]) -> list[float]:
        return [float(self.link.query(f"READ? {counter.config_name}")) for counter in counters]


class StepperController(MotorControllerBase):
    """Stepper motors: positions in steps (`POS?`, `MOVE`, `SETPOS`), `STATE?`, `STOP`."""

    CONTROLLER_KEYS = ("host", "port")

    def __init__(self, name: str, config: Config | None = None, link: Link | None = None):
        super().__init__(name, config)
        self.link: Link = link or LoopbackLink()

    @classmethod
    def create(cls, node: ConfigNode, config: Config) -> StepperController:
        return cls(str(node.raw("name")), config, connect(node))

    def _steps(self, axis: Axis, dial: float) -> int:
        return round(dial * axis.steps_per_unit)

    def attach(self, axis: Axis, dial_position: float) -> None:
        self.link.query(f"SPEED {axis.config_name} {axis.velocity * axis.steps_per_unit:g}")

    def read_position(self, axis: Axis) -> float:
        return float(self.link.query(f"POS? {axis.config_name}")) / axis.steps_per_unit

    def state(self, axis: Axis) -> AxisState:
        return AxisState(self.link.query(f"STATE? {axis.config_name}"))

    def set_position(self, axis: Axis, dial_position: float) -> None:
        self.link.query(f"SETPOS {axis.config_name} {self._steps(axis, dial_position)}")

    def start_moves(self, moves: list[tuple[Axis, float]]) -> None:
        for axis, target in moves:
            self.link.query(f"SPEED {axis.config_name} {axis.velocity * axis.steps_per_unit:g}")
            self.link.query(f"MOVE {axis.config_name} {self._steps(axis, target)}")

    def remaining_time(self, axis: Axis) -> float:
        # The controller says whether it moves, not for how long: ask again shortly.
        return POLL_S if self.state(axis) is AxisState.MOVING else 0.0

    def stop(self, axis: Axis) -> None:
        self.link.query(f"STOP {axis.config_name}")

    def halt(self, axis: Axis) -> None:
        self.link.query(f"ABORT {axis.config_name}")

    def end_motion(self, axis: Axis) -> None:
        """Nothing to do: the controller keeps its own position."""


# The type check proves that these implement what beamshell asks of them.
_counter_readout: type[CounterReadout] = Picoammeter
_motor_controller: type[MotorController] = StepperController
