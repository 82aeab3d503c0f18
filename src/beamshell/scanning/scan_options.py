"""The keywords every standard scan takes (name, title, save, run, ...), declared once."""

from __future__ import annotations

import dataclasses
import functools
import inspect
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from beamshell.scanning.context import ScanEnvironment, default_environment

if TYPE_CHECKING:
    from beamshell.scanning.scan import Scan


@dataclasses.dataclass(frozen=True)
class ScanOptions:
    """What a standard scan's common keywords asked for."""

    name: str | None = None  # the scan's name (default: the kind, e.g. "loopscan")
    title: str | None = None  # replaces the generated title
    save: bool = True  # False: published to Redis, never written to a file
    run: bool = True  # False: return the Scan unstarted (add presets, then s.run())
    scan_info: dict[str, Any] | None = None  # merged into the scan's scan_info
    display: bool | None = None  # the live table (None: the session's setting)
    env: ScanEnvironment | None = None  # None: the session's environment

    def environment(self) -> ScanEnvironment:
        return self.env if self.env is not None else default_environment()


_FIELDS = tuple(field.name for field in dataclasses.fields(ScanOptions))
COMMON_KEYWORDS_DOC = (
    "\n\nCommon keywords: name, title, save, run (False: return the scan unstarted), "
    "scan_info, display, env."
)


def scan_command(**defaults: Any) -> Callable[[Callable[..., Scan]], Callable[..., Scan]]:
    """Make `function(..., options: ScanOptions)` a standard scan.

    The command takes the common keywords (with these `defaults`), hands them over as one
    ScanOptions, and shows them in its signature, so that `loopscan?` lists every keyword
    while the code declares them once. An unknown keyword is a TypeError naming it.
    """
    unknown = set(defaults) - set(_FIELDS)
    if unknown:
        raise TypeError(f"scan_command: no common keyword {', '.join(sorted(unknown))}")
    base = ScanOptions(**defaults)

    def decorate(function: Callable[..., Scan]) -> Callable[..., Scan]:
        own = inspect.signature(function)
        parameters = [p for name, p in own.parameters.items() if name != "options"]
        parameters += [
            inspect.Parameter(
                field.name,
                inspect.Parameter.KEYWORD_ONLY,
                default=getattr(base, field.name),
                annotation=field.type,
            )
            for field in dataclasses.fields(ScanOptions)
        ]

        @functools.wraps(function)
        def command(*args: Any, **kwargs: Any) -> Scan:
            common = {key: kwargs.pop(key) for key in _FIELDS if key in kwargs}
            options = dataclasses.replace(base, **common) if common else base
            return function(*args, options=options, **kwargs)

        command.__signature__ = own.replace(parameters=parameters)  # type: ignore[attr-defined]
        command.__doc__ = (function.__doc__ or "").rstrip() + COMMON_KEYWORDS_DOC
        return command

    return decorate
