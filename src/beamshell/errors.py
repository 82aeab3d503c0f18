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


def _masked(url: str) -> str:
    # Imported here: the config package imports this module.
    from beamshell.config.redis_access import mask_secrets

    return mask_secrets(str(url))


class RedisUnreachable(BeamshellError):
    """Redis cannot be reached; the message names the URL tried (secret masked) and what to do."""

    def __init__(self, url: str, reason: str, hint: str | None = None):
        self.url = _masked(url)
        self.reason = _masked(reason)
        hint = hint or (
            "start the embedded server with 'beamshell server start [--config DIR]' "
            "or point BEAMSHELL_REDIS_URL at a running Redis"
        )
        super().__init__(f"Redis not reachable at {self.url} ({self.reason}): {_masked(hint)}")


class RedisTimeout(RedisUnreachable):
    """Redis did not answer in time: a host that drops packets, a stalled server or network."""

    def __init__(self, url: str, reason: str, hint: str | None = None):
        self.url = _masked(url)
        self.reason = _masked(reason)
        hint = hint or (
            "check the host and port, that the server is not stalled, "
            "and that no firewall drops the packets"
        )
        BeamshellError.__init__(
            self, f"Redis at {self.url} did not answer in time ({self.reason}): {_masked(hint)}"
        )


class RedisAccessDenied(BeamshellError):
    """Redis answers but refuses: wrong or missing credentials, or a command its ACL forbids."""

    def __init__(self, url: str, what: str, reason: str, hint: str):
        self.url = _masked(url)
        self.reason = _masked(reason)
        super().__init__(f"Redis at {self.url} {what} ({self.reason}): {_masked(hint)}")
