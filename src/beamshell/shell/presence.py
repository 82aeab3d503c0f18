"""One interactive shell per session: each announces itself by naming a Redis connection.

The name (`beamshell-shell:<session>:<host>:<pid>:<terminal>:<since>`) lives as long as the
connection, so a shell that exits or is killed vanishes from `CLIENT LIST` at once: nothing
to clean up, no stale lock. Two shells that start together both see each other; the one
whose connection came second (the higher client id) gives way. A restart of Redis drops
every connection: `ShellPresence.keep()` names a new one as soon as Redis answers again.
A shell opened with --force beside another one says so on the session's presence stream;
the shells already open print it above their prompt.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from beamshell.errors import BeamshellError

if TYPE_CHECKING:
    from beamshell.config.redis_access import BeamshellRedis

_PREFIX = "beamshell-shell"
# The keeper's blocking read returns this often (the client's socket timeout must not
# expire first), and its reconnection attempts while Redis is away back off up to this.
_WATCH_SLICE_MS = 1000
_RETRY_MAX_S = 1.0
_NOTICES_KEPT = 20  # entries of the presence stream; it expires a day after the last one
_NOTICES_TTL_S = 86400


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

    def __init__(
        self, client: BeamshellRedis, info: ShellInfo, unchecked: str = "", redis_url: str = ""
    ):
        self._client = client  # its pool holds the named connection
        self.info = info
        self.unchecked = unchecked
        self._redis_url = redis_url
        self._keeper: Any = None
        self._keeper_client: Any = None

    def _notices_key(self, client: Any) -> str:
        return f"{client.key_prefix}shell_presence:{self.info.session}"

    def tell_open_shells(self) -> None:
        """Say on the session's presence stream that this shell opened beside others."""
        key = self._notices_key(self._client)
        with self._client.pipeline(transaction=True) as pipe:
            pipe.xadd(key, {"shell": self.info.client_name()}, maxlen=_NOTICES_KEPT)
            pipe.expire(key, _NOTICES_TTL_S)
            pipe.execute()

    def keep(self) -> None:
        """Keep the announcement for the shell's life, across restarts of Redis.

        A greenlet blocks on a second announcing connection (XREAD of the session's presence
        stream, in slices the server answers), so it hears at once when Redis drops it, and
        reconnects as soon as Redis answers again. Its client names each connection it
        makes (redis-py sends CLIENT SETNAME as it connects), so the shell is announced
        again. The first named connection stays until it is lost: no moment without an
        announcement. It prints what shells opened later with --force say on the stream;
        otherwise silent: the commands at the prompt already say when Redis is away.
        """
        if self.unchecked or self._keeper is not None or not self._redis_url:
            return
        import gevent

        from beamshell.config.redis_server import connect

        self._keeper_client = connect(
            self._redis_url, check=False, client_name=self.info.client_name()
        )
        self._keeper = gevent.spawn(self._keep, self._keeper_client)

    def _keep(self, client: Any) -> None:
        import gevent
        import redis

        from beamshell.data.connection import reply_text

        key = self._notices_key(client)
        last_id: str | None = None  # read from the stream once Redis answers
        delay = 0.05
        while True:
            try:
                if last_id is None:
                    newest = client.xrevrange(key, count=1)
                    last_id = reply_text(newest[0][0]) if newest else "0-0"
                answer = client.xread({key: last_id}, block=_WATCH_SLICE_MS)
                delay = 0.05
            except redis.ResponseError:  # an ACL that denies the key: nothing to wait on
                return
            except Exception:  # noqa: BLE001 - Redis away or restarting: try again soon
                gevent.sleep(delay)
                delay = min(delay * 2, _RETRY_MAX_S)
                continue
            for _, entries in answer or ():
                for entry_id, fields in entries:
                    last_id = reply_text(entry_id)
                    name = fields.get(b"shell", fields.get("shell", ""))
                    self._say_opened(reply_text(name, errors="replace"))

    def _say_opened(self, name: str) -> None:
        """One line above the prompt for a shell opened beside this one (not for itself)."""
        from beamshell.text import printable

        other = ShellInfo.parse(name)
        if other is None or other.session != self.info.session:
            return
        if (other.host, other.pid) == (self.info.host, self.info.pid):
            return
        line = (
            f"beamshell: another interactive shell opened session '{other.session}' with "
            f"--force, {other.describe()}: both now drive the same session"
        )
        print(printable(line), file=sys.stdout, flush=True)

    def close(self) -> None:
        if self._keeper is not None:
            self._keeper.kill()
            self._keeper = None
            self._keeper_client.close()
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
    presence = ShellPresence(client, info, redis_url=redis_url)
    if earlier:  # forced: the shells already open are told
        try:
            presence.tell_open_shells()
        except redis.RedisError:  # an ACL may deny the stream: they are not told, that is all
            pass
    return presence
