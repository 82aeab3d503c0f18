"""Scans: acquisition chain, Scan, presets, standard scans, groups, the live table."""
