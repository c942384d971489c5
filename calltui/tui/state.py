"""What every screen of the app shares: the main-thread database, its path and the config."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlite_utils import Database

from calltui.config import Config

__all__ = ["AppState"]


@dataclass
class AppState:
    """The app's shared state; ``db`` belongs to the main thread and never enters a worker."""

    db: Database
    """Read connection of the main thread (workers open their own with ``store.open_db``)."""
    db_path: Path
    """The database file, for workers to open."""
    config: Config
    """Match options and Task fields."""
    generation: int = 0
    """Bumped after every write (re-match); screens reload when theirs is older."""
