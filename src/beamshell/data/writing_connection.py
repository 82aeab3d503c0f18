"""The publisher's own Redis client: writes wait for a live server, and cost few system calls.

A twin of the caller's client (same server, same settings) with three differences, each
measured on scan data:

- no socket timeout: redis-py gives every client one (5 s in redis-py 8), so a write to a
  server that was alive but busy (a slow disk, a fork, a paused process) was abandoned and
  its points reported lost. A server that is gone still fails a write at once (connection
  refused or closed); over TCP, keepalive probes find a host that vanished.
- large values are sent as they are: the payload of a batch is a memoryview of the scan's
  own numpy buffer, and redis-py's pure-Python packer hands it to the socket, where the
  hiredis packer copied it twice into fresh memory (1 MiB XADDs: 135 -> 333 MB/s).
- few writes and no extra turn of the event loop per transaction: consecutive small pieces
  of a pipeline go in one write (redis-py writes each large value and memoryview with a
  system call of its own, each waking the server), and the check that a pooled connection
  has nothing left to read asks the kernel directly (gevent's poll() gives the event loop
  a turn even with a zero timeout, so under a busy scan each transaction waited one more
  of the scan's turns).
"""

from __future__ import annotations

import select
import socket
import weakref
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import redis
from gevent import monkey

from beamshell.data.connection import twin_client

if TYPE_CHECKING:
    from redis.connection import AbstractConnection, PythonRespSerializer

    _ConnectionBase = AbstractConnection
else:
    # At run time the mixin's other base is the pool's own connection class.
    _ConnectionBase = object

# Over TCP, a server host that vanished without a word is found dead by the kernel's
# keepalive probes: after this many idle seconds, then this many probes this far apart.
KEEPALIVE_IDLE_S, KEEPALIVE_INTERVAL_S, KEEPALIVE_PROBES = 10, 5, 3
# Pieces of a pipeline shorter than this are joined into one write; longer ones (spectra)
# are written as they are, without a copy.
JOIN_BELOW = 64 << 10
# redis-py sends arguments longer than this as separate buffers (its own value).
_BUFFER_CUTOFF = 6000

_kernel_poll: Callable[[], select.poll] = monkey.get_original("select", "poll")
_twins: weakref.WeakKeyDictionary[redis.Redis, redis.Redis] = weakref.WeakKeyDictionary()
_classes: dict[type[AbstractConnection], type[AbstractConnection]] = {}


def writing_client(client: redis.Redis) -> redis.Redis:
    """The twin of `client` that scan data are written with (one per client)."""
    twin = _twins.get(client)
    if twin is None:
        kwargs = client.connection_pool.connection_kwargs
        overrides: dict[str, Any] = {"socket_timeout": None}
        packer = _zero_copy_packer(client)
        if packer is not None:
            overrides["command_packer"] = packer
        if not kwargs.get("path"):
            options = {
                getattr(socket, name): value
                for name, value in (
                    ("TCP_KEEPIDLE", KEEPALIVE_IDLE_S),
                    ("TCP_KEEPINTVL", KEEPALIVE_INTERVAL_S),
                    ("TCP_KEEPCNT", KEEPALIVE_PROBES),
                )
                if hasattr(socket, name)
            }
            overrides.update(socket_keepalive=True, socket_keepalive_options=options)
        twin = twin_client(client, **overrides)
        pool = twin.connection_pool
        pool.connection_class = _writing_class(pool.connection_class)
        _twins[client] = twin
    return twin


def _zero_copy_packer(client: redis.Redis) -> PythonRespSerializer | None:
    """redis-py's pure-Python command packer, or None (its default) if it has none."""
    try:
        from redis.connection import PythonRespSerializer
    except ImportError:
        return None
    return PythonRespSerializer(_BUFFER_CUTOFF, client.get_encoder().encode)


class _WritingConnection(_ConnectionBase):
    """Mixin for a redis-py connection class: see the module's docstring."""

    def send_packed_command(
        self, command: str | bytes | Sequence[bytes | memoryview], check_health: bool = True
    ) -> None:
        if not isinstance(command, str | bytes) and len(command) > 1:
            joined: list[bytes | memoryview] = []
            run: list[bytes | memoryview] = []
            for item in command:
                if len(item) < JOIN_BELOW:
                    run.append(item)
                    continue
                if run:
                    joined.append(b"".join(run))
                    run = []
                joined.append(item)
            if run:
                joined.append(b"".join(run))
            command = joined
        # redis-py leaves this method unannotated.
        super().send_packed_command(command, check_health)  # type: ignore[no-untyped-call]

    def can_read(self, timeout: float = 0) -> bool:
        # The pool asks before every command whether a connection it hands out has
        # something left to read (it should not: replies are read whole, and a read cut
        # short disconnects). Nothing, nearly always: the kernel says so without a turn of
        # the event loop. Anything else (a closed socket...): redis-py's full check.
        # redis-py types the socket after its initial value, None.
        sock: socket.socket | None = self._sock
        if timeout == 0 and sock is not None:
            poller = _kernel_poll()
            poller.register(sock, select.POLLIN)
            if not poller.poll(0):
                return False
        return super().can_read(timeout)


def _writing_class(connection_class: type[AbstractConnection]) -> type[AbstractConnection]:
    cls = _classes.get(connection_class)
    if cls is None:
        name = f"Writing{connection_class.__name__}"
        cls = type(name, (_WritingConnection, connection_class), {})
        _classes[connection_class] = cls
    return cls
