"""The names an operator finds in a session without importing anything."""

from __future__ import annotations

from typing import TYPE_CHECKING

from beamshell.sessions.active_mg import ActiveMeasurementGroup
from beamshell.sessions.inventory import Inventory
from beamshell.sessions.listing import ListingCommands
from beamshell.sessions.motion_commands import MotionCommands

if TYPE_CHECKING:
    from beamshell.sessions.session import Session

STANDARD_SCANS = (
    "ct",
    "loopscan",
    "timescan",
    "ascan",
    "dscan",
    "a2scan",
    "d2scan",
    "amesh",
    "dmesh",
    "lookupscan",
    "pointscan",
)


def build_namespace(session: Session) -> None:
    """Fill `session.env_dict` with config, scan tools and the everyday commands."""
    env = session.env_dict
    inventory = Inventory(env)
    active_mg = ActiveMeasurementGroup(session.name, session.config.settings, inventory)
    motion = MotionCommands(inventory)
    listing = ListingCommands(inventory, session.config, active_mg.get)

    def set_active_mg(group) -> None:
        """Make `group` the measurement group that scans use when no counter is given."""
        active_mg.set(group)
        env["ACTIVE_MG"] = group

    env.update(
        config=session.config,
        ACTIVE_MG=None,
        set_active_mg=set_active_mg,
        last_error=session.error_history.last_error,
        user_script_run=session.user_script_run,
        user_script_load=session.user_script_load,
        mv=motion.mv,
        umv=motion.umv,
        mvr=motion.mvr,
        umvr=motion.umvr,
        sync=motion.sync,
        wa=listing.wa,
        wm=listing.wm,
        lscnt=listing.lscnt,
        lsconfig=listing.lsconfig,
        lsmg=listing.lsmg,
    )
    _add_scanning(session, active_mg)


def _add_scanning(session: Session, active_mg: ActiveMeasurementGroup) -> None:
    from beamshell.scanning import scans
    from beamshell.scanning.chain import AcquisitionChannel, ChainIterationPreset, ChainPreset
    from beamshell.scanning.context import (
        DEFAULT_LEASE_TIME_S,
        ScanEnvironment,
        set_default_environment,
    )
    from beamshell.scanning.group import Group, Sequence
    from beamshell.scanning.saving import ScanSaving
    from beamshell.scanning.scan import ScanPreset
    from beamshell.sessions.session import user_name

    config = session.config
    scan_env = ScanEnvironment(
        session_name=session.name,
        user=user_name(),
        redis=config.redis,
        settings=config.settings,
        scan_saving=ScanSaving(session.name, config.settings),
        active_mg=active_mg.get,
        data_expiration=int(config.root.get("scan_data_expiration", 86400)),
        lease_time=float(config.root.get("scan_lease_time", DEFAULT_LEASE_TIME_S)),
    )
    set_default_environment(scan_env)
    session.scan_env = scan_env
    env = session.env_dict
    env.update(
        SCANS=scan_env.scans,
        SCAN_SAVING=scan_env.scan_saving,
        Group=Group,
        Sequence=Sequence,
        ScanPreset=ScanPreset,
        ChainPreset=ChainPreset,
        ChainIterationPreset=ChainIterationPreset,
        AcquisitionChannel=AcquisitionChannel,
    )
    env.update({name: getattr(scans, name) for name in STANDARD_SCANS})
