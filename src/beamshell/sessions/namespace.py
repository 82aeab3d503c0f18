"""The names an operator finds in a session without importing anything."""

from __future__ import annotations

from typing import TYPE_CHECKING

from beamshell.sessions.active_mg import ActiveMeasurementGroup
from beamshell.sessions.inventory import Inventory
from beamshell.sessions.listing import ListingCommands
from beamshell.sessions.motion_commands import MotionCommands
from beamshell.sessions.plot_page import PlotPage

if TYPE_CHECKING:
    from beamshell.scanning.context import ScanEnvironment
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

ALIGNMENT_COMMANDS = (
    "peak",
    "trough",
    "com",
    "cen",
    "fwhm",
    "goto_peak",
    "goto_min",
    "goto_com",
    "goto_cen",
    "goto_custom",
)


def build_namespace(session: Session) -> None:
    """Fill `session.env_dict` with config, scan tools and the everyday commands."""
    env = session.env_dict
    inventory = Inventory(env)
    active_mg = ActiveMeasurementGroup(session.name, session.config.settings, inventory)
    motion = MotionCommands(inventory)
    listing = ListingCommands(inventory, session.config, active_mg.get)

    def set_active_mg(group: object) -> None:
        """Make `group` the measurement group that scans use when no counter is given."""
        active_mg.set(group)
        env["ACTIVE_MG"] = group

    def active_mg_changed() -> None:
        # Set in another shell of the session: ACTIVE_MG follows here too.
        if "ACTIVE_MG" in env:
            env["ACTIVE_MG"] = active_mg.get()

    session.config.settings.on_change(active_mg.setting_name, active_mg_changed)

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
        plot_page=PlotPage(session),
    )
    scan_env = _add_scanning(session, active_mg)
    _add_alignment(session, scan_env, inventory, motion)


def _add_scanning(session: Session, active_mg: ActiveMeasurementGroup) -> ScanEnvironment:
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
    user = user_name()
    writer = session.file_writer
    scan_saving = ScanSaving(
        session.name,
        config.settings,
        defaults=session.session_config.scan_saving if session.session_config else None,
        user=user,
        writer_status=writer.describe,
    )
    scan_env = ScanEnvironment(
        session_name=session.name,
        user=user,
        redis=config.redis,
        settings=config.settings,
        scan_saving=scan_saving,
        active_mg=active_mg.get,
        data_expiration=int(config.root.get("scan_data_expiration", 86400)),
        lease_time=float(config.root.get("scan_lease_time", DEFAULT_LEASE_TIME_S)),
        axes=session.axes,
        writer_state=writer.state,
    )
    set_default_environment(scan_env)
    session.scan_env = scan_env
    env = session.env_dict
    env.update(
        SCANS=scan_env.scans,
        SCAN_SAVING=scan_saving,
        newproposal=scan_saving.newproposal,
        newsample=scan_saving.newsample,
        newdataset=scan_saving.newdataset,
        Group=Group,
        Sequence=Sequence,
        ScanPreset=ScanPreset,
        ChainPreset=ChainPreset,
        ChainIterationPreset=ChainIterationPreset,
        AcquisitionChannel=AcquisitionChannel,
    )
    env.update({name: getattr(scans, name) for name in STANDARD_SCANS})
    return scan_env


def _add_alignment(
    session: Session, scan_env: ScanEnvironment, inventory: Inventory, motion: MotionCommands
) -> None:
    """plotselect, the peak tools, goto_*, where and plot (docs/alignment.md)."""
    from beamshell.sessions.alignment import AlignmentCommands
    from beamshell.sessions.live_plot import LivePlot
    from beamshell.sessions.plot_command import PlotCommand
    from beamshell.sessions.plotselect import PlotSelection

    selection = PlotSelection(session.name, session.config.settings, inventory, scan_env.scans)
    scan_env.plotselect = selection.names
    tools = AlignmentCommands(scan_env.scans, motion.umv)
    session.live_plot = LivePlot(scan_env)  # the shell draws it above its toolbar
    plotting = PlotCommand(scan_env.scans, session.live_plot)
    session.env_dict.update(
        plotselect=selection.plotselect,
        plot=plotting.plot,
        where=tools.where,
        **{name: getattr(tools, name) for name in ALIGNMENT_COMMANDS},
    )
