"""The shell's stdout: a text stream over a writer thread, and its binary `buffer`."""

import array
import os

from beamshell.shell.terminal_stream import TerminalStream, TerminalWriter


def test_the_binary_buffer_says_how_many_bytes_it_took():
    """RawIOBase.write() returns bytes, not the items of an array: a buffered writer on top
    would otherwise write the rest again."""
    read_fd, write_fd = os.pipe()
    writer = TerminalWriter(write_fd)
    try:
        numbers = array.array("i", [1, 2])
        assert TerminalStream(writer).buffer.write(numbers) == numbers.itemsize * 2
    finally:
        writer.close()
        os.close(write_fd)
    with os.fdopen(read_fd, "rb") as pipe:
        assert pipe.read() == numbers.tobytes()
