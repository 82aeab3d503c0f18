"""beamshell: a control shell for synchrotron beamlines."""

__version__ = "0.1.0"
