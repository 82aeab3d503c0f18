"""mv, umv, mvr, umvr and sync: the operator's motor commands, with their argument checks."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TextIO

import gevent

from beamshell.hardware.axis import Axis
from beamshell.hardware.motion import check_moves, move_axes
from beamshell.sessions.table import format_position

if TYPE_CHECKING:
    from beamshell.sessions.inventory import Inventory

_UMV_REFRESH_S = 0.1
_ROW_LABEL_WIDTH = 6  # "user", "dial"
_MIN_COLUMN_WIDTH = 12


def parse_motion_args(command: str, args: Sequence[Any]) -> dict[Axis, float]:
    """Pairs (axis, position) -> {axis: position}; bad arguments name themselves in the error."""
    if not args:
        raise TypeError(f"{command}: expected pairs of (axis, position), got nothing")
    if len(args) % 2:
        raise TypeError(f"{command}: expected pairs of (axis, position), got {len(args)} arguments")
    targets: dict[Axis, float] = {}
    for index in range(0, len(args), 2):
        axis, position = args[index], args[index + 1]
        if not isinstance(axis, Axis):
            raise TypeError(
                f"{command}: argument {index + 1} is {axis!r} ({type(axis).__name__}), not an axis"
            )
        if axis in targets:
            raise ValueError(f"{command}: axis {axis.name} is given twice")
        try:
            targets[axis] = float(position)
        except (TypeError, ValueError):
            raise TypeError(
                f"{command}: position for {axis.name} (argument {index + 2}) is {position!r}, "
                "not a number"
            ) from None
    return targets


def _relative(targets: dict[Axis, float]) -> dict[Axis, float]:
    return {axis: axis.position + delta for axis, delta in targets.items()}


def _report_stopped(axes: Sequence[Axis], out: TextIO) -> None:
    for axis in axes:
        print(f"{axis.name} stopped at {format_position(axis.position)}", file=out)


def _move(command: str, targets: dict[Axis, float], show: bool, out: TextIO) -> None:
    """Move all axes together; Ctrl-C stops them all and says where each stopped.

    With `show` (umv), every target is checked before anything is printed; then a header
    names the axes with their units, the `user` row is rewritten while they move, and the
    final `user` and `dial` rows stay, as in BLISS.
    """
    axes = list(targets)
    printer: gevent.Greenlet[[TextIO], None] | None = None
    if show:
        check_moves(targets)  # a refused move prints nothing but its error
        table = _PositionTable(axes)
        print(table.header(), file=out, flush=True)
        printer = gevent.spawn(table.follow, out)
    try:
        move_axes(targets, wait=True)  # an interrupt while waiting stops every axis
    except KeyboardInterrupt:
        if printer is not None:
            printer.kill()
            table.print_final(out)
        _report_stopped(axes, out)
        raise
    except Exception:
        if printer is not None:  # end the live line: the error goes on a line of its own
            printer.kill()
            print(file=out, flush=True)  # no new reading: the error may be Redis's own
        raise
    finally:
        if printer is not None:
            printer.kill()
    if show:
        table.print_final(out)


class _PositionTable:
    """umv's display: axis names with units over a `user` and a `dial` row."""

    def __init__(self, axes: Sequence[Axis]):
        self.axes = list(axes)
        self.labels = [f"{a.name}[{a.unit}]" if a.unit else a.name for a in self.axes]
        self.widths = [max(_MIN_COLUMN_WIDTH, len(label)) for label in self.labels]

    def header(self) -> str:
        cells = [f"{label:>{width}}" for label, width in zip(self.labels, self.widths, strict=True)]
        return " " * _ROW_LABEL_WIDTH + "  ".join(cells)

    def row(self, label: str, values: Sequence[float]) -> str:
        cells = [
            f"{format_position(value):>{width}}"
            for value, width in zip(values, self.widths, strict=True)
        ]
        return f"{label:<{_ROW_LABEL_WIDTH}}" + "  ".join(cells)

    def follow(self, out: TextIO) -> None:
        """Rewrite the user row with the current positions until killed."""
        while True:
            print(self.row("user", [a.position for a in self.axes]), end="\r", file=out, flush=True)
            gevent.sleep(_UMV_REFRESH_S)

    def print_final(self, out: TextIO) -> None:
        print(self.row("user", [a.position for a in self.axes]), file=out)
        print(self.row("dial", [a.dial for a in self.axes]), file=out, flush=True)


class MotionCommands:
    """The motor commands of one session (they print to its output)."""

    def __init__(self, inventory: Inventory, out: TextIO | None = None):
        self._inventory = inventory
        self._out = out

    @property
    def out(self) -> TextIO:
        return self._out or sys.stdout

    def mv(self, *args: Any) -> None:
        """mv(axis, position, [axis, position, ...]): move the axes together and wait."""
        _move("mv", parse_motion_args("mv", args), show=False, out=self.out)

    def umv(self, *args: Any) -> None:
        """umv(axis, position, ...): like mv, printing the positions while they change."""
        _move("umv", parse_motion_args("umv", args), show=True, out=self.out)

    def mvr(self, *args: Any) -> None:
        """mvr(axis, delta, ...): move the axes by the given amounts and wait."""
        _move("mvr", _relative(parse_motion_args("mvr", args)), show=False, out=self.out)

    def umvr(self, *args: Any) -> None:
        """umvr(axis, delta, ...): like mvr, printing the positions while they change."""
        _move("umvr", _relative(parse_motion_args("umvr", args)), show=True, out=self.out)

    def sync(self, *axes: Axis) -> None:
        """sync(*axes): re-read the positions from the controllers (all axes if none given)."""
        for index, axis in enumerate(axes):
            if not isinstance(axis, Axis):
                raise TypeError(f"sync: argument {index + 1} is {axis!r}, not an axis")
        for axis in axes or self._inventory.axes():
            axis.sync_hard()
