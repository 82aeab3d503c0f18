"""The standard scans: positions, point counts, counters, keywords, relative scans' return."""

import time

import gevent
import gevent.event
import numpy as np
import pytest

from beamshell.hardware.counters import CounterController, SamplingCounter
from beamshell.scanning import scans
from beamshell.scanning.context import ScanAlreadyRunning
from beamshell.scanning.scan import Scan, ScanState

from .helpers import PointsDone


def test_loopscan_points_and_elapsed_time(quiet_env, devices):
    scan = scans.loopscan(5, 0.02, devices.diode, devices.diode2)
    assert scan.state is ScanState.DONE
    data = scan.get_data()
    assert scan.npoints_done == 5
    assert len(data[devices.diode]) == 5
    assert np.all(data["diode2"] == 7)
    elapsed = data["elapsed_time"]
    assert elapsed[0] == 0 and np.all(np.diff(elapsed) > 0.015)
    info = scan.scan_info
    assert info["title"] == "loopscan 5 0.02"
    assert info["type"] == "loopscan" and info["npoints"] == 5 and info["count_time"] == 0.02
    assert info["counters"] == ["diode", "diode2"] and info["axes"] == []
    assert info["scan_nb"] == scan.scan_number


def test_loopscan_sleep_time_waits_between_points(quiet_env, devices):
    scan = scans.loopscan(3, 0, devices.diode, sleep_time=0.05)
    assert np.all(np.diff(scan.get_data()["elapsed_time"]) >= 0.045)


def test_timescan_with_npoints_and_until_interrupted(quiet_env, devices):
    scan = scans.timescan(0.01, devices.diode, npoints=3)
    assert scan.npoints_done == 3 and scan.npoints == 3

    endless = scans.timescan(0.01, devices.diode, run=False)
    assert endless.npoints == 0
    four_points = PointsDone(4)
    endless.acq_chain.add_preset(four_points)

    def run():
        try:
            endless.run()
        except KeyboardInterrupt as exc:
            return exc

    runner = gevent.spawn(run)
    assert four_points.reached.wait(timeout=30)
    runner.kill(KeyboardInterrupt, block=True)
    assert isinstance(runner.value, KeyboardInterrupt)
    assert endless.state is ScanState.ABORTED
    assert endless.npoints_done >= 4
    assert len(endless.get_data()["diode"]) >= endless.npoints_done


def test_ct_prints_values_and_returns_the_scan(env, devices, capsys):
    scan = scans.ct(0.05, devices.diode2, devices.diode3)
    assert isinstance(scan, Scan) and scan.npoints_done == 1
    out = capsys.readouterr().out
    assert "Took" not in out  # no table for ct, only the values
    assert "diode2 =            7 (         140/s)" in out
    assert "diode3[mV] =           10 (         200/s)" in out
    assert scan.get_data()[devices.diode2][0] == 7


def test_ct_shows_every_column_a_scan_would(env, devices, capsys):
    scan = scans.ct(0.05, devices.stats, devices.mca)
    data = scan.get_data()
    lines = capsys.readouterr().out.splitlines()
    rows = {line.split(" = ")[0].strip(): line.split(" = ")[1] for line in lines if " = " in line}
    assert list(rows) == ["stats", "stats_std", "stats_min", "stats_max", "mca"]
    for name in ("stats", "stats_std", "stats_min", "stats_max"):
        assert float(rows[name].split()[0]) == pytest.approx(data[name][0], rel=1e-5)
    total = float(data["mca"][0].sum())
    assert float(rows["mca"].split()[0]) == pytest.approx(total, rel=1e-5)
    assert rows["mca"].endswith("/s) sum of 8")


def test_ascan_positions(quiet_env, devices):
    m1 = devices.m1
    scan = scans.ascan(m1, 1, 2, 4, 0, devices.diode)
    assert scan.npoints_done == 5
    np.testing.assert_allclose(scan.get_data()[m1], [1, 1.25, 1.5, 1.75, 2])
    assert m1.position == pytest.approx(2)
    assert scan.scan_info["title"] == "ascan m1 1 2 4 0"
    assert scan.scan_info["axes"] == ["m1"] and scan.scan_info["npoints"] == 5


