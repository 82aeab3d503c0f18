"""Start the test driver scripts of this directory as processes and read their output lines."""

import json
import subprocess
import sys
from pathlib import Path

import gevent

HERE = Path(__file__).resolve().parent


def start_script(script: str, *args: str) -> subprocess.Popen:
    """Run a script of this directory with the test environment (BEAMSHELL_REDIS_URL)."""
    return subprocess.Popen(
        [sys.executable, str(HERE / script), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def go_on(process: subprocess.Popen) -> None:
    """Release a publish_loopscan.py process that holds (--hold-after)."""
    process.stdin.write("go\n")
    process.stdin.flush()


def read_events_until(process: subprocess.Popen, condition, timeout: float = 30) -> list[str]:
    """Read a read_session.py process's lines until one whose event satisfies `condition`;
    return the lines read (give them to reader_events with the rest)."""
    lines = []
    with gevent.Timeout(timeout, AssertionError("the reader never printed the awaited event")):
        for line in process.stdout:
            lines.append(line)
            if "event" in line and condition(json.loads(line)):
                return lines
    raise AssertionError("the reader ended before the awaited event")


def wait_for_line(process: subprocess.Popen, prefix: str, timeout: float = 30) -> str:
    with gevent.Timeout(timeout, AssertionError(f"no line starting with {prefix!r}")):
        for line in process.stdout:
            if line.startswith(prefix):
                return line
    raise AssertionError(f"process ended before a line starting with {prefix!r}")


def finish(process: subprocess.Popen, timeout: float = 60) -> list[str]:
    """The remaining output lines of a process that must exit with status 0."""
    out, err = process.communicate(timeout=timeout)
    assert process.returncode == 0, err
    return out.splitlines()


def reader_events(
    process: subprocess.Popen, timeout: float = 60, read_before: list[str] = ()
) -> tuple[list[dict], list]:
    """A read_session.py process's events, and the forbidden modules it found imported
    (`read_before`: its lines already read by the test)."""
    lines = [json.loads(line) for line in [*read_before, *finish(process, timeout)]]
    forbidden = [line["forbidden"] for line in lines if "forbidden" in line]
    assert forbidden, "the reader did not report its imports"
    events = [line for line in lines if "event" in line]
    return events, forbidden[0]
