"""Which devices a session's namespace holds, by kind, in the order they were loaded."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from beamshell.hardware.axis import Axis
    from beamshell.hardware.counters import Counter
    from beamshell.hardware.measurement_group import MeasurementGroup

_T = TypeVar("_T")


class Inventory:
    """Looks at the namespace each time, so objects created later in the session count too."""

    def __init__(self, env_dict: dict[str, Any]):
        self._env = env_dict

    def _of_kind(self, kind: type[_T]) -> list[_T]:
        seen: set[int] = set()
        found: list[_T] = []
        for value in list(self._env.values()):
            if isinstance(value, kind) and id(value) not in seen:
                seen.add(id(value))
                found.append(value)
        return found

    def axes(self) -> list[Axis]:
        from beamshell.hardware.axis import Axis

        return self._of_kind(Axis)

    def counters(self) -> list[Counter]:
        from beamshell.hardware.counters import Counter

        return self._of_kind(Counter)

    def measurement_groups(self) -> list[MeasurementGroup]:
        from beamshell.hardware.measurement_group import MeasurementGroup

        return self._of_kind(MeasurementGroup)
