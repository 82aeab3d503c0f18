"""One interactive shell per session: each announces itself by naming a Redis connection.

The name (`beamshell-shell:<session>:<host>:<pid>:<terminal>:<since>`) lives as long as the
connection, so a shell that exits or is killed vanishes from `CLIENT LIST` at once: nothing
to clean up, no stale lock. Two shells that start together both see each other; the one
whose connection came second (the higher client id) gives way.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from dataclasses import dataclass
from urllib.parse import quote, unquote

from beamshell.errors import BeamshellError

_PREFIX = "beamshell-shell"


class SessionAlreadyOpen(BeamshellError):
    """Another interactive shell has the session open (start with --force to open anyway)."""


@dataclass(frozen=True)
class ShellInfo:
    session: str
    host: str
    pid: int
    terminal: str
    since: float

    def client_name(self) -> str:
        fields = (self.session, self.host, str(self.pid), self.terminal, str(int(self.since)))
        # Connection names may not hold spaces; quote() leaves neither spaces nor ':'.
        return ":".join([_PREFIX, *(quote(field, safe="") for field in fields)])

    @classmethod
    def parse(cls, name: str) -> ShellInfo | None:
        parts = name.split(":")
        if len(parts) != 6 or parts[0] != _PREFIX:
            return None
        session, host, pid, terminal, since = (unquote(part) for part in parts[1:])
        try:
            return cls(session, host, int(pid), terminal, float(since))
        except ValueError:
            return None

    def describe(self) -> str:
        started = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.since))
        return f"on host {self.host}, pid {self.pid}, terminal {self.terminal}, since {started}"


def _terminal() -> str:
    for stream in (sys.stdin, sys.stdout):
        try:
            return os.ttyname(stream.fileno())
        except (AttributeError, OSError, ValueError):
            continue
    return "none"


class ShellPresence:
    """This shell's announcement; `close()` (or the process's end) withdraws it.

    `unchecked` says why no other shell could be looked for ('' when the check was made).
    """

    def __init__(self, client, info: ShellInfo, unchecked: str = ""):
        self._client = client  # its pool holds the named connection
        self.info = info
        self.unchecked = unchecked

    def close(self) -> None:
        self._client.close()


def announce_shell(redis_url: str, session_name: str, force: bool = False) -> ShellPresence:
    """Announce an interactive shell of `session_name`; refuse if one was there first.

    Raises SessionAlreadyOpen (one line: where the first shell runs, and since when) unless
    `force`. A Redis user whose ACL forbids naming or listing connections (`CLIENT SETNAME`,
    `CLIENT LIST`, both in `@dangerous` before Redis 7) can neither announce nor look:
    the shell opens unchecked, and `unchecked` says why.
    """
    import redis

    from beamshell.config.redis_access import reason_of
    from beamshell.config.redis_server import connect

    info = ShellInfo(session_name, socket.gethostname(), os.getpid(), _terminal(), time.time())
    client = connect(redis_url)  # the usual one-line errors if Redis cannot be used
    # Its one connection stays open in the pool for the shell's life, and is the only one
    # (nothing runs two commands at once here): its name is the announcement.
    try:
        client.client_setname(info.client_name())
        own_id = client.client_id()
        entries = client.client_list()
    except redis.ResponseError as exc:  # an ACL (NOPERM), or a proxy without CLIENT
        client.close()
        return ShellPresence(
            client,
            info,
            f"not checking whether session '{session_name}' is open in another shell: "
            f"Redis refused to name or list connections ({reason_of(exc)}); "
            "an ACL user needs +client|setname +client|list",
        )
    others = [
        (int(entry["id"]), found)
        for entry in entries
        if int(entry["id"]) != own_id
        and (found := ShellInfo.parse(entry.get("name") or "")) is not None
        and found.session == session_name
    ]
    earlier = sorted((client_id, found) for client_id, found in others if client_id < own_id)
    if earlier and not force:
        client.close()
        first = earlier[0][1]
        raise SessionAlreadyOpen(
            f"session '{session_name}' is already open in an interactive shell "
            f"{first.describe()}; to open a second shell anyway: "
            f"beamshell -s {session_name} --force"
        )
    return ShellPresence(client, info)
