"""A `beamshell` process driven through a pseudo-terminal (pexpect), for the shell tests."""

from __future__ import annotations

import fcntl
import os
import re
import signal
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

from pexpect.fdpexpect import fdspawn

REPO = Path(__file__).resolve().parents[2]
BEAMSHELL = REPO / ".venv" / "bin" / "beamshell"
if not BEAMSHELL.exists():  # a venv elsewhere: the script sits next to the interpreter
    BEAMSHELL = Path(sys.executable).parent / "beamshell"

# Escapes may sit between the prompt's parts (it is coloured).
_ESC = r"(?:\x1b\[[0-9;? ]*[A-Za-z])*"


def _take_terminal() -> None:
    """In the child: a new session whose controlling terminal is the pty on stdin."""
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def shell_environment(home: Path, redis_url: str) -> dict[str, str]:
    """Environment of a spawned shell: test Redis, private HOME and history, no CPR wait."""
    home.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        HOME=str(home),
        BEAMSHELL_HISTORY_DIR=str(home / "history"),
        BEAMSHELL_REDIS_URL=redis_url,
        PROMPT_TOOLKIT_NO_CPR="1",
        TERM="xterm-256color",
        COLUMNS="160",
        LINES="50",
    )
    env.pop("BEAMSHELL_CONFIG", None)
    return env


class PtyProcess:
    """A child process on a new pseudo-terminal (its controlling terminal), read with pexpect.

    pexpect.spawn forks by itself, which hangs in this gevent-patched test process once a
    subprocess exists; subprocess.Popen (patched by gevent) does the fork here instead.
    """

    def __init__(self, argv: list[str], env: dict[str, str], rows: int = 50, cols: int = 160):
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.process = subprocess.Popen(
            argv,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            env=env,
            preexec_fn=_take_terminal,
        )
        os.close(slave)
        self.master = master
        self.reader = fdspawn(master, encoding="utf-8", timeout=20)

    def isalive(self) -> bool:
        return self.process.poll() is None

    def kill(self, signum: int) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout: float = 20) -> int:
        return self.process.wait(timeout)

    def hang_up(self) -> None:
        """Close the terminal's master side, as a closing terminal window does: the kernel
        then sends SIGHUP to the process. (gevent's os.close waits until no watcher uses the
        descriptor, which pexpect's reads leave behind: close it for real, now.)"""
        from gevent import monkey

        monkey.get_original("os", "close")(self.master)
        self.master = -1

    def close(self) -> None:
        if self.isalive():
            self.process.kill()
            self.process.wait(10)
        if self.master < 0:
            return
        try:
            os.close(self.master)
        except OSError:
            pass


class Shell:
    """A `beamshell` process in a pseudo-terminal."""

    def __init__(
        self,
        args: list[str],
        env: dict[str, str],
        log_path: Path,
        size: tuple[int, int] = (50, 160),
    ):
        self.log = open(log_path, "w")  # noqa: SIM115 - closed in close()
        self.process = PtyProcess([str(BEAMSHELL), *args], env, *size)
        self.child = self.process.reader
        self.child.logfile_read = self.log
        self.session = args[args.index("-s") + 1].upper() if "-s" in args else ""
        self.count = 1

    def expect_prompt(self, count: int | None = None, timeout: float = 20) -> float:
        """Wait for `NAME [count]:`; return when it was seen (time.monotonic())."""
        count = self.count if count is None else count
        pattern = rf"{self.session} \[{_ESC}{count}{_ESC}\]: "
        self.child.expect(pattern, timeout=timeout)
        return time.monotonic()

    def run(self, command: str, timeout: float = 20) -> str:
        """Type a command, wait for the next prompt, return the output in between."""
        self.child.sendline(command)
        self.count += 1
        self.expect_prompt(timeout=timeout)
        return strip_escapes(self.child.before)

    def send(self, command: str) -> None:
        self.child.sendline(command)
        self.count += 1

    def expect(self, pattern, timeout: float = 20) -> float:
        self.child.expect(pattern, timeout=timeout)
        return time.monotonic()

    def ctrl(self, letter: str) -> None:
        """Type Control-<letter> (Ctrl-C is a key at the prompt, SIGINT in cooked mode)."""
        self.child.send(chr(ord(letter.upper()) - 64))

    def signal(self, signum: int = signal.SIGINT) -> None:
        self.process.kill(signum)

    def isalive(self) -> bool:
        return self.process.isalive()

    def wait(self, timeout: float = 20) -> int:
        return self.process.wait(timeout)

    def close(self) -> None:
        self.process.close()
        self.log.close()


def strip_escapes(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;? ]*[A-Za-z]|\r", "", text)