def test_a2scan_moves_both_axes_together(quiet_env, devices):
    m1, m2 = devices.m1, devices.m2
    scan = scans.a2scan(m1, 0, 1, m2, 10, 0, 2, 0, devices.diode)
    data = scan.get_data()
    np.testing.assert_allclose(data["m1"], [0, 0.5, 1])
    np.testing.assert_allclose(data["m2"], [10, 5, 0])


def test_dscan_and_d2scan_are_relative_and_return(quiet_env, devices):
    m1, m2 = devices.m1, devices.m2
    m1.move(3)
    scan = scans.dscan(m1, -1, 1, 2, 0, devices.diode)
    np.testing.assert_allclose(scan.get_data()[m1], [2, 3, 4])
    assert m1.position == pytest.approx(3)
    m2.move(-1)
    scan = scans.d2scan(m1, 0, 1, m2, 0, -1, 1, 0, devices.diode)
    np.testing.assert_allclose(scan.get_data()["m2"], [-1, -2])
    assert (m1.position, m2.position) == (pytest.approx(3), pytest.approx(-1))


def test_dscan_returns_after_an_interrupt(quiet_env, devices):
    m1 = devices.m1
    m1.move(5)
    scan = scans.dscan(m1, 0, 10, 10, 0.1, devices.diode, run=False)
    two_points = PointsDone(2)
    scan.acq_chain.add_preset(two_points)

    def run():
        try:
            scan.run()
        except KeyboardInterrupt as exc:
            return exc

    runner = gevent.spawn(run)
    assert two_points.reached.wait(timeout=30)
    runner.kill(KeyboardInterrupt, block=True)
    assert isinstance(runner.value, KeyboardInterrupt)
    assert scan.state is ScanState.ABORTED
    assert 2 <= scan.npoints_done < 11
    assert m1.position == pytest.approx(5)
    assert not m1.is_moving


def test_dscan_returns_after_a_failure(quiet_env, devices):
    m1 = devices.m1
    m1.move(1)
    diode = devices.diode
    scan = scans.dscan(m1, 0, 1, 4, 0, diode, run=False)

    class BreakAtThirdPoint:
        def __init__(self):
            self.calls = 0

        def __call__(self, counters, count_time):
            self.calls += 1
            if self.calls == 3:
                raise RuntimeError("diode broke")
            return [1.0]

    scan.acq_chain.devices[-1]._read_all = BreakAtThirdPoint()
    with pytest.raises(RuntimeError, match="diode broke"):
        scan.run()
    assert scan.npoints_done == 2
    assert m1.position == pytest.approx(1)


def test_amesh_and_dmesh_positions(quiet_env, devices):
    m1, m2 = devices.m1, devices.m2
    scan = scans.amesh(m1, 0, 1, 2, m2, 0, 1, 1, 0, devices.diode)
    data = scan.get_data()
    np.testing.assert_allclose(data["m1"], [0, 0.5, 1, 0, 0.5, 1])
    np.testing.assert_allclose(data["m2"], [0, 0, 0, 1, 1, 1])
    assert scan.scan_info["shape"] == [2, 3]

    m1.move(1)
    m2.move(2)
    scan = scans.dmesh(m1, 0, 1, 1, m2, 0, 2, 2, 0, devices.diode, backnforth=True)
    data = scan.get_data()
    np.testing.assert_allclose(data["m1"], [1, 2, 2, 1, 1, 2])
    np.testing.assert_allclose(data["m2"], [2, 2, 3, 3, 4, 4])
    assert (m1.position, m2.position) == (pytest.approx(1), pytest.approx(2))


