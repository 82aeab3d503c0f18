"""Helpers shared by the scan tests: output lines, matching them in order, recording streams,
and the events a test waits for (points taken, text printed) instead of sleeping."""

import itertools
import re
import time
from collections.abc import Callable
from typing import Any

import gevent.event

from beamshell.scanning.chain import ChainIterationPreset, ChainPreset

FILE = "/tmp/scans/demo/inhouse/sample/sample_0001/sample_0001.h5"
HEADER_RE = (
    r"Scan (?P<nb>\d+) \w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4} "
    + re.escape(FILE)
    + r" demo user = seb"
)
NUMBER = r"-?[\d.]+(?:e[+-]\d+)?"
TOOK_RE = r"Took \d+:\d\d:\d\d(?:\.\d+)?"
# No session, so no writer: the footer says where the scan would have gone.
SAVED_RE = r"Not saved yet: no writer runs for session demo \(" + re.escape(FILE) + r"::/\d+\.1\)"
ESTIMATE_RE = (
    r"Total \d+ points, \d+:\d\d:\d\d\.\d "
    r"\((?:motion \d+:\d\d:\d\d\.\d, )?count \d+:\d\d:\d\d\.\d\)"
)


def lines_of(text: str) -> list[str]:
    """Non-empty lines; a line overwritten with '\\r' counts as what was written last."""
    result = []
    for line in text.splitlines():
        line = line.rsplit("\r", 1)[-1] if line.strip("\r") else ""
        if line.strip():
            result.append(line.rstrip())
    return result


def row_re(index: int, ncolumns: int) -> str:
    """A table row: the point number then `ncolumns` numbers, right-aligned."""
    return rf"\s+{index}" + rf"\s+{NUMBER}" * ncolumns


def assert_lines_match(lines: list[str], patterns: list[str]) -> list[re.Match]:
    """Every line matches its pattern (full match), in order, and nothing else is printed."""
    assert len(lines) == len(patterns), "\n".join(["got:", *lines, "expected:", *patterns])
    matches = []
    for line, pattern in zip(lines, patterns, strict=True):
        match = re.fullmatch(pattern, line)
        assert match, f"line {line!r} does not match {pattern!r}\nall lines:\n" + "\n".join(lines)
        matches.append(match)
    return matches


class RecordingStream:
    """An output stream that remembers when each piece of text was written, and, given
    `progress`, what it returned at that moment (e.g. the scan's points done)."""

    def __init__(self, progress: Callable[[], Any] | None = None):
        self.writes: list[tuple[float, str]] = []
        self.progress = progress
        self.progress_at: list[tuple[Any, str]] = []

    def write(self, text: str) -> int:
        self.writes.append((time.monotonic(), text))
        if self.progress is not None:
            self.progress_at.append((self.progress(), text))
        return len(text)

    def flush(self) -> None:
        pass

    @property
    def text(self) -> str:
        return "".join(text for _, text in self.writes)


class PointsDone(ChainPreset):
    """A chain preset whose `reached` event is set once the scan has taken `count` points
    (when the chain asks for the hooks of point `count`): what a test waits for before it
    interrupts a scan that must have data."""

    def __init__(self, count: int):
        self.count = count
        self.reached = gevent.event.Event()

    def get_iterator(self, acq_chain):
        for index in itertools.count():
            if index >= self.count:
                self.reached.set()
            yield ChainIterationPreset()


class WatchedStream:
    """Passes every write on to `stream`; `printed(text)` is an event set once `text` has
    been written (within one write call)."""

    def __init__(self, stream):
        self.stream = stream
        self._events: dict[str, gevent.event.Event] = {}

    def printed(self, text: str) -> gevent.event.Event:
        return self._events.setdefault(text, gevent.event.Event())

    def write(self, text: str) -> int:
        for wanted, event in self._events.items():
            if wanted in text:
                event.set()
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)
