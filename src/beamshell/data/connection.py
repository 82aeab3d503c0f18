"""How a reading process finds its Redis: an explicit client or URL, the environment, the config."""

from __future__ import annotations

import os
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import redis

if TYPE_CHECKING:
    from redis.typing import XReadResponse

REDIS_URL_ENV = "BEAMSHELL_REDIS_URL"
CONFIG_ENV = "BEAMSHELL_CONFIG"

_binary_twins: weakref.WeakKeyDictionary[redis.Redis, redis.Redis] = weakref.WeakKeyDictionary()

# One stream entry as XRANGE, XREVRANGE and XREAD give it: (ID, fields). redis-py's types
# allow None for both, which only XCLAIM and XREADGROUP give (for a deleted entry).
StreamEntry = tuple[bytes | str, dict[bytes | str, bytes | str]]
# A stream read by XREAD: (its key, its new entries).
StreamReply = tuple[bytes | str, list[StreamEntry]]


def reply_text(value: bytes | str, errors: str = "strict") -> str:
    """An item of a Redis reply as text, whether or not the client decodes responses."""
    return value.decode(errors=errors) if isinstance(value, bytes) else value


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
    # A client made by connect() knows its hints.
    failure: Callable[[BaseException], Exception | None] | None = getattr(client, "failure", None)
    if failure is not None:
        return failure(exc)
    from beamshell.config.redis_access import redis_failure

    error: Exception | None = redis_failure(exc, describe_url(client))
    return error


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
            twin = twin_client(connection, decode_responses=False)
            _binary_twins[connection] = twin
        return twin
    from beamshell.config.redis_server import connect

    # The password and the key prefix come from the environment or $BEAMSHELL_CONFIG.
    return connect(redis_url or default_redis_url())


def twin_client(client: redis.Redis, **overrides: Any) -> redis.Redis:
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


def stream_replies(reply: XReadResponse) -> list[StreamReply]:
    """XREAD's reply as (stream key, entries) pairs, whatever the protocol: RESP2 lists the
    pairs; RESP3 maps each key to its entries, or (redis-py's RESP3 shape with its legacy
    responses) to a list that holds its entries."""
    if not isinstance(reply, dict):
        return [(key, entries) for key, entries in reply or []]
    pairs: list[StreamReply] = []
    for key, entries in reply.items():
        if entries and isinstance(entries[0], list):
            entries = [entry for part in entries for entry in part]
        pairs.append((key, cast(list[StreamEntry], entries)))
    return pairs
