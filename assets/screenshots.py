"""Take the README's screenshots (SVG, through the app's own ``save_screenshot``).

Run from the repo root after ``make demo``::

    .venv/bin/python assets/screenshots.py ~/.local/share/calltui/demo.db

It opens the app headless at 100×30 on each main screen (and on the detail of one
call outside the window), waits for the rows and counts, and writes ``assets/app-*.svg``.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from calltui.config import Config
from calltui.tui.app import SCREEN_NAMES, CalltuiApp

SIZE = (100, 30)
ASSETS = Path(__file__).resolve().parent


DETAIL_TASK = "00T5g0000000133AAA"  # a demo call that came 5 h 40 min after its session


async def shoot(db: Path, screen: str, detail: bool = False) -> None:
    app = CalltuiApp(db, Config(), screen=screen)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(1.0)  # the rows, and the counts from their worker
        name = f"app-{screen}"
        if detail:  # find the call with the filter line, then open it
            await pilot.press("slash", *DETAIL_TASK, "enter")
            await pilot.pause(1.0)
            await pilot.press("enter")
            await pilot.pause(1.0)
            name += "-detail"
        await pilot.pause()
        app.save_screenshot(f"{name}.svg", str(ASSETS))
        print(ASSETS / f"{name}.svg")


async def main(db: Path) -> None:
    for screen in SCREEN_NAMES:
        await shoot(db, screen)
    await shoot(db, "unmatched-calls", detail=True)


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1])))
