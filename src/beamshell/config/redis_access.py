"""How beamshell reaches a Redis: secrets masked for display, the password, the key prefix, one-line errors.

Everything that shows a Redis URL (banner, errors, `listen`, logs, tracebacks) passes it
through `mask_secrets`. A password is taken from the URL, else `BEAMSHELL_REDIS_PASSWORD`,
else the `redis_password_file:` of the configuration's root `__init__.yml` (refused when
others may read it), and handed to redis-py apart from the URL, so the URL itself can be
shown and committed. Every key of a configuration starts with its `redis_key_prefix:`,
which lets a site give each configuration a Redis ACL user limited to `~<prefix>:*`.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Self
from urllib.parse import parse_qs, urlparse

import redis
from redis.exceptions import AuthenticationWrongNumberOfArgsError, NoPermissionError

if TYPE_CHECKING:
    from beamshell.errors import RedisAccessDenied, RedisUnreachable

REDIS_URL_ENV = "BEAMSHELL_REDIS_URL"
PASSWORD_ENV = "BEAMSHELL_REDIS_PASSWORD"
KEY_PREFIX_ENV = "BEAMSHELL_REDIS_KEY_PREFIX"
CONFIG_ENV = "BEAMSHELL_CONFIG"
ROOT_FILE = "__init__.yml"
MASK = "***"

# `scheme://user:secret@host`: the secret runs to the last '@' before the path.
_URL_SECRET = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*:)[^\s/]*@")
# `?password=secret` or `&password=secret`, which redis-py also accepts.
_QUERY_SECRET = re.compile(r"(?P<head>[?&]password=)[^&\s#]*", re.IGNORECASE)
# Letters, digits and `_.-`, in parts joined by ':'; no glob characters an ACL would read.
_PREFIX_RULE = re.compile(r"[A-Za-z0-9_.-]+(?::[A-Za-z0-9_.-]+)*")


def mask_secrets(text: str) -> str:
    """`text` with the password of every URL in it replaced by `***` (user names stay)."""
    text = _URL_SECRET.sub(lambda match: f"{match['head']}{MASK}@", text)
    return _QUERY_SECRET.sub(lambda match: f"{match['head']}{MASK}", text)


def url_has_password(url: str) -> bool:
    parsed = urlparse(url)
    return bool(parsed.password) or bool(parse_qs(parsed.query).get("password"))


def root_settings(config_dir: Path | None) -> dict[str, Any]:
    """The root `__init__.yml` of a configuration as a plain mapping ({} if absent or broken).

    A broken file is reported with its line by the configuration loader; here it only means
    that no Redis setting can be read from it.
    """
    if config_dir is None:
        return {}
    path = Path(config_dir) / ROOT_FILE
    if not path.is_file():
        return {}
    import yaml

    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    return data if isinstance(data, dict) else {}


def config_dir_from_env() -> Path | None:
    value = os.environ.get(CONFIG_ENV)
    return Path(value).expanduser() if value else None


# -- key prefix -----------------------------------------------------------------------------


def check_key_prefix(prefix: str, where: str) -> str:
    """`prefix` if it is a valid key prefix; ConfigError naming `where` otherwise."""
    if not isinstance(prefix, str) or not _PREFIX_RULE.fullmatch(prefix):
        from beamshell.errors import ConfigError

        raise ConfigError(
            f"redis_key_prefix {prefix!r} is not a valid prefix: use letters, digits and "
            "'_.-', in parts joined by ':' (e.g. 'bl01' or 'site:bl01')",
            where,
        )
    return prefix


def configured_key_prefix(config_dir: Path | None) -> str:
    """The prefix of every Redis key of a configuration, with its ':' ('' when none is set).

    `BEAMSHELL_REDIS_KEY_PREFIX`, else `redis_key_prefix:` in the root `__init__.yml`.
    """
    value = os.environ.get(KEY_PREFIX_ENV)
    where = KEY_PREFIX_ENV
    if not value:
        value = root_settings(config_dir).get("redis_key_prefix")
        where = str(Path(config_dir or ".") / ROOT_FILE)
    if value in (None, ""):
        return ""
    return check_key_prefix(str(value), where) + ":"


def key_prefix_of(client: Any) -> str:
    """The key prefix a client made by `connect()` carries ('' for any other client)."""
    return getattr(client, "key_prefix", "") or ""


# -- password -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Credentials:
    """The password for a URL (None: the URL's own or none) and where it was found."""

    password: str | None = field(default=None, repr=False)
    source: str = ""


def read_password_file(path: Path) -> str:
    """The first line of a password file that only its owner (and group) may read."""
    from beamshell.errors import ConfigError

    try:
        mode = path.stat().st_mode
        if mode & (stat.S_IROTH | stat.S_IWOTH | stat.S_IXOTH):
            raise ConfigError(
                f"redis_password_file {path} is readable by others "
                f"(mode {stat.S_IMODE(mode):04o}): run 'chmod o-rwx {path}'"
            )
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ConfigError(
            f"redis_password_file {path} cannot be read ({exc.strerror or exc})"
        ) from None
    except UnicodeDecodeError:
        raise ConfigError(f"redis_password_file {path} is not UTF-8 text") from None
    password = lines[0].strip() if lines else ""
    if not password:
        raise ConfigError(f"redis_password_file {path} is empty")
    return password


def find_credentials(url: str, config_dir: Path | None) -> Credentials:
    """The password for `url`: its own, else BEAMSHELL_REDIS_PASSWORD, else the config's file."""
    if url_has_password(url):
        return Credentials(None, _url_source(url, config_dir))
    password = os.environ.get(PASSWORD_ENV)
    if password:
        return Credentials(password, PASSWORD_ENV)
    relative = root_settings(config_dir).get("redis_password_file")
    if relative:
        path = Path(config_dir or ".") / Path(str(relative)).expanduser()
        return Credentials(read_password_file(path), f"redis_password_file {path}")
    return Credentials()


def _url_source(url: str, config_dir: Path | None) -> str:
    if os.environ.get(REDIS_URL_ENV) == url:
        return REDIS_URL_ENV
    if root_settings(config_dir).get("redis_url") == url:
        return f"redis_url in {Path(config_dir or '.') / ROOT_FILE}"
    return "the password in the Redis URL"


# -- the client and its errors --------------------------------------------------------------

_NO_PASSWORD_HINT = (
    f"set {PASSWORD_ENV}, redis_password_file in the root {ROOT_FILE}, or a password in the URL"
)


class BeamshellRedis(redis.Redis):
    """A redis-py client made by `connect()`; it also knows how to describe itself.

    `key_prefix` starts every key of the configuration (settings and scan data),
    `display_url` is the URL with its secret masked, and `failure(exc)` turns a redis-py
    error into the one-line error the operator sees.
    """

    key_prefix: str = ""
    display_url: str = ""
    credentials_source: str = ""
    unreachable_hint: str | None = None

    def describe(
        self, *, key_prefix: str, display_url: str, credentials: Credentials, hint: str | None
    ) -> Self:
        self.key_prefix = key_prefix
        self.display_url = display_url
        self.credentials_source = credentials.source
        self.unreachable_hint = hint
        return self

    def same_identity(self, other: BeamshellRedis) -> BeamshellRedis:
        """Take the prefix, URL and hints of `other` (a twin on another connection pool)."""
        self.key_prefix = other.key_prefix
        self.display_url = other.display_url
        self.credentials_source = other.credentials_source
        self.unreachable_hint = other.unreachable_hint
        return self

    def failure(
        self, exc: BaseException, in_session: bool = False
    ) -> RedisAccessDenied | RedisUnreachable | None:
        """The one-line BeamshellError for a redis-py failure of this client, or None."""
        hint = self.unreachable_hint
        if in_session:
            hint = f"{hint or default_unreachable_hint()}; commands work again once it answers"
        return redis_failure(
            exc,
            self.display_url,
            credentials_source=self.credentials_source,
            key_prefix=self.key_prefix,
            hint=hint,
        )


def default_unreachable_hint() -> str:
    return (
        "start the embedded server with 'beamshell server start [--config DIR]' "
        f"or point {REDIS_URL_ENV} at a running Redis"
    )


def reason_of(exc: BaseException) -> str:
    """The first line of an exception's message (its type name if it has none)."""
    lines = str(exc).strip().splitlines()
    return mask_secrets(lines[0]) if lines else type(exc).__name__


# What Redis (6.2 and 7) names in a NOPERM reply: a command, a key or a channel.
_REFUSED_COMMAND = re.compile(r"to run the '([^']+)' command")


def _acl_advice(reason: str, key_prefix: str) -> str:
    """What the ACL user of a refused command lacks, by what the refusal names."""
    refused = _REFUSED_COMMAND.search(reason)
    if refused:
        return (
            f"the ACL user may not run '{refused[1]}': give it the rule of beamshell's "
            "README ('A site Redis')"
        )
    if "channel" in reason:
        return "the ACL user needs '&__redis__:invalidate' (settings shared between processes)"
    prefix = key_prefix.rstrip(":")
    if prefix:
        return f"this configuration's keys start with '{prefix}:': the ACL user needs '~{prefix}:*'"
    return (
        f"this configuration has no redis_key_prefix: set one in the root {ROOT_FILE} "
        "and give the ACL user '~<prefix>:*'"
    )


def redis_failure(
    exc: BaseException,
    url: str,
    *,
    credentials_source: str = "",
    key_prefix: str = "",
    hint: str | None = None,
) -> RedisAccessDenied | RedisUnreachable | None:
    """The one-line error for a failure to use Redis at `url`, or None if `exc` is no such failure.

    Credentials refused, a command refused by the ACL, a timeout and a connection that cannot
    be made each have their own message and advice.
    """
    from beamshell.errors import RedisAccessDenied, RedisTimeout, RedisUnreachable

    if isinstance(exc, RedisAccessDenied | RedisUnreachable):
        return exc
    if isinstance(exc, redis.AuthenticationError | AuthenticationWrongNumberOfArgsError):
        if credentials_source:
            return RedisAccessDenied(
                url, "refused the credentials", reason_of(exc), f"check {credentials_source}"
            )
        return RedisAccessDenied(
            url, "needs a password", "authentication required", _NO_PASSWORD_HINT
        )
    if isinstance(exc, NoPermissionError):
        return RedisAccessDenied(
            url, "refused a command", reason_of(exc), _acl_advice(reason_of(exc), key_prefix)
        )
    if isinstance(exc, redis.TimeoutError):
        return RedisTimeout(url, reason_of(exc))
    if isinstance(exc, redis.ConnectionError):
        return RedisUnreachable(url, reason_of(exc), hint)
    return None
