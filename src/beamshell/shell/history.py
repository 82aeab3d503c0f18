"""Where a session's command history is kept across restarts."""

from __future__ import annotations

import os
from pathlib import Path

HISTORY_DIR_ENV = "BEAMSHELL_HISTORY_DIR"


def history_file(session_name: str) -> Path:
    """`$BEAMSHELL_HISTORY_DIR/<session>`, else `~/.beamshell/history/<session>` (dir created)."""
    directory = os.environ.get(HISTORY_DIR_ENV)
    base = Path(directory) if directory else Path.home() / ".beamshell" / "history"
    base = base.expanduser()
    base.mkdir(parents=True, exist_ok=True)
    return base / session_name
