"""Helpers shared by the scan tests: output lines, matching them in order, recording streams."""

import re
import time

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
    """An output stream that remembers when each piece of text was written."""

    def __init__(self):
        self.writes: list[tuple[float, str]] = []

    def write(self, text: str) -> int:
        self.writes.append((time.monotonic(), text))
        return len(text)

    def flush(self) -> None:
        pass

    @property
    def text(self) -> str:
        return "".join(text for _, text in self.writes)
