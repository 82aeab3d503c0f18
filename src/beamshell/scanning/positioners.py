"""Snapshots of every axis of the session (user and dial positions), recorded in scan_info."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from beamshell.hardware.protocols import ScanAxis

log = logging.getLogger(__name__)


def read_positions(
    axes: Iterable[ScanAxis],
) -> tuple[dict[str, float | None], dict[str, float | None], dict[str, str | None]]:
    """(user positions, dial positions, units) by axis name; an axis that fails reads None.

    Reading never moves anything; a failing axis must not stop the scan it describes.
    """
    positions: dict[str, float | None] = {}
    dials: dict[str, float | None] = {}
    units: dict[str, str | None] = {}
    for axis in axes:
        name = axis.name
        try:
            positions[name] = float(axis.position)
            dials[name] = float(axis.dial)
        except Exception as exc:  # noqa: BLE001  (recorded as unknown, reported in the log)
            log.warning("axis %s: position not recorded in the scan (%s)", name, exc)
            positions.setdefault(name, None)
            dials[name] = None
        units[name] = axis.unit
    return positions, dials, units


def record(scan_info: dict[str, Any], axes: Iterable[ScanAxis], when: str) -> dict[str, Any]:
    """Store `positioners_<when>` and `positioners_dial_<when>` (when: start or end).

    Returns the updated `positioners` mapping of scan_info, to be published.
    """
    positions, dials, units = read_positions(axes)
    positioners = dict(scan_info.get("positioners") or {})
    positioners[f"positioners_{when}"] = positions
    positioners[f"positioners_dial_{when}"] = dials
    positioners.setdefault("positioners_units", {}).update(units)
    scan_info["positioners"] = positioners
    return positioners
