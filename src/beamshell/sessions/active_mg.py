"""Which measurement group a session's scans use when no counter is given; kept in Redis."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from beamshell.config.settings import SettingsStore
    from beamshell.hardware.measurement_group import MeasurementGroup
    from beamshell.sessions.inventory import Inventory


class ActiveMeasurementGroup:
    """The session's active measurement group: the one set last, else the first one loaded."""

    def __init__(self, session_name: str, settings: SettingsStore, inventory: Inventory):
        self.setting_name = f"active_mg:{session_name}"
        self._setting = settings.value(self.setting_name)
        self._inventory = inventory

    def get(self) -> MeasurementGroup | None:
        groups = self._inventory.measurement_groups()
        wanted = self._setting.get()
        for group in groups:
            if getattr(group, "config_name", group.name) == wanted or group.name == wanted:
                return group
        return groups[0] if groups else None

    def set(self, group: object) -> None:  # the operator's argument: checked below
        from beamshell.hardware.measurement_group import MeasurementGroup

        if not isinstance(group, MeasurementGroup):
            raise TypeError(f"set_active_mg: {group!r} is not a measurement group")
        self._setting.set(getattr(group, "config_name", group.name))
