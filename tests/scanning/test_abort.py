"""Abort semantics: a failure or an interrupt in every phase stops everything, in order."""

import os
import signal

import gevent
import gevent.event
import pytest

from beamshell.scanning.chain import (
    AcquisitionChain,
    AcquisitionSlave,
    ChainIterationPreset,
    ChainPreset,
)
from beamshell.scanning.counter_reading import CounterReader
from beamshell.scanning.masters import SoftwareTimerMaster
from beamshell.scanning.scan import Scan, ScanPreset, ScanState
from beamshell.scanning.scans import loopscan

from .helpers import PointsDone

NPOINTS = 4
STOP_BLOCK_S = 0.2  # a blocking stop still ends: the stop sequence must wait for it


class Boom(Exception):
    pass


class Harness:
    """Records every hook call; makes one hook fail or block (to be interrupted there)."""

    def __init__(self, target: str | None = None, action: str | None = None):
        self.log: list[str] = []
        self.target = target
        self.action = action
        self.reached = gevent.event.Event()

    def hook(self, name: str) -> None:
        self.log.append(name)
        if name != self.target:
            return
        if self.action == "fail":
            raise Boom(f"{name} failed")
        self.reached.set()
        if name.endswith(".stop"):
            gevent.sleep(STOP_BLOCK_S)
            self.log.append(name + " done")
        else:
            gevent.sleep(30)  # interrupted here


class RecPreset(ScanPreset):
    def __init__(self, name, harness):
        self.name, self.h = name, harness

    def prepare(self, scan):
        self.h.hook(f"{self.name}.prepare")

    def start(self, scan):
        self.h.hook(f"{self.name}.start")

    def stop(self, scan):
        self.h.hook(f"{self.name}.stop")


class RecIteration(ChainIterationPreset):
    def __init__(self, name, harness):
        self.name, self.h = name, harness

    def prepare(self):
        self.h.hook(f"{self.name}.prepare")

    def start(self):
        self.h.hook(f"{self.name}.start")

    def stop(self):
        self.h.hook(f"{self.name}.stop")


class RecChainPreset(ChainPreset):
    def __init__(self, name, harness):
        self.name, self.h = name, harness

    def prepare(self, acq_chain):
        self.h.hook(f"{self.name}.prepare")

    def start(self, acq_chain):
        self.h.hook(f"{self.name}.start")

    def stop(self, acq_chain):
        self.h.hook(f"{self.name}.stop")

    def get_iterator(self, acq_chain):
        index = 0
        while True:
            yield RecIteration(f"{self.name}it{index}", self.h)
            index += 1


class RecSlave(AcquisitionSlave):
    def __init__(self, name, harness):
        super().__init__(name)
        self.h = harness
        self.index = 0

    def prepare(self):
        self.h.hook(f"{self.name}.prepare")

    def start(self):
        self.h.hook(f"{self.name}.start")

    def stop(self):
        self.h.hook(f"{self.name}.stop")

    def acquire(self, count_time):
        self.h.hook(f"{self.name}.point{self.index}")
        self.index += 1


def build_scan(env, devices, harness) -> Scan:
    chain = AcquisitionChain()
    timer = SoftwareTimerMaster(0.01, npoints=NPOINTS)
    chain.add(timer)
    chain.add(timer, CounterReader(devices.diode.controller, [devices.diode]))
    chain.add(timer, RecSlave("R1", harness))
    chain.add(timer, RecSlave("R2", harness))
    chain.add_preset(RecChainPreset("C", harness))
    chain.add_preset(RecChainPreset("D", harness))
    scan = Scan(chain, name="abort_test", env=env)
    scan.add_preset(RecPreset("A", harness))
    scan.add_preset(RecPreset("B", harness))
    return scan