def test_lookupscan_and_pointscan(quiet_env, devices):
    m1, m2 = devices.m1, devices.m2
    scan = scans.lookupscan([(m1, [0, 2, 1]), (m2, np.array([3, 4, 5]))], 0, devices.diode)
    data = scan.get_data()
    np.testing.assert_allclose(data["m1"], [0, 2, 1])
    np.testing.assert_allclose(data["m2"], [3, 4, 5])
    scan = scans.pointscan(m1, [4, -4], 0, devices.diode)
    np.testing.assert_allclose(scan.get_data()[m1], [4, -4])
    assert scan.npoints_done == 2


def test_moves_below_a_motor_resolution_are_warned_of_as_the_data_shows_them(quiet_env, devices):
    m1, m2 = devices.m1, devices.m2  # 1000 steps per unit: a resolution of 0.001
    scan = scans.ascan(m1, 0, 0.0002, 10, 0, devices.diode)
    assert scan.scan_info["warnings"] == [
        "10 of 10 moves of m1 are below its resolution (0.001 mm): for those the motor stays put"
    ]
    np.testing.assert_array_equal(scan.get_data()[m1], np.zeros(11))

    # Which moves collapse depends on where the steps lie: on the offset, in dial.
    for offset, lost, verb in ((0.0, 1, "is"), (0.0005, 2, "are")):
        m1.offset = offset
        scan = scans.ascan(m1, 0, 0.0015, 3, 0, devices.diode)
        repeats = np.count_nonzero(np.diff(scan.get_data()[m1]) == 0)
        assert repeats == lost
        assert scan.scan_info["warnings"][0].startswith(f"{lost} of 3 moves of m1 {verb} below")

    # Repeats that were asked for are no surprise: a mesh's slow axis, a list of positions.
    m1.offset = 0
    scan = scans.amesh(m1, 0, 1, 2, m2, 0, 1, 1, 0, devices.diode)
    assert "warnings" not in scan.scan_info
    scan = scans.pointscan(m1, [1, 1, 2], 0, devices.diode)
    assert "warnings" not in scan.scan_info
    scan = scans.a2scan(m1, 0, 1, m2, 0, 0.002, 4, 0, devices.diode, run=False)
    assert scan.scan_info["warnings"] == [
        "2 of 4 moves of m2 are below its resolution (0.001): for those the motor stays put"
    ]


def test_no_counter_means_the_active_measurement_group(quiet_env, devices):
    group = devices.MG1
    scan = scans.loopscan(2, 0)
    assert scan.scan_info["counters"] == ["diode", "diode2"]
    group.disable("diode2")
    try:
        scan = scans.loopscan(2, 0)
        assert scan.scan_info["counters"] == ["diode"]
        scan = scans.loopscan(2, 0, group, devices.diode3)  # a group expands to its enabled
        assert scan.scan_info["counters"] == ["diode", "diode3"]
    finally:
        group.enable_all()


def test_run_false_and_keywords(quiet_env, devices):
    scan = scans.loopscan(
        2, 0, devices.diode, run=False, name="myscan", title="my title", scan_info={"x": 1}
    )
    assert scan.state is ScanState.IDLE and scan.scan_number is None and scan.npoints_done == 0
    assert scan.name == "myscan" and scan.title == "my title" and scan.scan_info["x"] == 1
    scan.run()
    assert scan.state is ScanState.DONE and scan.scan_number is not None
    assert scan.node_name == f"demo:tmp:scans:{scan.scan_number}_myscan"
    assert scan.node == scan.node_name  # no publishing: the name only


def test_stats_counter_channels(quiet_env, devices):
    stats = devices.stats
    scan = scans.loopscan(3, 0.05, stats)
    data = scan.get_data()
    mean, std, low, high = (data[n] for n in ("stats", "stats_std", "stats_min", "stats_max"))
    assert len(mean) == len(std) == len(low) == len(high) == 3
    assert np.all(low <= mean) and np.all(mean <= high) and np.all(std > 0)
    assert np.array_equal(data[stats], mean)


