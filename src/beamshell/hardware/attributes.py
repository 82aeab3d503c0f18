"""Devices refuse new public attributes: `m1.postion = 3` is an error naming `position`."""

from __future__ import annotations

import difflib
import functools
from typing import Any

from beamshell.errors import BeamshellError


class DeviceAttributeError(BeamshellError, AttributeError):
    """Assignment to an attribute a device does not have (a typo, most of the time)."""


def _defined_on_class(cls: type, name: str) -> bool:
    return any(name in klass.__dict__ for klass in cls.__mro__)


class StrictAttributes:
    """Mixin for devices: once built, assigning an attribute the object does not have raises
    DeviceAttributeError with the nearest existing name, instead of silently creating it.

    Anything may be set while `__init__` runs (of the class or of a subclass); names with a
    leading underscore are the implementation's own and always allowed.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        init = cls.__dict__.get("__init__")
        if init is None:
            return

        @functools.wraps(init)
        def building(self: StrictAttributes, *args: Any, **kw: Any) -> None:
            depth = self.__dict__.get("_init_depth", 0)
            object.__setattr__(self, "_init_depth", depth + 1)
            try:
                init(self, *args, **kw)
            finally:
                object.__setattr__(self, "_init_depth", depth)

        # setattr: mypy refuses an assignment to a method, and replacing it is the point here.
        setattr(cls, "__init__", building)  # noqa: B010

    def __setattr__(self, name: str, value: Any) -> None:
        if (
            name.startswith("_")
            or self.__dict__.get("_init_depth", 0)
            or name in self.__dict__
            or _defined_on_class(type(self), name)
        ):
            super().__setattr__(name, value)
            return
        raise DeviceAttributeError(_unknown_attribute_message(self, name))


def public_attributes(obj: Any) -> list[str]:
    """The public names of an object, from its class and its instance dictionary."""
    names = {n for n in dir(type(obj)) if not n.startswith("_")}
    names.update(n for n in vars(obj) if not n.startswith("_"))
    return sorted(names)


def _unknown_attribute_message(obj: Any, name: str) -> str:
    label = getattr(obj, "name", None)
    who = f"'{label}'" if isinstance(label, str) else type(obj).__name__
    near = difflib.get_close_matches(name, public_attributes(obj), n=1, cutoff=0.6)
    hint = f"; did you mean '{near[0]}'?" if near else ""
    return f"{who} has no attribute '{name}'{hint} (nothing was changed)"
