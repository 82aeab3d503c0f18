"""Redis's invalidation messages for a key prefix, followed by one greenlet (client tracking).

Redis (6 and later) tells a client which keys changed when it asks with
`CLIENT TRACKING ON BCAST PREFIX <prefix>`: after every write to a key under the prefix,
by any client, a message naming the key goes to the tracking connection (a null one after
FLUSHALL/FLUSHDB). No server configuration is needed (unlike keyspace notifications), and
nothing polls: the greenlet sleeps in a select until a message or a keep-alive is due.

The feed uses its own connection in RESP2 with REDIRECT to itself, subscribed to
`__redis__:invalidate`, so that it works whatever protocol the other clients speak.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import gevent
import redis

INVALIDATE_CHANNEL = b"__redis__:invalidate"
# With nothing received for this long, ask the server (PING); no answer within another
# such period means the connection is dead, although the socket does not say so.
KEEPALIVE_S = 15.0


class FeedUnavailable(Exception):
    """The feed could not start: Redis unreachable (retry later) or without tracking."""

    def __init__(self, reason: str, permanent: bool):
        super().__init__(reason)
        self.permanent = permanent


def _invalidated_keys(message: object) -> list[str] | None | Literal[False]:
    """The keys an invalidation message names (None: every key); False for other messages."""
    if not isinstance(message, list) or len(message) != 3 or message[0] != b"message":
        return False
    if message[1] != INVALIDATE_CHANNEL:
        return False
    keys = message[2]
    if keys is None:
        return None
    return [key.decode() if isinstance(key, bytes) else str(key) for key in keys]


class InvalidationFeed:
    """Calls `on_invalidate(keys)` for every change under `prefix` (keys None: all of them).

    When the connection is lost, `running` becomes False and `on_lost()` is called once
    (changes may have been missed from then on); the owner starts a new feed when it can.
    """

    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        on_invalidate: Callable[[list[str] | None], None],
        on_lost: Callable[[], None],
    ):
        self._on_invalidate = on_invalidate
        self._on_lost = on_lost
        self._closing = False
        self.running = False
        pool = client.connection_pool
        options = dict(pool.connection_kwargs, protocol=2)
        self._connection = pool.connection_class(**options)
        try:
            self._subscribe(prefix)
        except redis.ResponseError as exc:
            self._connection.disconnect()
            raise FeedUnavailable(f"no client tracking: {exc}", permanent=True) from None
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            self._connection.disconnect()
            raise FeedUnavailable(str(exc), permanent=False) from None
        self.running = True
        self._greenlet = gevent.spawn(self._follow)

    def _subscribe(self, prefix: str) -> None:
        connection = self._connection
        connection.connect()
        connection.send_command("CLIENT", "ID")
        client_id = connection.read_response()
        connection.send_command(
            "CLIENT", "TRACKING", "ON", "REDIRECT", client_id, "BCAST", "PREFIX", prefix
        )
        connection.read_response()
        connection.send_command("SUBSCRIBE", INVALIDATE_CHANNEL)
        connection.read_response()

    def _follow(self) -> None:
        connection = self._connection
        pinged = False
        try:
            while True:
                if not connection.can_read(timeout=KEEPALIVE_S):
                    if pinged:
                        return  # the server stopped answering
                    connection.send_command("PING")
                    pinged = True
                    continue
                pinged = False
                keys = _invalidated_keys(connection.read_response())
                if keys is not False:
                    self._on_invalidate(keys)
        except (redis.ConnectionError, redis.TimeoutError, OSError):
            return  # lost: see finally
        finally:
            self.running = False
            connection.disconnect()
            if not self._closing:
                self._on_lost()

    def close(self) -> None:
        """Stop following; the connection is closed (Redis then stops tracking for it)."""
        self._closing = True
        self.running = False
        if gevent.getcurrent() is not self._greenlet:
            self._greenlet.kill()
        self._connection.disconnect()
