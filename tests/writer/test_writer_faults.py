"""The writer under faults: killed at random moments, started late, a file it cannot write."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import gevent
import gevent.event
import h5py
import numpy as np
from writer_helpers import SESSION, dump_entry

from beamshell.config.daemon import session_daemon
from beamshell.data import writer_status
from beamshell.data.node import Event, get_node, get_session_node
from beamshell.scanning.chain import ChainIterationPreset, ChainPreset
from beamshell.writer.dataset_file import entry_is_complete, scan_file_path

HERE = Path(__file__).resolve().parent


class PauseAt(ChainPreset):
    """Holds the scan before point `index` until `resume` is set."""

    def __init__(self, index: int):
        self.index = index
        self.reached = gevent.event.Event()
        self.resume = gevent.event.Event()

    def get_iterator(self, acq_chain):
        preset = self

        class Point(ChainIterationPreset):
            def __init__(self, number):
                self.number = number

            def prepare(self):
                if self.number == preset.index:
                    preset.reached.set()
                    preset.resume.wait()

        number = 0
        while True:
            yield Point(number)
            number += 1


def test_a_file_read_while_the_scan_runs_shows_the_points_so_far(ns, writer, writer_events):
    scan = ns["loopscan"](20, 0.01, ns["diode"], run=False)
    pause = PauseAt(8)
    scan.acq_chain.add_preset(pause)
    runner = gevent.spawn(scan.run)
    pause.reached.wait(timeout=30)
    filename = ns["SCAN_SAVING"].filename
    entry = f"{scan.scan_number}.1"
    with gevent.Timeout(30, AssertionError("the file never showed the first 8 points")):
        while True:  # the writer flushes within half a second: open again until it shows
            try:
                with h5py.File(filename, "r", locking=False) as handle:
                    diode = handle[entry]["measurement"]["diode"][()]
                    complete = "end_time" in handle[entry]
                if len(diode) == 8:
                    break
            except (OSError, KeyError):
                pass  # not created yet
            gevent.sleep(0.05)
    assert not complete  # running: no end_time yet
    np.testing.assert_array_equal(diode, scan.get_data()["diode"][:8])
    pause.resume.set()
    runner.get(timeout=30)
    writer_events.saved(scan)
    with h5py.File(filename, "r", locking=False) as handle:
        assert len(handle[entry]["measurement"]["diode"]) == 20
        assert "end_time" in handle[entry]


def all_entries(filename: str) -> dict:
    with h5py.File(filename, "r", locking=False) as handle:
        return {name: dump_entry(handle[name]) for name in handle}


def run_scans(ns) -> list:
    scans = [
        ns["loopscan"](150, 0.002, ns["diode"], ns["mca"]),
        ns["ascan"](ns["m1"], 0, 2, 40, 0.002, ns["gauss"], ns["stats"]),
    ]
    seq = ns["Sequence"](title="under fire")
    with seq.sequence_context() as scan_seq:
        for count in (60, 90):
            scan_seq.add_and_run(ns["loopscan"](count, 0.002, ns["diode2"], run=False))
    scans.append(seq)
    scans.append(ns["amesh"](ns["m1"], 0, 1, 9, ns["m2"], 0, 1, 9, 0.001, ns["diode"]))
    scans.append(ns["timescan"](0.002, ns["diode"], npoints=120))
    return scans


def test_writer_killed_at_random_moments_never_loses_or_alters_an_entry(
    ns, config_dir, writer_events
):
    daemon = session_daemon("writer", SESSION, config_dir)
    rng = random.Random(20261129)
    filename = ns["SCAN_SAVING"].filename
    completed: dict[str, dict] = {}
    runner = gevent.spawn(run_scans, ns)
    kills = 0
    try:
        daemon.start()
        while not runner.dead or kills < 6:
            gevent.sleep(rng.uniform(0.0, 0.4))  # the moment of the crash, not a wait
            os.kill(daemon.pid(), signal.SIGKILL)
            assert daemon._wait_released(10)
            kills += 1
            if Path(filename).exists():
                with h5py.File(filename, "r", locking=False) as handle:  # always opens
                    assert set(completed) <= set(handle)
                    for name, dump in completed.items():  # the interrupted one may not read
                        assert dump_entry(handle[name]) == dump, f"{name} changed, kill {kills}"
            started = len([e for e in writer_events.events if e["kind"] == "started"])
            daemon.start()
            writer_events.wait_for(
                lambda e, n=started: (
                    e["kind"] == "started"
                    and len([x for x in writer_events.events if x["kind"] == "started"]) > n
                )
            )
            for event in writer_events.events:
                if event["kind"] in ("saved", "recovered") and event["entry"] not in completed:
                    with h5py.File(event["filename"], "r", locking=False) as handle:
                        completed[event["entry"]] = dump_entry(handle[event["entry"]])
        scans = runner.get()
        for scan in scans:
            # A writer killed between completing an entry and saying so leaves it complete
            # and silent: the next one finds it complete and has nothing to do or to say.
            path = scan_file_path(Path(filename), scan.scan_info["scan_nb"])
            if not entry_is_complete(path, scan.scan_info["scan_nb"]):
                writer_events.saved(scan)
        crashed = all_entries(filename)
        assert len(crashed) == 7  # 5 scans, the sequence's 2 scans
        for name, dump in completed.items():
            assert crashed[name] == dump
        for name, dump in crashed.items():
            assert "end_time" in dump, f"entry {name} incomplete"
    finally:
        daemon.stop()

    # A writer that never crashed writes the same entries: start one on empty files. It
    # also shows that a writer started after the scans catches up from Redis.
    shutil.rmtree(Path(filename).parent)
    writer_events.forget()  # what the crashed writers said until they stopped is not news
    daemon.start()
    try:
        for scan in scans:
            writer_events.saved(scan)
        assert all_entries(filename) == crashed
    finally:
        daemon.stop()


def test_a_writer_started_after_the_scans_catches_up(ns, config_dir, writer_events):
    first = ns["loopscan"](5, 0.01, ns["diode"])
    second = ns["ascan"](ns["m1"], 0, 1, 3, 0.01, ns["gauss"])
    daemon = session_daemon("writer", SESSION, config_dir)
    daemon.start()
    try:
        for scan in (first, second):
            event = writer_events.saved(scan)
            with h5py.File(event["filename"], "r", locking=False) as handle:
                assert "end_time" in handle[event["entry"]]
    finally:
        daemon.stop()


def test_an_unwritable_base_path_is_reported_and_retried_until_fixed(
    ns, writer, writer_events, read_only, base_path
):
    scan = ns["loopscan"](5, 0.01, ns["diode"])
    assert scan.state.name == "DONE"  # the scan itself is not affected
    error = writer_events.wait_for(lambda e: e["kind"] == "error")
    message = error["message"]
    assert "\n" not in message
    assert message.startswith(f"cannot write {base_path}/{SESSION}: ")
    reason = message.split(": ", 1)[1].split(";")[0]
    assert reason in ("Permission denied", "Operation not permitted")  # chmod, or chattr as root
    assert "; scan data kept in Redis until " in message
    assert error["scan"] == scan.node.db_name
    read_only()  # the operator fixes the permission
    recovered = writer_events.saved(scan)
    assert recovered["kind"] == "recovered"
    with h5py.File(recovered["filename"], "r", locking=False) as handle:
        np.testing.assert_array_equal(
            handle[recovered["entry"]]["measurement"]["diode"][()], scan.get_data()["diode"]
        )


def test_how_long_data_stay_is_read_under_the_configurations_key_prefix(redis_url):
    """The writer's error says until when Redis keeps the data: from the prefixed keys."""
    from beamshell.config.redis_server import connect
    from beamshell.data.publish import DataPublisher
    from beamshell.writer.service import kept_until

    client = connect(redis_url, key_prefix="bl01")
    publisher = DataPublisher(client)
    scan = publisher.create_node("demo:tmp:scans:1_ct", "scan", {}, parent="demo")
    publisher.end_scan(scan)
    publisher.close()
    assert kept_until(client, scan).startswith("scan data kept in Redis until ")
    client.close()


