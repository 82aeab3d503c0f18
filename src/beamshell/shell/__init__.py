"""The interactive shell and the `beamshell` command line."""
