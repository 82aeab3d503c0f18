"""How a reading process finds its Redis: an explicit client or URL, the environment, the config."""

from __future__ import annotations

import os
import weakref
from pathlib import Path

import redis

REDIS_URL_ENV = "BEAMSHELL_REDIS_URL"
CONFIG_ENV = "BEAMSHELL_CONFIG"

_binary_twins: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_publisher_twins: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

# A TCP connection to a server whose host vanished without a word is found dead by the
# kernel's keepalive probes: after this many idle seconds, then this many probes this far
# apart.
_KEEPALIVE_IDLE_S, _KEEPALIVE_INTERVAL_S, _KEEPALIVE_PROBES = 10, 5, 3
# Arguments longer than this are sent as separate buffers, not joined (redis-py's value).
_BUFFER_CUTOFF = 6000
# A pipeline's pieces shorter than this are joined into one write; longer ones (spectra)
# are written as they are, without a copy.
_JOIN_BELOW = 64 << 10
_publisher_classes: dict[type, type] = {}


def describe_url(client: redis.Redis) -> str:
    """The URL a redis-py client talks to, for messages: never with its password."""
    shown = getattr(client, "display_url", "")  # set by config.redis_server.connect
    if shown:
        return shown
    pool = client.connection_pool
    kwargs = pool.connection_kwargs
    user = f"{kwargs['username']}@" if kwargs.get("username") else ""
    if kwargs.get("path"):
        return f"unix://{user}{kwargs['path']}"
    scheme = "rediss" if issubclass(pool.connection_class, redis.SSLConnection) else "redis"
    host, port, db = kwargs.get("host", "localhost"), kwargs.get("port", 6379), kwargs.get("db", 0)
    return f"{scheme}://{user}{host}:{port}/{db}"


def explain_failure(client: redis.Redis, exc: BaseException) -> Exception | None:
    """The one-line error for a redis-py failure of `client` (URL masked), or None."""
    failure = getattr(client, "failure", None)  # a client made by connect() knows its hints
    if failure is not None:
        return failure(exc)
    from beamshell.config.redis_access import redis_failure

    return redis_failure(exc, describe_url(client))


def default_redis_url() -> str:
    """BEAMSHELL_REDIS_URL, else the Redis serving $BEAMSHELL_CONFIG (or the demo config)."""
    url = os.environ.get(REDIS_URL_ENV)
    if url:
        return url
    # Imported only here: a reader given a URL never loads the configuration code.
    from beamshell.config.redis_server import resolve_redis_url

    config_dir = os.environ.get(CONFIG_ENV)
    return resolve_redis_url(Path(config_dir) if config_dir else None)


def reader_connection(
    redis_url: str | None = None, connection: redis.Redis | None = None
) -> redis.Redis:
    """A binary-safe redis-py client (channel payloads are raw bytes, never decoded as text)."""
    if connection is not None:
        if not connection.get_encoder().decode_responses:
            return connection
        # A text-mode client (decode_responses=True) would mangle raw payloads: use a
        # binary twin of it, one per client, not one per call.
        twin = _binary_twins.get(connection)
        if twin is None:
            twin = _twin(connection, decode_responses=False)
            _binary_twins[connection] = twin
        return twin
    from beamshell.config.redis_server import connect

    # The password and the key prefix come from the environment or $BEAMSHELL_CONFIG.
    return connect(redis_url or default_redis_url())


def _twin(client: redis.Redis, **overrides) -> redis.Redis:
    """A client of the same class on a new pool to the same server as `client`, with some
    settings changed; it keeps the key prefix and the shown URL of `client`."""
    pool = client.connection_pool
    kwargs = dict(pool.connection_kwargs, **overrides)
    twin = type(client)(
        connection_pool=redis.ConnectionPool(connection_class=pool.connection_class, **kwargs)
    )
    if hasattr(twin, "same_identity"):
        twin.same_identity(client)
    return twin


def publisher_connection(client: redis.Redis) -> redis.Redis:
    """A client for writing scan data: `client`'s server and settings, no socket timeout.

    redis-py gives every client a socket timeout (5 s in redis-py 8): a write to a server
    that is alive but busy (a slow disk, a fork, a paused process) would be abandoned and
    its points reported lost. Writes wait instead; a server that is gone still fails them
    at once (connection refused or closed), and over TCP, keepalive probes find a peer
    that vanished from the network. It also sends large values (batches of points) without
    copying them. One twin per client, not one per publisher.
    """
    twin = _publisher_twins.get(client)
    if twin is None:
        kwargs = client.connection_pool.connection_kwargs
        overrides: dict = {"socket_timeout": None}
        packer = _zero_copy_packer(kwargs)
        if packer is not None:
            overrides["command_packer"] = packer
        if not kwargs.get("path"):
            import socket

            options = {}
            for name, value in (
                ("TCP_KEEPIDLE", _KEEPALIVE_IDLE_S),
                ("TCP_KEEPINTVL", _KEEPALIVE_INTERVAL_S),
                ("TCP_KEEPCNT", _KEEPALIVE_PROBES),
            ):
                if hasattr(socket, name):
                    options[getattr(socket, name)] = value
            overrides.update(socket_keepalive=True, socket_keepalive_options=options)
        twin = _twin(client, **overrides)
        pool = twin.connection_pool
        pool.connection_class = _fewer_writes_class(pool.connection_class)
        _publisher_twins[client] = twin
    return twin


class _FewerWrites:
    """Mixin for a redis-py connection class: a pipeline goes out in a few writes.

    redis-py writes every large value and every memoryview with a system call of its own,
    so a transaction of 22 channels took 44 writes, each waking the server; consecutive
    pieces shorter than _JOIN_BELOW are joined into one write (a copy of a few KiB), longer
    ones are written as they are.
    """

    def send_packed_command(self, command, check_health=True):
        if not isinstance(command, str | bytes) and len(command) > 1:
            joined, run = [], []
            for item in command:
                if len(item) < _JOIN_BELOW:
                    run.append(item)
                    continue
                if run:
                    joined.append(b"".join(run))
                    run = []
                joined.append(item)
            if run:
                joined.append(b"".join(run))
            command = joined
        return super().send_packed_command(command, check_health)


def _fewer_writes_class(connection_class: type) -> type:
    cls = _publisher_classes.get(connection_class)
    if cls is None:
        cls = type(f"Publishing{connection_class.__name__}", (_FewerWrites, connection_class), {})
        _publisher_classes[connection_class] = cls
    return cls


def _zero_copy_packer(kwargs: dict):
    """redis-py's pure-Python command packer, which hands a large argument (a batch's
    payload, a memoryview of the scan's own numpy buffer) to the socket as it is; the
    hiredis packer copies it twice into fresh memory, which was most of the cost of
    publishing spectra. None (redis-py's default packer) if this redis-py has no such
    class."""
    try:
        from redis.connection import Encoder, PythonRespSerializer
    except ImportError:
        return None
    encoder = Encoder(
        kwargs.get("encoding", "utf-8"), kwargs.get("encoding_errors", "strict"), False
    )
    return PythonRespSerializer(_BUFFER_CUTOFF, encoder.encode)