def test_two_writers_never_write_one_session_at_once(ns, writer, config_dir, tmp_path):
    same = subprocess.run(
        [sys.executable, "-m", "beamshell.writer", "run", "-s", SESSION, "--config", str(config_dir)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert same.returncode == 4
    assert f"a writer already runs for session '{SESSION}' (pid {writer.pid()})" in same.stderr
    # Another machine (here: another configuration directory on the same Redis).
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(config_dir, elsewhere)
    other = subprocess.run(
        [sys.executable, "-m", "beamshell.writer", "run", "-s", SESSION, "--config", str(elsewhere)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert other.returncode == 4
    assert f"a writer already runs for session '{SESSION}' on " in other.stderr
    assert f"(pid {writer.pid()})" in other.stderr


def test_the_writer_imports_neither_shell_hardware_nor_scanning(ns, config_dir, writer_events):
    process = subprocess.Popen(
        [sys.executable, str(HERE / "checked_writer.py"), "run", "-s", SESSION,
         "--config", str(config_dir)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        writer_events.wait_for(lambda e: e["kind"] == "started")
        group = ns["Group"](ns["loopscan"](3, 0.01, ns["diode"], ns["mca"]))
        writer_events.saved(group)
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    report = out.strip().splitlines()[-1]
    assert report == '{"status": 0, "forbidden": []}', err


def test_a_shell_killed_mid_scan_loses_nothing(
    config_dir, writer, writer_events, redis_client, tmp_path
):
    """kill -9 of the process running a scan: the scan's lease expires, a follower ends it
    KILLED, and the writer completes its entry with every point that was published."""
    (config_dir / "__init__.yml").write_text("scan_lease_time: 2\n")
    stderr = tmp_path / "shell.stderr"
    with stderr.open("wb") as sink:
        shell = subprocess.Popen(
            [sys.executable, "-m", "beamshell", "-s", SESSION, "--config", str(config_dir),
             "-c", "loopscan(5000, 0.01, diode)"],
            stdout=subprocess.DEVNULL, stderr=sink,
        )  # fmt: skip
    try:
        session = get_session_node(SESSION, connection=redis_client)
        try:
            with gevent.Timeout(60, AssertionError("no 20 points published")):
                for event, node, data in session.walk_events(include_filter="channel"):
                    if event is Event.NEW_DATA and node.name == "diode" and data.last_index >= 19:
                        scan = node.parent.parent  # diode -> timer -> the scan
                        break
        except AssertionError as exc:  # say why: the shell's exit status and last words
            said = stderr.read_text(errors="replace")[-2000:]
            raise AssertionError(f"{exc}; shell exit status {shell.poll()}:\n{said}") from None
        shell.send_signal(signal.SIGKILL)
    finally:
        shell.kill()
        shell.wait(30)
    event = writer_events.wait_for(lambda e: e.get("scan") == scan.db_name and e["kind"] == "saved")
    info = scan.info
    assert info["state"] == "KILLED"
    with h5py.File(event["filename"], "r", locking=False) as handle:
        entry = handle[event["entry"]]
        assert entry["state"][()].decode() == "KILLED" and "end_time" in entry
        diode = entry["measurement"]["diode"][()]
    redis_points = get_node(scan.db_name + ":timer:diode", connection=redis_client).get(0, -1)
    assert len(diode) >= 20
    np.testing.assert_array_equal(diode, redis_points)


def test_a_restarted_writer_says_that_a_scan_it_could_not_save_is_saved(
    ns, config_dir, writer_events, read_only
):
    # The operator heard "cannot write ..."; the writer dies before the fix, and the one
    # started after it must say "saved" as a recovery, which the shells print.
    daemon = session_daemon("writer", SESSION, config_dir)
    daemon.start()
    try:
        scan = ns["loopscan"](5, 0.01, ns["diode"])
        writer_events.wait_for(lambda e: e["kind"] == "error" and e["scan"] == scan.node.db_name)
        os.kill(daemon.pid(), signal.SIGKILL)
        assert daemon._wait_released(10)
        read_only()  # the operator fixes the permission while no writer runs
        daemon.start()
        assert writer_events.saved(scan)["kind"] == "recovered"
    finally:
        daemon.stop()


def test_an_entry_completed_by_a_writer_killed_before_it_said_so_is_said_recovered(
    ns, config_dir, writer, writer_events, redis_client
):
    # The state such a writer leaves: an error was the last word on the scan, and its
    # entry is complete in the file. Made here by saying the error after the save.
    scan = ns["loopscan"](5, 0.01, ns["diode"])
    saved = writer_events.saved(scan)
    writer.stop()
    voice = writer_status.WriterVoice(redis_client, SESSION)
    voice.report(writer_status.ERROR, "cannot write: No space left", scan=scan.node.db_name)
    assert writer_status.scans_in_error(redis_client, SESSION) == {scan.node.db_name}
    writer_events.forget()
    writer.start()
    recovered = writer_events.saved(scan)
    assert recovered["kind"] == "recovered" and recovered["entry"] == saved["entry"]
    assert writer_status.scans_in_error(redis_client, SESSION) == set()
