"""Typed reads of device configuration keys, each failure a ConfigError at the key's line."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import overload

from beamshell.config.static import ConfigNode


@overload
def number(
    node: ConfigNode, key: str, default: float, *, positive: bool = ..., non_negative: bool = ...
) -> float: ...
@overload
def number(
    node: ConfigNode,
    key: str,
    default: None = None,
    *,
    positive: bool = ...,
    non_negative: bool = ...,
) -> float | None: ...
def number(
    node: ConfigNode,
    key: str,
    default: float | None = None,
    *,
    positive: bool = False,
    non_negative: bool = False,
) -> float | None:
    """`key` as a finite float (`default` when absent); refuses text, booleans and NaN."""
    raw = node.raw(key, None)
    if raw is None:
        return default
    # YAML booleans are ints in Python; `velocity: yes` is a typo, not the number 1.
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise node.error(f"'{key}' must be a number, got {raw!r}", key)
    value = float(raw)
    if not math.isfinite(value):
        raise node.error(f"'{key}' must be a finite number, got {raw!r}", key)
    if positive and value <= 0:
        raise node.error(f"'{key}' must be greater than 0, got {raw!r}", key)
    if non_negative and value < 0:
        raise node.error(f"'{key}' must be 0 or more, got {raw!r}", key)
    return value


def integer(node: ConfigNode, key: str, default: int, *, minimum: int, maximum: int) -> int:
    """`key` as an int within [minimum, maximum]."""
    raw = node.raw(key, None)
    if raw is None:
        return default
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise node.error(f"'{key}' must be an integer, got {raw!r}", key)
    if not minimum <= raw <= maximum:
        raise node.error(f"'{key}' must be between {minimum} and {maximum}, got {raw}", key)
    return raw


def text(node: ConfigNode, key: str, default: str | None = None) -> str | None:
    """`key` as a string (numbers are accepted and converted, e.g. `unit: 1`)."""
    raw = node.raw(key, None)
    if raw is None:
        return default
    if isinstance(raw, dict | list):
        raise node.error(f"'{key}' must be a text value, got {raw!r}", key)
    return str(raw)


def choice(node: ConfigNode, key: str, options: Iterable[str], default: str) -> str:
    """`key` as one of `options` (case-insensitive), returned in the options' spelling."""
    raw = node.raw(key, None)
    if raw is None:
        return default
    by_upper = {option.upper(): option for option in options}
    chosen = by_upper.get(str(raw).upper())
    if chosen is None:
        raise node.error(f"'{key}' must be one of {', '.join(by_upper.values())}, got {raw!r}", key)
    return chosen


def flag_or_message(node: ConfigNode, key: str) -> str | None:
    """A `fault:`-style key: absent/false -> None, true -> a generic message, text -> itself."""
    raw = node.raw(key, None)
    if raw is None or raw is False:
        return None
    if raw is True:
        return "simulated fault"
    if isinstance(raw, str) and raw:
        return raw
    raise node.error(f"'{key}' must be true, false or a message, got {raw!r}", key)


def required_name(node: ConfigNode, what: str) -> str:
    """The object's `name:`, which every device needs."""
    name = node.raw("name")
    if name is None or isinstance(name, dict | list) or str(name) == "":
        raise node.error(f"every {what} needs a 'name'")
    return str(name)
