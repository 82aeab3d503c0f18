"""Devices: axes, counters, measurement groups, shutters and their simulated controllers."""
