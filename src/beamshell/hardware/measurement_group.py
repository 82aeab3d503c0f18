"""Measurement groups: a named set of counters, some enabled, the choice persisted in Redis."""

from __future__ import annotations

import fnmatch
from typing import TYPE_CHECKING, Any

from beamshell.errors import BeamshellError
from beamshell.hardware.attributes import StrictAttributes
from beamshell.hardware.counters import Counter

if TYPE_CHECKING:
    from beamshell.config.settings import HashSetting
    from beamshell.config.static import Config, ConfigNode


class MeasurementGroupError(BeamshellError, ValueError):
    """An enable/disable request naming no counter of the group."""


class MeasurementGroup(StrictAttributes):
    """Counters read by scans when none is given; `enable`/`disable` by name, pattern or object.

    The choice is read through the settings cache each time, so a change made in another
    process of the session counts at once.
    """

    def __init__(self, name: str, counters: list[Counter], settings: HashSetting):
        self.name = name
        self.config_name = name
        self._counters = tuple(counters)
        self._settings = settings

    @property
    def _disabled(self) -> set[str]:
        # Disabled ones are stored (not enabled ones) so counters added to the file later
        # start enabled; names no longer configured are ignored.
        return set(self._settings.get("disabled") or ())

    @classmethod
    def from_config(cls, node: ConfigNode, config: Config) -> MeasurementGroup:
        node.check_keys(["counters"])
        if "counters" not in node:
            raise node.error("missing required key 'counters' (e.g. counters: [$diode])")
        raw = node.raw("counters")
        if not isinstance(raw, list) or not raw:
            raise node.error(f"'counters' must be a non-empty list, got {raw!r}", "counters")
        counters: list[Counter] = []
        for written, item in zip(raw, node.get("counters"), strict=True):
            found = _counters_of(item)
            if found is None:
                raise node.error(f"'counters' item {written!r} is not a counter", "counters")
            counters.extend(counter for counter in found if counter not in counters)
        name = str(node.raw("name"))
        return cls(name, counters, config.settings.mapping(f"mg:{name}"))

    # -- contents ---------------------------------------------------------------------
    @property
    def counters(self) -> tuple[Counter, ...]:
        """Every counter of the group, enabled or not, in configuration order."""
        return self._counters

    @property
    def enabled(self) -> list[Counter]:
        disabled = self._disabled
        return [c for c in self._counters if c.config_name not in disabled]

    @property
    def disabled(self) -> list[Counter]:
        disabled = self._disabled
        return [c for c in self._counters if c.config_name in disabled]

    @property
    def available(self) -> list[str]:
        return [counter.name for counter in self._counters]

    def enable(self, *counters: str | Counter) -> None:
        """Enable counters given by name, shell pattern ('*diode*') or object."""
        self._save(self._disabled - {c.config_name for c in self._select(counters, "enable")})

    def disable(self, *counters: str | Counter) -> None:
        """Disable counters given by name, shell pattern or object."""
        self._save(self._disabled | {c.config_name for c in self._select(counters, "disable")})

    def enable_all(self) -> None:
        self._save(set())

    def disable_all(self) -> None:
        self._save({counter.config_name for counter in self._counters})

    def _select(self, wanted: tuple[str | Counter, ...], action: str) -> list[Counter]:
        if not wanted:
            raise MeasurementGroupError(f"{self.name}.{action}() needs at least one counter")
        selected: list[Counter] = []
        for item in wanted:
            matches = self._match(item)
            if not matches:
                label = item if isinstance(item, str) else getattr(item, "name", repr(item))
                raise MeasurementGroupError(
                    f"{self.name}: no counter {label!r} in this measurement group "
                    f"(counters: {', '.join(self.available)})"
                )
            selected.extend(matches)
        return selected

    def _match(self, item: str | Counter) -> list[Counter]:
        if isinstance(item, str):
            return [
                counter
                for counter in self._counters
                if fnmatch.fnmatchcase(counter.name, item)
                or fnmatch.fnmatchcase(counter.config_name, item)
                or fnmatch.fnmatchcase(counter.fullname, item)
            ]
        found = _counters_of(item) or []
        return [counter for counter in self._counters if counter in found]

    def _save(self, disabled: set[str]) -> None:
        self._settings["disabled"] = sorted(disabled)

    # -- display ------------------------------------------------------------------------
    def __info__(self) -> str:
        enabled = [c.name for c in self.enabled]
        disabled = [c.name for c in self.disabled]
        width = max([len("Enabled"), *map(len, enabled)])
        rows = [
            f"MeasurementGroup: {self.name} ({len(enabled)} of {len(self._counters)} enabled)",
            "",
            f"  {'Enabled':<{width}}  Disabled",
            f"  {'-' * width}  {'-' * max([len('Disabled'), *map(len, disabled)])}",
        ]
        for index in range(max(len(enabled), len(disabled))):
            left = enabled[index] if index < len(enabled) else ""
            right = disabled[index] if index < len(disabled) else ""
            rows.append(f"  {left:<{width}}  {right}".rstrip())
        return "\n".join(rows)

    def __repr__(self) -> str:
        return self.__info__()


def _counters_of(item: Any) -> list[Counter] | None:
    """A counter, or every counter of a controller-like object; None for anything else."""
    if isinstance(item, Counter):
        return [item]
    counters = getattr(item, "counters", None)
    if (
        isinstance(counters, tuple | list)
        and counters
        and all(isinstance(counter, Counter) for counter in counters)
    ):
        return list(counters)
    return None
