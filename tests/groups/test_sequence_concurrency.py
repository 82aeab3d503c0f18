"""Scans of one sequence may run side by side; any other second scan is refused."""

import gevent
import pytest

from beamshell.scanning.context import ScanAlreadyRunning
from beamshell.scanning.scan import ScanState


def test_scans_of_one_sequence_run_side_by_side(run, session):
    env = run(
        """
seq = Sequence(title="side by side")
with seq.sequence_context() as scan_seq:
    s1 = loopscan(5, 0.02, diode, run=False, display=False)
    s2 = loopscan(5, 0.02, diode2, run=False, display=False)
    scan_seq.add(s1)
    scan_seq.add(s2)
    import gevent
    gevent.joinall([gevent.spawn(s1.run), gevent.spawn(s2.run)], raise_error=True)
"""
    )
    assert env["seq"].state is ScanState.DONE
    assert env["s1"].state is ScanState.DONE and env["s2"].state is ScanState.DONE


def test_a_scan_outside_the_sequence_is_refused_while_one_of_it_runs(run, session):
    env = run(
        """
import gevent.event
seq = Sequence()
running = gevent.event.Event()
inside = loopscan(50, 0.05, diode, run=False, display=False)
inside.add_state_callback(lambda scan, state: state.name == "RUNNING" and running.set())
"""
    )
    outside = env["loopscan"](3, 0, env["diode2"], run=False, display=False)
    with env["seq"].sequence_context() as scan_seq:
        scan_seq.add(env["inside"])
        runner = gevent.spawn(env["inside"].run)
        assert env["running"].wait(10)
        with pytest.raises(ScanAlreadyRunning, match=r"loopscan: scan \d+ 'loopscan 50 0.05'"):
            outside.run()
        with pytest.raises(KeyboardInterrupt):
            runner.kill(KeyboardInterrupt)
    assert outside.state is ScanState.IDLE