def test_one_dimensional_counter(quiet_env, devices):
    scan = scans.loopscan(3, 0, devices.mca, devices.diode)
    assert scan.get_data()[devices.mca].shape == (3, 8)


class RecordingController(CounterController):
    """A controller of its own (no read group): records when each of its reads ran."""

    def __init__(self, name):
        super().__init__(name)
        self.spans = []

    def read_samples(self, counters):
        return [1.0] * len(counters)

    def read_all(self, counters, count_time):
        start = time.monotonic()
        values = super().read_all(counters, count_time)
        self.spans.append((start, time.monotonic()))
        return values


def test_controllers_integrate_concurrently(quiet_env):
    controllers = [RecordingController(f"card{i}") for i in range(3)]
    counters = [SamplingCounter(f"ch{i}", controller) for i, controller in enumerate(controllers)]
    scans.loopscan(2, 0.1, *counters)
    for point in range(2):
        spans = [controller.spans[point] for controller in controllers]
        latest_start = max(start for start, _ in spans)
        earliest_end = min(end for _, end in spans)
        assert latest_start < earliest_end  # all three were integrating at the same time


def test_simulated_counters_are_read_together_once_per_point(quiet_env, devices, monkeypatch):
    counters = [devices.diode, devices.diode2, devices.stats, devices.mca]
    calls = []
    for counter in counters:
        original = counter.controller.read_all

        def recorded(cnts, count_time, original=original):
            calls.append([c.name for c in cnts])
            return original(cnts, count_time)

        monkeypatch.setattr(counter.controller, "read_all", recorded)
    scan = scans.loopscan(3, 0.01, *counters)
    assert calls == [["diode", "diode2", "stats", "mca"]] * 3
    data = scan.get_data()
    assert np.all(data["diode2"] == 7) and data["mca"].shape == (3, 8)
    assert len(data["stats_std"]) == 3


def test_count_time_zero_reads_in_the_scan_greenlet(quiet_env, devices, monkeypatch):
    readers = set()
    for counter in (devices.diode, devices.diode2):
        original = counter.controller.read_all

        def recorded(cnts, count_time, original=original):
            readers.add(gevent.getcurrent())
            return original(cnts, count_time)

        monkeypatch.setattr(counter.controller, "read_all", recorded)
    scans.loopscan(20, 0, devices.diode, devices.diode2)
    assert readers == {gevent.getcurrent()}


