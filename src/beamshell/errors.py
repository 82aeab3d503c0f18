"""Exception types shared by every layer: each carries a one-line, operator-readable message."""


class BeamshellError(Exception):
    """Base of errors that the shell reports as one line, without a traceback."""


class ConfigError(BeamshellError):
    """A configuration file is wrong; the message names the file and line."""

    def __init__(
        self,
        message: str,
        filename: str | None = None,
        line: int | None = None,
        name: str | None = None,
    ):
        self.filename = filename
        self.line = line
        self.name = name
        where = ""
        if filename:
            where = f"{filename}:{line}: " if line else f"{filename}: "
        subject = f"object '{name}': " if name else ""
        super().__init__(f"{where}{subject}{message}")
        self.reason = message


class RedisUnreachable(BeamshellError):
    """Redis cannot be reached; the message names the URL tried and what to do."""

    def __init__(self, url: str, reason: str, hint: str | None = None):
        self.url = url
        hint = hint or (
            "start the embedded server with 'beamshell server start [--config DIR]' "
            "or point BEAMSHELL_REDIS_URL at a running Redis"
        )
        super().__init__(f"Redis not reachable at {url} ({reason}): {hint}")
