"""`plot_page()` at the prompt: the session's live plot page (its server started if needed)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from beamshell.sessions.session import Session


class PlotPage:
    """Callable as `plot_page()`: start the plot server unless it runs, print and open its URL."""

    def __init__(self, session: Session):
        self._session = session

    def __call__(self, open_browser: bool = True) -> str:
        """Start this session's plot server if needed; print its URL, open it on a desktop.

        Returns the URL (with its token: give it only to people who may watch the scans).
        """
        # Imported here: the shell starts without the plotting package.
        from beamshell.plotting import control

        session = self._session
        status = control.start_plot_server(
            session.name, session.config.root_dir, redis_url=session.config.redis_url
        )
        url: str = status["url"]
        verb = "started" if status["started"] else "running"
        print(f"Live plot of session '{session.name}' ({verb}): {url}")
        opened = (
            control.open_page(session.name, session.config.root_dir, url) if open_browser else ""
        )
        if opened:
            print(opened[0].upper() + opened[1:] + ".")
        return url

    def __repr__(self) -> str:
        return "plot_page(): print (and open) the URL of this session's live plot page"