ARGUMENT_ERRORS = [
    (lambda d: scans.loopscan(0, 0.1, d.diode), ValueError, "loopscan: npoints"),
    (lambda d: scans.loopscan(-2, 0.1, d.diode), ValueError, "loopscan: npoints"),
    (lambda d: scans.loopscan(2.5, 0.1, d.diode), ValueError, "loopscan: npoints"),
    (lambda d: scans.loopscan(2, -0.1, d.diode), ValueError, "loopscan: count_time"),
    (lambda d: scans.loopscan(2, "1", d.diode), ValueError, "loopscan: count_time"),
    (lambda d: scans.loopscan(2, 0.1, d.diode, sleep_time=-1), ValueError, "sleep_time"),
    (lambda d: scans.loopscan(2, 0.1, d.m1), TypeError, r"counter argument 1 \(m1\) is not"),
    (lambda d: scans.loopscan(2, 0.1, d.diode, "x"), TypeError, "counter argument 2"),
    (lambda d: scans.timescan(0.1, d.diode, npoints=-1), ValueError, "timescan: npoints"),
    (lambda d: scans.ct(-1, d.diode), ValueError, "ct: count_time"),
    (lambda d: scans.ascan(d.m1, 0, 1, 0, 0.1, d.diode), ValueError, "ascan: intervals"),
    (lambda d: scans.ascan(d.m1, 0, 1, -3, 0.1, d.diode), ValueError, "ascan: intervals"),
    (lambda d: scans.ascan(d.diode, 0, 1, 3, 0.1), TypeError, "ascan: motor must be an axis"),
    (lambda d: scans.ascan(d.m1, 0, 200, 3, 0.1, d.diode), ValueError, "ascan: .*m1.*200"),
    (lambda d: scans.ascan(d.m1, "a", 2, 3, 0.1, d.diode), ValueError, "ascan: start"),
    (lambda d: scans.dscan(d.m1, -500, 1, 3, 0.1, d.diode), ValueError, "dscan: .*m1"),
    (lambda d: scans.a2scan(d.m1, 0, 1, d.m2, 0, 60, 3, 0, d.diode), ValueError, "a2scan: .*m2"),
    (lambda d: scans.a2scan(d.m1, 0, 1, d.m1, 0, 1, 3, 0, d.diode), ValueError, "given twice"),
    (lambda d: scans.amesh(d.m1, 0, 1, 0, d.m2, 0, 1, 2, 0), ValueError, "amesh: intervals1"),
    (lambda d: scans.dmesh(d.m1, 0, 1, 2, d.m2, 0, 1, 0, 0), ValueError, "dmesh: intervals2"),
    (lambda d: scans.lookupscan([(d.m1, [0, 1]), (d.m2, [0])], 0), ValueError, "as many"),
    (lambda d: scans.lookupscan([(d.m1, [0, 101])], 0), ValueError, "lookupscan: .*m1"),
    (lambda d: scans.lookupscan([], 0), ValueError, "lookupscan: motor_positions"),
    (lambda d: scans.pointscan(d.m1, [], 0), ValueError, "pointscan: positions"),
    (lambda d: scans.pointscan(d.m1, [0, float("nan")], 0), ValueError, "pointscan: positions"),
    (lambda d: scans.loopscan(2, 0, d.diode, scan_info=[1]), TypeError, "scan_info"),
    (lambda d: scans.loopscan(2, 0, d.diode, name="a:b"), ValueError, "name"),
]


@pytest.mark.parametrize(("call", "error", "message"), ARGUMENT_ERRORS)
def test_argument_errors_before_anything_moves(quiet_env, devices, call, error, message):
    m1, m2 = devices.m1, devices.m2
    before = (m1.position, m2.position)
    numbers_before = quiet_env.next_scan_number()
    with pytest.raises(error, match=message) as caught:
        call(devices)
    assert "\n" not in str(caught.value)
    assert (m1.position, m2.position) == before and not m1.is_moving and not m2.is_moving
    assert len(quiet_env.scans) == 0  # no scan was started
    assert quiet_env.next_scan_number() == numbers_before + 1  # no number was taken


def test_no_counter_and_no_active_group(quiet_env):
    quiet_env._active_mg = lambda: None
    with pytest.raises(ValueError, match="loopscan: no counter given and no active measurement"):
        scans.loopscan(2, 0.1)


def test_a_second_scan_at_once_is_refused_naming_the_running_one(quiet_env, devices):
    first = scans.loopscan(50, 0.05, devices.diode, run=False)
    running = gevent.event.Event()
    first.add_state_callback(lambda _scan, state: state is ScanState.RUNNING and running.set())
    runner = gevent.spawn(first.run)
    assert running.wait(10)
    second = scans.loopscan(3, 0, devices.diode, run=False)
    with pytest.raises(ScanAlreadyRunning) as refused:
        second.run()
    message = str(refused.value)
    assert message.startswith(f"loopscan: scan {first.scan_number} 'loopscan 50 0.05' is running")
    assert "RUNNING" in message and "/50 points" in message
    assert second.state is ScanState.IDLE and second.scan_number is None  # nothing taken
    with pytest.raises(ScanAlreadyRunning):
        scans.ct(0.01, devices.diode)
    with pytest.raises(KeyboardInterrupt):  # gevent hands it on to the main greenlet
        runner.kill(KeyboardInterrupt)
    assert first.state is ScanState.ABORTED
    second.run()  # once the first has ended, the refused scan can run
    assert second.state is ScanState.DONE
