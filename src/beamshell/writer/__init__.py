"""The HDF5/NeXus writer process: follows a session's scans in Redis and writes their files.

It imports beamshell.data and beamshell.config only (never the shell, hardware or scanning
packages): it runs beside the shell, and a crash of one never stops the other.
"""
