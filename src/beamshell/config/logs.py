"""Where beamshell's detached processes keep their logs, and the rotating handler they use."""

from __future__ import annotations

import hashlib
import logging
import logging.handlers
import os
from pathlib import Path

from beamshell.config.redis_access import mask_secrets

STATE_ENV = "XDG_STATE_HOME"
MAX_LOG_BYTES = 5 * 1024 * 1024
LOG_BACKUPS = 3
_FORMAT = "%(asctime)s %(process)d %(name)s %(levelname)s %(message)s"


def state_dir() -> Path:
    """`$XDG_STATE_HOME/beamshell` (default `~/.local/state/beamshell`), created if needed."""
    base = os.environ.get(STATE_ENV) or str(Path.home() / ".local" / "state")
    path = Path(base) / "beamshell"
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def config_key(config_dir: Path) -> str:
    """A short stable name for a configuration directory (logs of two configs never mix)."""
    return hashlib.sha1(str(Path(config_dir).resolve()).encode()).hexdigest()[:8]


def log_path(kind: str, config_dir: Path, session: str | None = None) -> Path:
    """The log of one detached process: `<state dir>/<kind>[-<session>]-<config key>.log`."""
    parts = [kind, session, config_key(config_dir)]
    return state_dir() / ("-".join(part for part in parts if part) + ".log")


class MaskingFormatter(logging.Formatter):
    """Formats records (tracebacks included) with every Redis password masked."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_secrets(super().format(record))


def log_to_file(path: Path, level: int = logging.INFO) -> logging.Handler:
    """Send the `beamshell` loggers of this process to `path`, rotated at MAX_LOG_BYTES."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=MAX_LOG_BYTES, backupCount=LOG_BACKUPS, encoding="utf-8"
    )
    handler.setFormatter(MaskingFormatter(_FORMAT))
    logger = logging.getLogger("beamshell")
    logger.addHandler(handler)
    logger.setLevel(level)
    return handler


def rotate_if_large(path: Path, max_bytes: int | None = None) -> bool:
    """Rotate a log another program appends to (`path` -> `path.1` ...) once it is too big.

    For a process that reopens its log for each write (redis-server does), so that the
    next line starts a fresh file; the backups are those of `log_to_file`.
    """
    limit = MAX_LOG_BYTES if max_bytes is None else max_bytes
    try:
        if path.stat().st_size < limit:
            return False
    except FileNotFoundError:
        return False
    handler = logging.handlers.RotatingFileHandler(
        path, maxBytes=limit, backupCount=LOG_BACKUPS, delay=True, encoding="utf-8"
    )
    try:
        handler.doRollover()
    finally:
        handler.close()
    return True
