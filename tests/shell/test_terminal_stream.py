"""The shell's stdout: a text stream over a writer thread, and its binary `buffer`."""

import array
import os

from beamshell.shell.terminal_stream import TerminalStream, TerminalWriter


def test_the_binary_buffer_says_how_many_bytes_it_took():
    """RawIOBase.write() returns bytes, not the items of an array: a buffered writer on top
    would otherwise write the rest again."""
    read_fd, write_fd = os.pipe()
    writer = TerminalWriter(write_fd)
    numbers = array.array("i", [1, 2])
    try:
        assert TerminalStream(writer).buffer.write(numbers) == numbers.itemsize * 2
        writer.close()  # its thread has written everything
        # Not read up to the end of the pipe: gevent's os.close() closes a pipe only when
        # its hub next runs, which a blocking read would never let it do.
        assert os.read(read_fd, 64) == numbers.tobytes()
    finally:
        writer.close()
        os.close(write_fd)
        os.close(read_fd)
