"""The live plot server: one process per session, serving a web page that follows its scans.

Imports only `beamshell.data`, `beamshell.config` and `beamshell.analysis` (never the shell,
hardware or scanning packages), so that it runs beside a session without touching it.
"""
