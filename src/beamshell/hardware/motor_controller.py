"""MotorControllerBase: a motor controller's axes built from YAML; subclasses drive the motors.

A controller entry of the configuration lists its axes (`axes:`, each with `name:` and the
keys of AXIS_KEYS); the base class builds each Axis on first request with its persisted
settings. A subclass implements the `hardware.protocols.MotorController` methods that talk
to its hardware (the mockup simulates them; docs/hardware.md shows a real one).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Self

from beamshell.errors import BeamshellError
from beamshell.hardware import config_values
from beamshell.hardware.attributes import StrictAttributes
from beamshell.hardware.axis import Axis, AxisState

if TYPE_CHECKING:
    from beamshell.config.static import Config, ConfigNode

AXIS_KEYS = (
    "velocity",
    "acceleration",
    "steps_per_unit",
    "low_limit",
    "high_limit",
    "unit",
    "sign",
    "offset",
)
DEFAULT_VELOCITY = 10.0
DEFAULT_ACCELERATION = 100.0
DEFAULT_STEPS_PER_UNIT = 1000.0


class MotorControllerBase(StrictAttributes):
    """The configured axes of one controller, built on first request (`get_object`)."""

    # Keys of the controller's own entry besides `axes` (a subclass adds its own: a port...).
    CONTROLLER_KEYS: ClassVar[tuple[str, ...]] = ()

    def __init__(self, name: str, config: Config | None = None):
        self.name = name
        self._config = config
        self._axis_nodes: dict[str, ConfigNode] = {}
        self._axes: dict[str, Axis] = {}

    @classmethod
    def from_config(cls, node: ConfigNode, config: Config) -> Self:
        node.check_keys(["axes", *cls.CONTROLLER_KEYS])
        controller = cls.create(node, config)
        axis_nodes = node.children("axes")
        if not axis_nodes:
            raise node.error(
                f"controller {controller.name} needs at least one item in 'axes'", "axes"
            )
        for axis_node in axis_nodes:
            controller._axis_nodes[config_values.required_name(axis_node, "axis")] = axis_node
        return controller

    @classmethod
    def create(cls, node: ConfigNode, config: Config) -> Self:
        """The controller for this configuration entry (a subclass reads its own keys here)."""
        return cls(str(node.raw("name") or cls.__name__), config)

    @property
    def axes(self) -> dict[str, Axis]:
        """Every configured axis, built if needed."""
        return {name: self.get_object(name) for name in self._axis_nodes}

    def get_object(self, name: str) -> Axis:
        axis = self._axes.get(name)
        if axis is None:
            node = self._axis_nodes.get(name)
            if node is None:
                raise BeamshellError(f"controller {self.name} has no axis '{name}'")
            axis = self._axes[name] = self._build_axis(name, node)
            self.axis_built(axis)
        return axis

    def axis_built(self, axis: Axis) -> None:
        """Called once per axis, after it is built (a subclass may follow it)."""

    def _build_axis(self, name: str, node: ConfigNode) -> Axis:
        node.check_keys(AXIS_KEYS)
        low = config_values.number(node, "low_limit")
        high = config_values.number(node, "high_limit")
        if low is not None and high is not None and low > high:
            raise node.error(f"low_limit {low:g} is above high_limit {high:g}", "low_limit")
        sign = config_values.number(node, "sign", 1.0)
        if sign not in (1.0, -1.0):
            raise node.error(f"'sign' must be 1 or -1, got {node.raw('sign')!r}", "sign")
        if self._config is None:
            raise BeamshellError(f"controller {self.name}: axis '{name}' needs a configuration")
        return Axis(
            name,
            self,
            self._config.settings.mapping(f"axis:{name}"),
            unit=config_values.text(node, "unit"),
            steps_per_unit=config_values.number(
                node, "steps_per_unit", DEFAULT_STEPS_PER_UNIT, positive=True
            ),
            velocity=config_values.number(node, "velocity", DEFAULT_VELOCITY, positive=True),
            acceleration=config_values.number(
                node, "acceleration", DEFAULT_ACCELERATION, positive=True
            ),
            low_limit=low,
            high_limit=high,
            sign=int(sign),
            offset=config_values.number(node, "offset", 0.0),
        )

    # -- what a subclass implements: hardware.protocols.MotorController ---------------------
    def attach(self, axis: Axis, dial_position: float) -> None:
        """The axis is built; `dial_position` is where it was last seen (persisted)."""

    def read_position(self, axis: Axis) -> float:
        raise NotImplementedError(f"{type(self).__name__}.read_position")

    def state(self, axis: Axis) -> AxisState:
        raise NotImplementedError(f"{type(self).__name__}.state")

    def set_position(self, axis: Axis, dial_position: float) -> None:
        raise NotImplementedError(f"{type(self).__name__}.set_position")

    def start_moves(self, moves: list[tuple[Axis, float]]) -> None:
        raise NotImplementedError(f"{type(self).__name__}.start_moves")

    def remaining_time(self, axis: Axis) -> float:
        raise NotImplementedError(f"{type(self).__name__}.remaining_time")

    def stop(self, axis: Axis) -> None:
        raise NotImplementedError(f"{type(self).__name__}.stop")

    def halt(self, axis: Axis) -> None:
        raise NotImplementedError(f"{type(self).__name__}.halt")

    def end_motion(self, axis: Axis) -> None:
        """The move is over or abandoned (nothing to do for most controllers)."""

    # -------------------------------------------------------------------------------------
    def close(self) -> None:
        """Stop every axis at once and persist their positions."""
        for axis in self._axes.values():
            axis.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name}: axes {', '.join(self._axis_nodes)}>"
