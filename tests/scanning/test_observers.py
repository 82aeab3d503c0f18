"""Scan observers: states, data batches and end for in-process consumers, failures isolated."""

import numpy as np
import pytest

from beamshell.scanning import scans
from beamshell.scanning.display import ScanDisplay
from beamshell.scanning.publishing import ScanPublisher
from beamshell.scanning.scan import ScanObserver, ScanPreset, ScanState

from .helpers import RecordingStream


class Recorder(ScanObserver):
    """Records every call, and the points of every batch."""

    def __init__(self, log=None):
        self.log = log if log is not None else []
        self.points: dict[str, list] = {}
        self.first_indexes: dict[str, list] = {}

    def on_state(self, scan, state):
        self.log.append(state.name)

    def on_data(self, scan, batch):
        for name in batch:
            self.points.setdefault(name, []).extend(batch[name].tolist())
            self.first_indexes.setdefault(name, []).append(batch.first_index(name))

    def on_end(self, scan):
        self.log.append("end")


class LoggingPreset(ScanPreset):
    def __init__(self, log):
        self.log = log

    def stop(self, scan):
        self.log.append("preset stop")


class Failing(ScanObserver):
    def __init__(self, where):
        self.where = where
        self.calls = 0

    def _maybe_fail(self, method):
        self.calls += 1
        if method == self.where:
            raise RuntimeError(f"observer broke in {method}")

    def on_state(self, scan, state):
        self._maybe_fail("on_state" if state is ScanState.RUNNING else "")

    def on_data(self, scan, batch):
        self._maybe_fail("on_data")

    def on_end(self, scan):
        self._maybe_fail("on_end")


def test_an_observer_gets_states_every_point_once_in_order_and_the_end(quiet_env, devices):
    log = []
    recorder = Recorder(log)
    scan = scans.loopscan(50, 0.002, devices.diode, devices.mca, run=False)
    scan.add_observer(recorder)
    scan.add_observer(recorder)  # once is enough
    scan.add_preset(LoggingPreset(log))
    scan.run()
    assert log == ["PREPARING", "STARTING", "RUNNING", "STOPPING", "end", "preset stop", "DONE"]
    data = scan.get_data()
    for name in ("diode", "mca", "elapsed_time", "epoch"):
        assert np.array_equal(np.array(recorder.points[name]), data[name]), name
        indexes = recorder.first_indexes[name]
        assert indexes == sorted(set(indexes)) and indexes[0] == 0


def test_batches_gather_points_when_the_scan_never_waits(quiet_env, devices):
    recorder = Recorder()
    scan = scans.loopscan(20_000, 0, devices.diode, run=False)
    scan.add_observer(recorder)
    scan.run()
    assert len(recorder.points["diode"]) == 20_000
    assert len(recorder.first_indexes["diode"]) < 20_000 / 10  # batches, not points


@pytest.mark.parametrize("where", ["on_state", "on_data", "on_end"])
def test_a_failing_observer_is_reported_once_and_detached(env, devices, where):
    stream = RecordingStream()
    env.output = stream
    env.display = False
    log = []
    failing = Failing(where)
    after = Recorder()
    scan = scans.loopscan(5, 0.01, devices.diode, run=False)
    scan.add_observer(failing)
    scan.add_observer(after)
    scan.add_preset(LoggingPreset(log))
    scan.run()  # does not raise
    assert scan.state is ScanState.DONE and log == ["preset stop"]
    reports = [line for line in stream.text.splitlines() if "Failing" in line]
    assert reports == [
        f"!!! scan observer Failing failed in {where} and was detached: "
        f"RuntimeError: observer broke in {where}"
    ]
    calls_when_failed = failing.calls
    assert [obs for obs, _ in scan.observer_errors] == [failing]
    assert isinstance(scan.observer_errors[0][1], RuntimeError)
    # Detached: never called again; the observer after it was told everything.
    assert failing.calls == calls_when_failed
    assert after.log[-1] == "DONE" and len(after.points["diode"]) == 5


def test_a_failing_state_callback_does_not_abort_the_scan(quiet_env, devices):
    def callback(scan, state):
        raise ValueError("bad callback")

    scan = scans.loopscan(3, 0, devices.diode, run=False)
    scan.add_state_callback(callback)
    scan.run()
    assert scan.state is ScanState.DONE and len(scan.observer_errors) == 1


def test_an_essential_observer_fails_the_scan_after_every_stop(quiet_env, devices):
    log = []

    class Essential(ScanObserver):
        def on_data(self, scan, batch):
            raise RuntimeError("cannot keep up")

    scan = scans.loopscan(20, 0.01, devices.diode, run=False)
    scan.add_observer(Essential(), essential=True)
    scan.add_preset(LoggingPreset(log))
    with pytest.raises(RuntimeError, match="cannot keep up"):
        scan.run()
    assert scan.state is ScanState.ABORTED and log == ["preset stop"]
    assert scan.npoints_done < 20


def test_the_table_and_the_publisher_are_observers_too(env, devices, publishing_env):
    publishing_env.display = True
    publishing_env.output = RecordingStream()
    scan = scans.loopscan(2, 0, devices.diode, run=False, env=publishing_env)
    scan.run()
    kinds = {type(observer) for observer in scan._observers}
    assert {ScanDisplay, ScanPublisher} <= kinds
    assert "Took" in publishing_env.output.text


def test_running_mean_example_of_the_docs(quiet_env, devices, capsys):
    loopscan, diode = scans.loopscan, devices.diode2  # a session's names; diode2 reads 7
    # docs/architecture.md, "Scan observers", as written there:
    from beamshell.scanning.scan import ScanObserver

    class RunningMean(ScanObserver):
        def __init__(self, counter):
            self.counter, self.total, self.count = counter, 0.0, 0

        def on_data(self, scan, batch):
            if self.counter in batch:
                self.total += batch[self.counter].sum()
                self.count += len(batch[self.counter])
                print(f"mean of {self.count} points: {self.total / self.count:g}")

    s = loopscan(10, 0.1, diode, run=False)
    s.add_observer(RunningMean(diode))
    s.run()
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 10  # the scan waits 0.1 s per point: one batch per point
    assert lines[-1] == "mean of 10 points: 7"
