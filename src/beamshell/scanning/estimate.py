"""How long a scan will take, from its axes' speed and acceleration and its count time, and how
long is left while it runs (the toolbar)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from beamshell.scanning.masters import MotorStepMaster, SoftwareTimerMaster

if TYPE_CHECKING:
    from beamshell.hardware.protocols import ScanAxis
    from beamshell.scanning.chain import AcquisitionMaster
    from beamshell.scanning.scan import Scan

# What a point and a move cost beyond the motion profile and the count time (greenlet
# switches, timers, settings written at the end of a move, the table and publishing woken),
# measured on the simulated devices: benchmarks/bench_estimate.py.
POINT_OVERHEAD_S = 0.002
MOVE_OVERHEAD_S = 0.003


def format_time(seconds: float) -> str:
    """`0:00:03.2`: hours, minutes, seconds with tenths."""
    tenths = round(max(seconds, 0.0) * 10)
    whole = datetime.timedelta(seconds=tenths // 10)
    return f"{whole}.{tenths % 10}"


@dataclass(frozen=True)
class ScanEstimate:
    """`point_ends[i]`: seconds from the start to the end of point i; `after`: the moves that
    follow the last point (a relative scan's return to its start)."""

    point_ends: np.ndarray
    motion: float
    count: float
    after: float = 0.0

    @property
    def npoints(self) -> int:
        return len(self.point_ends)

    @property
    def total(self) -> float:
        return float(self.point_ends[-1]) + self.after if len(self.point_ends) else self.after

    def time_left(self, points_done: int, elapsed: float) -> float:
        """Seconds left after `points_done` points in `elapsed` seconds: the estimate of what
        remains, scaled by how the scan has kept to the estimate so far."""
        if points_done <= 0 or not len(self.point_ends):
            return max(self.total - elapsed, 0.0)
        done = float(self.point_ends[min(points_done, self.npoints) - 1])
        pace = elapsed / done if done > 0 else 1.0
        return max(self.total - done, 0.0) * pace

    def __str__(self) -> str:
        parts = [f"motion {format_time(self.motion)}"] if self.motion else []
        parts.append(f"count {format_time(self.count)}")
        return f"Total {self.npoints} points, {format_time(self.total)} ({', '.join(parts)})"

    def __repr__(self) -> str:
        return str(self)


def _master_estimate(
    master: AcquisitionMaster,
) -> tuple[np.ndarray, np.ndarray, list[tuple[ScanAxis, float]]] | None:
    """(motion per point, count per point, axes and last positions) of a known top master."""
    if isinstance(master, SoftwareTimerMaster):
        if master.npoints is None:
            return None
        count = np.full(master.npoints, master.count_time + master.sleep_time + POINT_OVERHEAD_S)
        count[:1] -= master.sleep_time  # no sleep before the first point
        return np.zeros(master.npoints), count, []
    if isinstance(master, MotorStepMaster):
        timers = [c for c in master.children if isinstance(c, SoftwareTimerMaster)]
        count_time = sum(t.count_time + t.sleep_time for t in timers) + POINT_OVERHEAD_S
        motion = np.zeros(master.npoints)
        for axis, positions in zip(master.axes, master.positions, strict=True):
            path = np.concatenate([[axis.position], positions])
            motion = np.maximum(motion, _durations(axis, np.diff(path)))
        motion[motion > 0] += MOVE_OVERHEAD_S
        ends = [(axis, float(positions[-1])) for axis, positions in
                zip(master.axes, master.positions, strict=True)]  # fmt: skip
        return motion, np.full(master.npoints, count_time), ends
    return None


def _durations(axis: ScanAxis, distances: np.ndarray) -> np.ndarray:
    from beamshell.hardware.trajectory import move_durations

    return move_durations(distances, axis.velocity, axis.acceleration)


def estimate_scan(scan: Scan) -> ScanEstimate | None:
    """The estimate of a scan made of the standard masters (one top master, a known number
    of points); None for other chains. Moves start from where the axes are now."""
    masters = scan.acq_chain.top_masters
    if len(masters) != 1 or not masters[0].npoints:
        return None
    parts = _master_estimate(masters[0])
    if parts is None:
        return None
    motion, count, ends = parts
    point_ends = np.cumsum(motion + count)
    after = 0.0
    last = dict(ends)
    for axis, origin in scan.return_positions.items():
        start = last.get(axis, axis.position)
        after = max(after, float(_durations(axis, np.array([origin - start]))[0]))
    if after:
        after += MOVE_OVERHEAD_S
    return ScanEstimate(point_ends, float(motion.sum()) + after, float(count.sum()), after)


def is_step_scan(scan: Scan) -> bool:
    """A scan that moves axes point by point (its estimate is printed under its title)."""
    return any(getattr(master, "moves", False) for master in scan.acq_chain.top_masters)
