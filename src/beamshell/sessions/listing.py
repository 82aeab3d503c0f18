"""wa, wm, lscnt, lsconfig, lsmg: what the session holds, printed as aligned tables."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TextIO

from beamshell.hardware.axis import Axis
from beamshell.sessions.table import format_position, format_table

if TYPE_CHECKING:
    from beamshell.config.static import Config
    from beamshell.hardware.measurement_group import MeasurementGroup
    from beamshell.sessions.inventory import Inventory


def _unit(device: Any) -> str:
    return getattr(device, "unit", None) or ""


class ListingCommands:
    """The listing commands of one session."""

    def __init__(
        self,
        inventory: Inventory,
        config: Config,
        active_mg: Callable[[], MeasurementGroup | None] | None = None,
        out: TextIO | None = None,
    ):
        self._inventory = inventory
        self._config = config
        self._active_mg = active_mg or (lambda: None)
        self._out = out

    def _print(self, text: str) -> None:
        print(text, file=self._out or sys.stdout)

    def wa(self) -> None:
        """Where all: every axis of the session with its user and dial positions and limits."""
        axes = self._inventory.axes()
        if not axes:
            self._print("No axis in this session.")
            return
        rows = []
        for axis in axes:
            low, high = axis.limits
            rows.append(
                [
                    axis.name,
                    _unit(axis),
                    format_position(axis.position),
                    format_position(axis.dial),
                    format_position(low),
                    format_position(high),
                    axis.state,
                ]
            )
        self._print("Current positions (user, dial):\n")
        self._print(
            format_table(
                ["axis", "unit", "user", "dial", "low limit", "high limit", "state"],
                rows,
                align_left=2,
            )
        )

    def wm(self, *axes: Axis) -> None:
        """Where motor: user and dial positions, limits and offset of the given axes."""
        if not axes:
            raise TypeError("wm: give at least one axis, e.g. wm(m1)")
        for index, axis in enumerate(axes):
            if not isinstance(axis, Axis):
                raise TypeError(f"wm: argument {index + 1} is {axis!r}, not an axis")
        headers = [""] + [f"{a.name}[{_unit(a)}]" if _unit(a) else a.name for a in axes]
        user_limits = [a.limits for a in axes]
        dial_limits = [
            sorted(((low - a.offset) / a.sign, (high - a.offset) / a.sign))
            for a, (low, high) in zip(axes, user_limits, strict=True)
        ]
        rows = [
            ["User High"] + [format_position(lim[1]) for lim in user_limits],
            ["User"] + [format_position(a.position) for a in axes],
            ["User Low"] + [format_position(lim[0]) for lim in user_limits],
            ["Offset"] + [format_position(a.offset) for a in axes],
            ["Dial High"] + [format_position(lim[1]) for lim in dial_limits],
            ["Dial"] + [format_position(a.dial) for a in axes],
            ["Dial Low"] + [format_position(lim[0]) for lim in dial_limits],
            ["State"] + [str(a.state) for a in axes],
        ]
        self._print(format_table(headers, rows))

    def lscnt(self) -> None:
        """Every counter of the session: name, shape, unit, controller, sampling mode."""
        rows = []
        for counter in self._inventory.counters():
            shape = getattr(counter, "shape", ())
            rows.append(
                [
                    counter.name,
                    f"{len(shape)}D",
                    _unit(counter),
                    getattr(counter.controller, "name", type(counter.controller).__name__),
                    getattr(getattr(counter, "mode", None), "name", "-"),
                ]
            )
        if not rows:
            self._print("No counter in this session.")
            return
        self._print(format_table(["name", "shape", "unit", "controller", "mode"], rows))

    def lsconfig(self) -> None:
        """Every object of the configuration, with its class and where it is written."""
        rows = []
        for name in self._config.names_list:
            try:
                node = self._config.get_config(name)
                kind = node.raw("class") or node.raw("plugin") or "(item of a controller)"
                rows.append([name, kind, f"{node.filename}:{node.line}"])
            except Exception as exc:  # a broken entry is listed with its error
                rows.append([name, "ERROR", str(exc)])
        self._print(f"Configuration {self._config.root_dir}\n")
        self._print(format_table(["name", "class", "defined in"], rows, align_left=3))
        file_errors = self._config.file_errors
        if file_errors:  # their objects are missing from the table above
            self._print(f"\n{len(file_errors)} file(s) failed to load:")
            for error in file_errors:
                self._print(f"  {error}")

    def lsmg(self) -> None:
        """Measurement groups: their enabled and disabled counters; * marks the active one."""
        groups = self._inventory.measurement_groups()
        if not groups:
            self._print("No measurement group in this session.")
            return
        active = self._active_mg()
        rows = []
        for group in groups:
            mark = "*" if group is active else " "
            rows.append(
                [
                    f"{mark} {group.name}",
                    ", ".join(c.name for c in group.enabled) or "-",
                    ", ".join(c.name for c in group.disabled) or "-",
                ]
            )
        self._print(format_table(["measurement group", "enabled", "disabled"], rows, align_left=3))
