"""plotselect: the counters that the peak tools and the plots use, kept per session in Redis."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from beamshell.config.settings import SettingsStore
    from beamshell.scanning.context import ScansHistory
    from beamshell.sessions.inventory import Inventory


class PlotSelection:
    """The session's selected counter names (a setting: it survives a restart)."""

    def __init__(
        self,
        session_name: str,
        settings: SettingsStore,
        inventory: Inventory,
        scans: ScansHistory,
        out: TextIO | None = None,
    ):
        self._setting = settings.value(f"plotselect:{session_name}", [])
        self._session_name = session_name
        self._inventory = inventory
        self._scans = scans
        self._out = out

    def names(self) -> list[str]:
        """The selected counter names, in the order given."""
        value = self._setting.get()
        return [str(name) for name in value] if isinstance(value, list) else []

    def plotselect(self, *counters: Any) -> None:
        """plotselect(diode, gauss): the counters for cen, goto_cen, where and plot (their
        default; each also takes counter=...). plotselect() shows the selection."""
        if counters:
            names: list[str] = []
            for position, counter in enumerate(counters, start=1):
                for name in self._names_of(counter, position):
                    if name not in names:
                        names.append(name)
            self._setting.set(names)
        print(self.describe(), file=self._out or sys.stdout)

    def describe(self) -> str:
        names = self.names()
        if not names:
            return "plotselect: none (each scan's first counter is used)"
        return "plotselect: " + ", ".join(names)

    def _names_of(self, counter: Any, position: int) -> list[str]:
        from beamshell.hardware.counters import Counter
        from beamshell.hardware.measurement_group import MeasurementGroup

        if isinstance(counter, MeasurementGroup):
            return [member.name for member in counter.enabled]
        if isinstance(counter, Counter):
            return [counter.name]
        if isinstance(counter, str):
            if counter in self._known_names():
                return [counter]
            raise ValueError(
                f"plotselect: no counter named {counter!r} in session {self._session_name} "
                f"(counters: {', '.join(sorted(self._known_names())) or 'none'})"
            )
        raise TypeError(
            f"plotselect: argument {position} ({getattr(counter, 'name', None) or repr(counter)}) "
            "is not a counter, a measurement group or a counter name"
        )

    def _known_names(self) -> set[str]:
        """Counters of the session, and the data columns of its recent scans (a STATS
        counter's `_std`, a custom channel)."""
        names = {counter.name for counter in self._inventory.counters()}
        for scan in self._scans:
            names.update(channel.name for channel in scan.channels if not channel.shape)
        return names
