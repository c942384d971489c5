"""Placeholder until the app lands."""

from pathlib import Path

from calltui.config import Config


def run_app(db_path: Path, config: Config) -> None:
    raise SystemExit("the app is not built yet")
