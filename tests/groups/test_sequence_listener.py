"""A listener process sees each scan of a sequence as it is added, before the scan runs."""

import subprocess
import sys
from pathlib import Path

import gevent

SCRIPT = Path(__file__).with_name("follow_sequence.py")


def test_listener_process_follows_a_sequence_live(session, run):
    listener = subprocess.Popen(
        [sys.executable, str(SCRIPT), "test_session"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert listener.stdout.readline().strip() == "ready"
        env = run("seq = Sequence()\n")
        seq = env["seq"]
        with seq.sequence_context() as scan_seq:
            s1 = env["loopscan"](3, 0.1, env["diode"], run=False)
            scan_seq.add(s1)
            # The listener sees the scan as soon as it is added, before it runs: the
            # operator may move motors for as long as he likes in between.
            with gevent.Timeout(30):
                first_ref = listener.stdout.readline()
            assert first_ref.startswith("ref "), first_ref
            s1.run()
            s2 = env["loopscan"](2, 0.1, env["diode"], run=False)
            scan_seq.add_and_run(s2)
        out, err = listener.communicate(timeout=30)
    finally:
        listener.kill()
    lines = [first_ref, *out.splitlines()]
    refs = [line.split() for line in lines if line.startswith("ref ")]
    assert [name for _, _, name in refs] == [s1.node.db_name, s2.node.db_name], err
    assert float(refs[0][1]) < s1.start_time  # seen in real time, before the scan started
    assert "end DONE" in lines
    modules = next(line for line in lines if line.startswith("modules")).split()[1:]
    assert not [
        m for m in modules if m.split(".")[1] in ("shell", "hardware", "scanning", "sessions")
    ]
