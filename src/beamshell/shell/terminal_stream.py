"""sys.stdout and sys.stderr of the interactive shell: writes are handed to a writer thread.

A terminal that stops reading (tmux copy mode, a stalled ssh link) blocks whoever writes
to it. If that were the main thread, every greenlet would stop with it, the running scan
included. Here the main thread only appends to a queue; one real OS thread (the process
runs gevent with threads left unpatched) does the blocking writes, in order. A slow
terminal makes the output lag, never the acquisition.
"""

from __future__ import annotations

import io
import os
import sys
import threading
from collections import deque
from typing import TYPE_CHECKING, Protocol, TextIO

if TYPE_CHECKING:
    from _typeshed import ReadableBuffer

# Past this many queued bytes, further output is dropped (and counted) rather than letting
# a terminal that never reads again take all the memory.
MAX_QUEUED_BYTES = 64 * 1024 * 1024


class TerminalWriter:
    """Writes queued bytes to a file descriptor from its own thread, in order."""

    def __init__(self, fd: int):
        self.fd = fd
        self._chunks: deque[bytes] = deque()
        self._queued = 0
        self.dropped = 0
        self._wakeup = threading.Condition(threading.Lock())
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="terminal-writer", daemon=True)
        self._thread.start()

    def write(self, data: bytes) -> None:
        if not data:
            return
        with self._wakeup:
            if self._queued + len(data) > MAX_QUEUED_BYTES:
                self.dropped += len(data)
                return
            self._chunks.append(data)
            self._queued += len(data)
            self._wakeup.notify()

    def pending(self) -> int:
        return self._queued

    def _run(self) -> None:
        while True:
            with self._wakeup:
                while not self._chunks and not self._closing:
                    self._wakeup.wait()
                if not self._chunks:
                    return
                data = b"".join(self._chunks)
                self._chunks.clear()
            view = memoryview(data)
            while view:
                try:
                    written = os.write(self.fd, view)
                except InterruptedError:
                    continue
                except OSError:
                    written = len(view)  # the terminal is gone: nothing more to show
                view = view[written:]
            with self._wakeup:
                self._queued -= len(data)

    def close(self, timeout: float = 2.0) -> None:
        """Write what is queued (waiting at most `timeout`), then stop the thread."""
        with self._wakeup:
            self._closing = True
            self._wakeup.notify()
        self._thread.join(timeout)


class _BinaryStream(io.RawIOBase):
    def __init__(self, writer: TerminalWriter):
        self._writer = writer

    def writable(self) -> bool:
        return True

    def write(self, data: ReadableBuffer) -> int:
        payload = bytes(data)
        self._writer.write(payload)
        return len(payload)  # bytes, as RawIOBase promises, not the items of an array

    def fileno(self) -> int:
        return self._writer.fd


class _Diversion(Protocol):
    """Where a diverted TerminalStream's text goes (output_above's queue)."""

    def write(self, text: str, /) -> int: ...

    def flush(self) -> None: ...


class TerminalStream(io.TextIOBase):
    """A text stream over a TerminalWriter: never blocks the caller."""

    def __init__(self, writer: TerminalWriter, encoding: str = "utf-8"):
        self._writer = writer
        self._encoding = encoding
        self.buffer = _BinaryStream(writer)
        self._diverted_to: _Diversion | None = None

    def divert(self, target: _Diversion) -> None:
        """Send text to `target` (the toolbar's output queue) until `undivert()`. Code that
        kept a reference to sys.stdout (a motor's position printer) follows along."""
        self._diverted_to = target

    def undivert(self) -> None:
        self._diverted_to = None

    @property
    def encoding(self) -> str:  # type: ignore[override]  # read-only here, as on a real file
        return self._encoding

    @property
    def errors(self) -> str:  # type: ignore[override]  # read-only here, as on a real file
        return "replace"

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        if self._diverted_to is not None:
            return self._diverted_to.write(text)
        return self.write_through(text)

    def write_through(self, text: str) -> int:
        """Straight to the terminal (via the writer thread), even while diverted."""
        self._writer.write(text.encode(self._encoding, "replace"))
        return len(text)

    def flush(self) -> None:
        """The writer thread writes as soon as it can; a diverted stream flushes its target."""
        if self._diverted_to is not None:
            self._diverted_to.flush()

    def fileno(self) -> int:
        return self._writer.fd

    def isatty(self) -> bool:
        return os.isatty(self._writer.fd)


def _same_file(first: TextIO, second: TextIO) -> bool:
    try:
        return os.path.samestat(os.fstat(first.fileno()), os.fstat(second.fileno()))
    except (AttributeError, OSError, ValueError):
        return False


class TerminalStreams:
    """Makes sys.stdout (and sys.stderr, if it is the same terminal) TerminalStreams
    for a `with` block; does nothing when stdout is not a terminal."""

    def __init__(self) -> None:
        self._saved: tuple[TextIO, TextIO] | None = None
        self._writer: TerminalWriter | None = None

    def __enter__(self) -> TerminalStreams:
        stdout, stderr = sys.stdout, sys.stderr
        try:
            if not os.isatty(stdout.fileno()):
                return self
        except (AttributeError, OSError, ValueError):
            return self
        stdout.flush()
        stderr.flush()
        self._saved = (stdout, stderr)
        self._writer = TerminalWriter(stdout.fileno())
        stream = TerminalStream(self._writer, getattr(stdout, "encoding", None) or "utf-8")
        sys.stdout = stream
        if _same_file(stdout, stderr):
            sys.stderr = stream
        return self

    def __exit__(self, *exc: object) -> None:
        if self._saved is not None and self._writer is not None:
            sys.stdout, sys.stderr = self._saved
            self._writer.close()
