"""Sessions: a configuration's session entry loaded into an operator's namespace."""

from beamshell.sessions.session import Session, list_sessions, load_session

__all__ = ["Session", "list_sessions", "load_session"]
