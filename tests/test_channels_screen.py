"""The Channels chart screen, mounted on its own in a small host app."""

from __future__ import annotations

from pathlib import Path

from textual.app import App
from textual.reactive import reactive
from textual.widgets import Static

from calltui import store
from calltui.channels import channel_report
from calltui.config import Config
from calltui.tui.screens.channels import ChannelsScreen, channel_chart, week_chart
from calltui.tui.state import AppState
from tests.action_data import matched_db


class Host(App[None]):
    busy = reactive("")

    def __init__(self, state: AppState) -> None:
        super().__init__()
        self.state = state

    def on_mount(self) -> None:
        self.push_screen(ChannelsScreen(self.state))


def test_charts_scale_to_the_busiest_channel(tmp_path: Path) -> None:
    db = store.open_db(matched_db(tmp_path))
    report = channel_report(db)
    chart = channel_chart(report, width=8)
    lines = chart.splitlines()
    no_session = next(line for line in lines if line.startswith("(no session)"))
    assert no_session.count("█") == 8 and no_session.endswith(" 4  0% matched")
    paid = next(line for line in lines if line.startswith("Paid Search.AdWords"))
    assert "[green]██[/]" in paid and "100% matched" in paid
    weeks = week_chart(report, width=10).splitlines()
    assert weeks[2].startswith("2026-W10 [green]██[/][bright_black]░░░░░░░░[/]")
    assert "25.0%  (1 of 4)" in weeks[2]
    assert "0.0%  (0 of 2)" in weeks[3]


async def test_screen_shows_both_charts(tmp_path: Path) -> None:
    db_path = matched_db(tmp_path)
    state = AppState(store.open_db(db_path), db_path, Config())
    app = Host(state)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ChannelsScreen)
        chart = str(screen.query_one("#channel-chart", Static).render())
        assert "Paid Search.AdWords" in chart and "(no session)" in chart
        weeks = str(screen.query_one("#week-chart", Static).render())
        assert "2026-W11" in weeks
