"""The app's screens: the main screens (one per mode) and the call detail modal."""

from calltui.tui.screens.base import DataScreen
from calltui.tui.screens.calls import (
    CallsScreen,
    all_calls_screen,
    missing_screen,
    unmatched_screen,
)
from calltui.tui.screens.detail import DetailScreen
from calltui.tui.screens.log import LogScreen
from calltui.tui.screens.overview import OverviewScreen
from calltui.tui.screens.sessions import UnmatchedSessionsScreen
from calltui.tui.screens.touchpoints import TouchpointsScreen

__all__ = [
    "CallsScreen",
    "DataScreen",
    "DetailScreen",
    "LogScreen",
    "OverviewScreen",
    "TouchpointsScreen",
    "UnmatchedSessionsScreen",
    "all_calls_screen",
    "missing_screen",
    "unmatched_screen",
]