def check_stop_semantics(scan: Scan, log: list[str]) -> None:
    """Every prepared hook stopped once, in reverse order; devices stopped; scan presets last."""
    names = [entry for entry in log if not entry.endswith(" done")]
    for group in (["A", "B"], ["C", "D"]):
        prepared = [g for g in group if f"{g}.prepare" in names]
        stops = [name.split(".")[0] for name in names if name in {f"{g}.stop" for g in group}]
        assert stops == prepared[::-1], log
    iterations = {n.split(".")[0] for n in names if "it" in n.split(".")[0]}
    for iteration in iterations:
        if f"{iteration}.prepare" in names:
            # Once; twice when an interrupt cut the first call short (the stop phase
            # calls it again so that it completes).
            assert names.count(f"{iteration}.stop") in (1, 2), (iteration, log)
    assert names.count("R1.stop") == 1 and names.count("R2.stop") == 1, log
    last_device_stop = max(names.index("R1.stop"), names.index("R2.stop"))
    chain_stops = [i for i, n in enumerate(names) if n in ("C.stop", "D.stop")]
    scan_stops = [i for i, n in enumerate(names) if n in ("A.stop", "B.stop")]
    assert all(i > last_device_stop for i in chain_stops + scan_stops), log
    assert all(s > c for s in scan_stops for c in chain_stops), log
    # The points taken are kept (a point cut short may have some of its values too).
    data = scan.get_data()
    for name in ("diode", "elapsed_time"):
        assert scan.npoints_done <= len(data[name]) <= scan.npoints_done + 1


def run_catching(scan: Scan) -> BaseException | None:
    """scan.run() in a spawned greenlet: return what it raised (gevent would re-raise an
    escaping KeyboardInterrupt in the main greenlet)."""
    try:
        scan.run()
    except BaseException as exc:  # noqa: BLE001
        return exc
    return None


PHASES = [
    "B.prepare",
    "B.start",
    "B.stop",
    "D.prepare",
    "D.start",
    "D.stop",
    "Dit1.prepare",
    "Dit1.start",
    "Dit1.stop",
    "R2.prepare",
    "R2.start",
    "R2.stop",
    "R1.point2",
]


@pytest.mark.parametrize("target", PHASES)
def test_failure_in_every_phase(quiet_env, devices, target):
    harness = Harness(target, "fail")
    scan = build_scan(quiet_env, devices, harness)
    with pytest.raises(Boom, match=f"{target} failed"):
        scan.run()
    assert scan.state is ScanState.ABORTED
    check_stop_semantics(scan, harness.log)
    if target == "R1.point2":
        assert scan.npoints_done == 2
    if target in ("B.stop", "D.stop", "R2.stop"):
        assert scan.npoints_done == NPOINTS  # the acquisition itself was complete
    if target == "Dit1.stop":
        assert scan.npoints_done == 2  # iteration 1 ends before iteration 2 begins


@pytest.mark.parametrize("target", PHASES)
def test_interrupt_in_every_phase(quiet_env, devices, target):
    harness = Harness(target, "block")
    scan = build_scan(quiet_env, devices, harness)
    runner = gevent.spawn(run_catching, scan)
    assert harness.reached.wait(timeout=10)
    runner.kill(KeyboardInterrupt, block=False)
    runner.join(timeout=10)
    assert runner.dead
    assert isinstance(runner.value, KeyboardInterrupt)
    assert scan.state is ScanState.ABORTED
    check_stop_semantics(scan, harness.log)
    if target.endswith(".stop"):
        assert target + " done" in harness.log  # the interrupted stop was let finish


def test_counter_failure_at_a_point_keeps_previous_points(quiet_env, devices):
    diode = devices.diode
    harness = Harness()
    scan = build_scan(quiet_env, devices, harness)

    class FaultAtPoint(ChainPreset):
        def get_iterator(self, acq_chain):
            for index in range(NPOINTS):
                if index == 2:
                    diode.simulate_fault("detector unplugged")
                yield ChainIterationPreset()

    scan.acq_chain.add_preset(FaultAtPoint())
    try:
        with pytest.raises(Exception, match="detector unplugged"):
            scan.run()
    finally:
        diode.clear_fault()
    assert scan.state is ScanState.ABORTED
    assert scan.npoints_done == 2
    assert len(scan.get_data()[diode]) == 2
    check_stop_semantics(scan, harness.log)


