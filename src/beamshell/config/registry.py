"""Short `class:` names and how a class path from the configuration becomes a Python class.

Only names listed here, or dotted paths inside the packages the configuration allows,
create objects: nothing else in a YAML file can make beamshell import code.
"""

from __future__ import annotations

import importlib
from typing import Any

from beamshell.errors import ConfigError

# Short name -> "module:attribute". Strings, so that reading the registry imports nothing.
BUILTIN_CLASSES: dict[str, str] = {
    "Session": "beamshell.sessions.session_config:SessionConfig",
    "mockup": "beamshell.hardware.mockup:MockupController",
    "simulation_diode": "beamshell.hardware.simulation_counters:SimulationDiode",
    "simulation_gaussian": "beamshell.hardware.simulation_counters:SimulationGaussian",
    "simulation_beam_monitor": "beamshell.hardware.simulation_counters:SimulationBeamMonitor",
    "simulation_mca": "beamshell.hardware.simulation_counters:SimulationMca",
    "simulation_shutter": "beamshell.hardware.shutter:SimulationShutter",
    "MeasurementGroup": "beamshell.hardware.measurement_group:MeasurementGroup",
}

# Dotted paths are accepted from these top-level packages, plus the config's `packages:`.
ALWAYS_ALLOWED_PACKAGES = ("beamshell",)


def resolve_class(
    spec: str,
    allowed_packages: tuple[str, ...] = (),
    *,
    filename: str | None = None,
    line: int | None = None,
    name: str | None = None,
) -> type[Any]:
    """The class for a `class:` value: a registered short name or an allowed dotted path."""
    if spec in BUILTIN_CLASSES:
        module_name, _, attr = BUILTIN_CLASSES[spec].partition(":")
    elif "." in spec:
        module_name, _, attr = spec.rpartition(".")
        package = module_name.split(".")[0]
        if package not in ALWAYS_ALLOWED_PACKAGES + tuple(allowed_packages):
            raise ConfigError(
                f"class '{spec}' is outside the allowed packages "
                f"({', '.join(ALWAYS_ALLOWED_PACKAGES + tuple(allowed_packages))}); "
                "add its package to 'packages:' in the root __init__.yml",
                filename,
                line,
                name,
            )
    else:
        known = ", ".join(sorted(BUILTIN_CLASSES))
        raise ConfigError(f"unknown class '{spec}' (known: {known})", filename, line, name)
    try:
        module = importlib.import_module(module_name)
        cls: type[Any] = getattr(module, attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"cannot import class '{spec}': {exc}", filename, line, name) from None
    return cls