def test_every_stop_is_called_even_if_several_raise(quiet_env, devices):
    harness = Harness()
    scan = build_scan(quiet_env, devices, harness)

    class FailingStop(ScanPreset):
        def __init__(self, label):
            self.label = label

        def stop(self, scan):
            harness.log.append(f"{self.label}.stop")
            raise Boom(f"{self.label} stop failed")

    scan.add_preset(FailingStop("X"))
    scan.add_preset(FailingStop("Y"))
    with pytest.raises(Boom, match="Y stop failed") as caught:
        scan.run()
    # Reverse order: Y, X, then B and A, although Y and X raised.
    stops = [entry for entry in harness.log if entry.endswith(".stop") and entry[0] in "XYAB"]
    assert stops == ["Y.stop", "X.stop", "B.stop", "A.stop"]
    assert any("X stop failed" in note for note in caught.value.__notes__)
    assert scan.state is ScanState.ABORTED


def test_kill_gives_killed(quiet_env, devices):
    harness = Harness("R1.point1", "block")
    scan = build_scan(quiet_env, devices, harness)
    runner = gevent.spawn(scan.run)
    assert harness.reached.wait(timeout=10)
    runner.kill(block=True, timeout=10)
    assert runner.dead
    assert scan.state is ScanState.KILLED
    check_stop_semantics(scan, harness.log)


def test_second_interrupt_while_stopping_is_deferred(quiet_env, devices):
    harness = Harness("R1.point1", "block")
    scan = build_scan(quiet_env, devices, harness)
    stopping = gevent.event.Event()

    class SlowStop(ScanPreset):
        def stop(self, scan):
            harness.log.append("slow.stop")
            stopping.set()
            gevent.sleep(0.3)
            harness.log.append("slow.stop done")

    scan.add_preset(SlowStop())
    runner = gevent.spawn(run_catching, scan)
    assert harness.reached.wait(timeout=10)
    first = KeyboardInterrupt("first")
    runner.kill(first, block=False)
    assert stopping.wait(timeout=10)
    runner.kill(KeyboardInterrupt("second"), block=False)
    runner.join(timeout=10)
    assert runner.dead
    assert runner.value is first
    assert "slow.stop done" in harness.log
    assert harness.log.index("A.stop") > harness.log.index("slow.stop done")
    assert scan.state is ScanState.ABORTED
    check_stop_semantics(scan, harness.log)


def test_ctrl_c_reaches_the_greenlet_that_runs_the_scan(quiet_env, devices):
    """A real SIGINT while the scan runs in the main greenlet: the scan aborts cleanly."""
    harness = Harness()
    scan = loopscan(50, 0.05, devices.diode, run=False)
    scan.add_preset(RecPreset("A", harness))
    two_points = PointsDone(2)
    scan.acq_chain.add_preset(two_points)

    def press_ctrl_c():
        two_points.reached.wait()
        os.kill(os.getpid(), signal.SIGINT)

    presser = gevent.spawn(press_ctrl_c)
    with pytest.raises(KeyboardInterrupt):
        scan.run()
    presser.join()
    assert scan.state is ScanState.ABORTED
    assert harness.log == ["A.prepare", "A.start", "A.stop"]
    assert 2 <= scan.npoints_done < 50
    assert len(scan.get_data()[devices.diode]) == scan.npoints_done


def test_a_scan_runs_once(quiet_env, devices):
    scan = loopscan(1, 0, devices.diode)
    with pytest.raises(RuntimeError, match="already run"):
        scan.run()


def test_a_stop_that_never_returns_is_abandoned_after_repeated_interrupts(quiet_env, devices):
    harness = Harness("R1.point1", "block")
    scan = build_scan(quiet_env, devices, harness)
    stuck = gevent.event.Event()

    class StuckStop(ScanPreset):
        def stop(self, scan):
            stuck.set()
            while True:
                gevent.sleep(0.01)  # e.g. waiting for a shutter that never closes

    scan.add_preset(StuckStop())
    runner = gevent.spawn(run_catching, scan)
    assert harness.reached.wait(timeout=10)
    first = KeyboardInterrupt("first")
    runner.kill(first, block=False)
    assert stuck.wait(timeout=10)
    for _ in range(3):  # the operator insists: Ctrl-C, Ctrl-C, Ctrl-C
        gevent.sleep(0.05)
        runner.kill(KeyboardInterrupt, block=False)
    runner.join(timeout=10)
    assert runner.dead and runner.value is first
    assert any("abandoned after 3 interrupts" in note for note in first.__notes__)
    assert scan.state is ScanState.ABORTED
    check_stop_semantics(scan, harness.log)  # A and B were still stopped, after it
